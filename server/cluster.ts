import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../core/logger.js';
import type { StorageTopology } from '../storage/object-layer.js';

/**
 * Every core: a primary process forks N workers that each run the whole server
 * (storage + HTTP) and share the listening socket through node:cluster. The
 * primary holds no storage (unless it is the experimental LMDB committer,
 * storage/commit-host.ts) and serves no request; it starts the workers,
 * prints the banner once all are listening, restarts a worker that dies, and
 * drains them all on SIGTERM/SIGINT.
 *
 * Why processes and not threads: LMDB (lmdb-js) is multi-process safe and the
 * storage layer's invariants (quorum commits, one winner per key on every
 * drive, nothing partial after a crash) are tested across processes
 * (storage/processes.test.ts), so a worker is just one more writer.
 *
 * Background jobs that must run once (the multipart cleanup sweep) run only in
 * slot 0; when that worker is restarted, its replacement takes the role over.
 * (The sweep would also be safe in several workers — a lost race ends in
 * UploadNotFound, which it ignores — but it would do the same work N times.)
 *
 * The socket: on Linux node:cluster's default is round-robin (the primary
 * accepts and hands connections out), which balances keep-alive clients far
 * better than letting the kernel wake whichever worker it likes. With port 0
 * every worker gets the same ephemeral port, because the primary keys its
 * shared handles by the address asked for; a worker forked when none is
 * listening is told the real port so a restart does not move the server.
 */

export const READY_MESSAGE = 'cairn:ready';
export const DRAIN_MESSAGE = 'cairn:drain';

/** Environment the primary gives each worker (read back with workerRole()). */
const ENV_SLOT = 'CAIRN_WORKER_SLOT';
const ENV_BACKGROUND = 'CAIRN_WORKER_BACKGROUND';
const ENV_PORT = 'CAIRN_WORKER_PORT';

/** What a worker tells the primary once it listens. */
export interface WorkerReady {
  type: typeof READY_MESSAGE;
  url: string;
  port: number;
  topology: StorageTopology;
}

export interface WorkerRole {
  /** 0..N-1, stable across restarts of the same slot. */
  slot: number;
  /** Run once-per-deployment background jobs (multipart cleanup). */
  background: boolean;
  /** Listen on this port instead of the configured one (set when restarting after port 0). */
  port: number | undefined;
}

/** In a worker: its role as the primary assigned it. Undefined in a process not forked by runPrimary. */
export function workerRole(env: Readonly<Record<string, string | undefined>> = process.env): WorkerRole | undefined {
  if (!cluster.isWorker || env[ENV_SLOT] === undefined) return undefined;
  const port = env[ENV_PORT] === undefined ? undefined : Number(env[ENV_PORT]);
  return { slot: Number(env[ENV_SLOT]), background: env[ENV_BACKGROUND] === '1', port };
}

/** In a worker: tell the primary we are listening. */
export function notifyReady(ready: Omit<WorkerReady, 'type'>): void {
  process.send?.({ type: READY_MESSAGE, ...ready } satisfies WorkerReady);
}

/** In a worker: call `drain` when the primary asks us to stop. */
export function onDrainRequest(drain: () => void): void {
  process.on('message', (msg: unknown) => {
    if ((msg as { type?: unknown } | null)?.type === DRAIN_MESSAGE) drain();
  });
}

export interface PrimaryOptions {
  workers: number;
  logger: Logger;
  /** Restart backoff: first delay, cap, and how long a worker must live to reset it. */
  backoff?: { initialMs?: number; maxMs?: number; resetAfterMs?: number };
  /** After this, workers still draining are killed and shutdown reports failure. */
  drainTimeoutMs?: number;
  /** IPC with advanced serialization (Buffers cross as bytes): needed by the LMDB committer (storage/commit-host.ts). */
  advancedIpc?: boolean;
}

export interface Primary {
  /** Resolves with the first worker's ready message once every worker listens; rejects if one dies first. */
  ready: Promise<WorkerReady>;
  /** Ask every worker to drain; resolves with the exit code for the primary (0 = all drained cleanly). */
  shutdown(): Promise<number>;
  /** Kill every worker now (second signal). */
  kill(): void;
  /** Live worker processes (for tests and logs). */
  workers(): Worker[];
}

interface Slot {
  index: number;
  worker: Worker | undefined;
  readyAt: number | undefined;
  failures: number;
  restartTimer: NodeJS.Timeout | undefined;
}

export function runPrimary(opts: PrimaryOptions): Primary {
  const log = opts.logger;
  const initialMs = opts.backoff?.initialMs ?? 100;
  const maxMs = opts.backoff?.maxMs ?? 30_000;
  const resetAfterMs = opts.backoff?.resetAfterMs ?? 10_000;
  const slots: Slot[] = Array.from({ length: opts.workers }, (_, index) => ({
    index,
    worker: undefined,
    readyAt: undefined,
    failures: 0,
    restartTimer: undefined,
  }));
  let started = false;
  let stopping = false;
  let port: number | undefined;
  let resolveReady!: (r: WorkerReady) => void;
  let rejectReady!: (e: Error) => void;
  const ready = new Promise<WorkerReady>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  ready.catch(() => undefined);
  let first: WorkerReady | undefined;
  let exitCode = 0;
  const exited = new Set<Worker>();

  const listening = () => slots.filter((s) => s.readyAt !== undefined).length;

  function fork(slot: Slot): void {
    const env: Record<string, string> = {
      [ENV_SLOT]: String(slot.index),
      [ENV_BACKGROUND]: slot.index === 0 ? '1' : '0',
    };
    // No worker holds the shared handle: listen(0) would pick a new port. Pin the old one.
    if (port !== undefined && listening() === 0) env[ENV_PORT] = String(port);
    const worker = cluster.fork(env);
    slot.worker = worker;
    slot.readyAt = undefined;
    worker.on('message', (msg: unknown) => {
      if ((msg as { type?: unknown } | null)?.type !== READY_MESSAGE) return;
      const r = msg as WorkerReady;
      slot.readyAt = Date.now();
      port ??= r.port;
      first ??= r;
      log.debug({ slot: slot.index, workerPid: worker.process.pid, port: r.port }, 'worker listening');
      if (!started && slots.every((s) => s.readyAt !== undefined)) {
        started = true;
        resolveReady(first);
      }
    });
    worker.on('exit', (code, signal) => onExit(slot, worker, code, signal));
  }

  function onExit(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    exited.add(worker);
    if (slot.worker !== worker) return;
    const lived = slot.readyAt === undefined ? 0 : Date.now() - slot.readyAt;
    slot.worker = undefined;
    slot.readyAt = undefined;
    if (stopping) {
      if (code !== 0) exitCode = 1;
      return;
    }
    if (!started) {
      // A worker that cannot start (bad drives, port taken) will not do better on retry: give up, as one process would.
      log.fatal({ slot: slot.index, code, signal }, 'a worker exited during startup');
      rejectReady(new Error(`worker ${slot.index} exited during startup (code ${code}, signal ${signal})`));
      return;
    }
    slot.failures = lived >= resetAfterMs ? 0 : slot.failures + 1;
    const delay = slot.failures === 0 ? 0 : Math.min(maxMs, initialMs * 2 ** (slot.failures - 1));
    log.error({ slot: slot.index, workerPid: worker.process.pid, code, signal, restartInMs: delay }, 'worker died; restarting it');
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      if (!stopping) fork(slot);
    }, delay);
  }

  if (opts.advancedIpc) cluster.setupPrimary({ serialization: 'advanced' });
  for (const s of slots) fork(s);

  let shuttingDown: Promise<number> | undefined;
  return {
    ready,
    workers: () => slots.flatMap((s) => (s.worker ? [s.worker] : [])),
    shutdown() {
      shuttingDown ??= new Promise<number>((resolve) => {
        stopping = true;
        for (const s of slots) clearTimeout(s.restartTimer);
        const live = slots.flatMap((s) => (s.worker ? [s.worker] : []));
        if (live.length === 0) return resolve(exitCode);
        let left = live.length;
        const deadline = setTimeout(() => {
          log.error({ left }, 'workers did not drain in time; killing them');
          exitCode = 1;
          for (const w of live) if (!exited.has(w)) w.process.kill('SIGKILL');
        }, opts.drainTimeoutMs ?? 35_000);
        for (const w of live) {
          const done = () => {
            if (--left === 0) {
              clearTimeout(deadline);
              resolve(exitCode);
            }
          };
          if (exited.has(w)) done();
          else {
            w.once('exit', done);
            // A worker still starting has no drain handler yet; its default SIGTERM action is the right one.
            const listening = slots.some((s) => s.worker === w && s.readyAt !== undefined);
            if (listening && w.isConnected()) w.send({ type: DRAIN_MESSAGE });
            else w.process.kill('SIGTERM');
          }
        }
      });
      return shuttingDown;
    },
    kill() {
      stopping = true;
      for (const s of slots) {
        clearTimeout(s.restartTimer);
        s.worker?.process.kill('SIGKILL');
      }
    },
  };
}
