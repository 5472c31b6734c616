import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { Drive } from '../drive.js';
import type { ErasureSet } from '../erasure-set.js';
import { DriveRebuild, refreshHealingStates } from './drive-rebuild.js';
import { healObject } from './heal-object.js';
import { emptyTotals, estimateObjects, type HealHost, type HealTotals } from './host.js';
import { ProgressTracker, sleep, yieldToLoop } from './progress.js';
import { recordResult, Scanner } from './scanner.js';
import type { HealOptions, HealReason, HealRequest, HealStatus, HealSweepStatus } from './types.js';
import { walkKeys } from './walk.js';

/**
 * The healer: one per deployment, in the background worker. It runs four
 * jobs side by side until stop():
 *  - drains the persisted heal queue (objects the I/O path saw degraded);
 *  - rebuilds drives that are healing (a tracker on the drive, drive-rebuild.ts);
 *  - runs admin sweeps, one at a time, in request order;
 *  - runs the scanner (scanner.ts).
 * Other workers learn what it does from `heal-status.json`, a sys file it
 * writes on every online drive of set 0 (every second while busy, every five
 * when idle, so a reader can tell a live healer from a dead one). Admin
 * requests reach it the other way: any worker writes `heal-request-<id>.json`
 * on the online drives of set 0, and the healer polls for them every second,
 * removing the file when the sweep ends (a sweep cut short by a restart runs
 * again from the start).
 */

export const STATUS_FILE = 'heal-status.json';
export const REQUEST_PREFIX = 'heal-request-';
const requestFile = (id: string) => `${REQUEST_PREFIX}${id}.json`;

/** Published status older than this means no healer is running. */
export const STATUS_STALE_MS = 10_000;
const PUBLISH_BUSY_MS = 1000;
const PUBLISH_IDLE_MS = 5000;
/** Finished sweeps kept in the status. */
const KEEP_SWEEPS = 20;
const MAX_BACKOFF_MS = 5 * 60_000;

/** What the healer needs of the heal queue (storage/heal/heal-queue.ts). */
export interface HealQueueLike {
  take(limit: number): Array<{ set: ErasureSet; bucket: string; key: string; reason: HealReason }>;
  done(set: ErasureSet, items: Array<{ bucket: string; key: string }>): unknown;
  length(): number;
  readonly dropped: number;
}

export interface PersistedRequest extends HealRequest {
  id: string;
  requestedAt: string;
}

/** The drives requests and status live on: the online drives of set 0. */
const statusDrives = (sets: ErasureSet[]): Drive[] => sets[0]?.onlineDrives() ?? [];

/** Persist an admin sweep request for the healer (any process). */
export async function persistRequest(sets: ErasureSet[], req: HealRequest): Promise<HealSweepStatus> {
  const id = randomUUID();
  const now = new Date().toISOString();
  const rec: PersistedRequest = { ...req, id, requestedAt: now };
  const data = Buffer.from(JSON.stringify(rec));
  const results = await Promise.allSettled(statusDrives(sets).map((d) => d.writeSysFile(requestFile(id), data)));
  const ok = results.filter((r) => r.status === 'fulfilled').length;
  if (ok === 0) {
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    throw new Error('cannot persist the heal request on any drive of set 0', { cause: failed?.reason });
  }
  return queuedSweep(rec);
}

/** A request not started yet, as the status shows it. */
export function queuedSweep(r: PersistedRequest): HealSweepStatus {
  return {
    id: r.id,
    ...(r.bucket !== undefined ? { bucket: r.bucket } : {}),
    ...(r.prefix !== undefined ? { prefix: r.prefix } : {}),
    deep: r.deep ?? false,
    state: 'queued',
    objectsScanned: 0,
    objectsHealed: 0,
    objectsFailed: 0,
    bytesDone: 0,
    objectsPerSecond: 0,
    bytesPerSecond: 0,
    startedAt: r.requestedAt,
    updatedAt: r.requestedAt,
  };
}

/** Requests persisted on set 0 and not yet finished (union over the drives, by id). */
export async function pendingRequests(sets: ErasureSet[]): Promise<PersistedRequest[]> {
  const byId = new Map<string, PersistedRequest>();
  for (const d of statusDrives(sets)) {
    let names: string[];
    try {
      names = await d.listSysFiles(REQUEST_PREFIX);
    } catch {
      continue;
    }
    for (const name of names) {
      const id = name.slice(REQUEST_PREFIX.length, -'.json'.length);
      if (byId.has(id)) continue;
      try {
        const raw = await d.readSysFile(name);
        if (raw) byId.set(id, JSON.parse(raw.toString('utf8')) as PersistedRequest);
      } catch {
        // a drive that cannot read it now; another drive or the next poll will
      }
    }
  }
  return [...byId.values()].sort((a, b) => (a.requestedAt < b.requestedAt ? -1 : a.requestedAt > b.requestedAt ? 1 : 0));
}

/** The newest published status on set 0, if any. */
export async function readPublishedStatus(sets: ErasureSet[]): Promise<HealStatus | undefined> {
  let best: HealStatus | undefined;
  for (const d of statusDrives(sets)) {
    try {
      const raw = await d.readSysFile(STATUS_FILE);
      if (!raw) continue;
      const s = JSON.parse(raw.toString('utf8')) as HealStatus;
      if (!best || s.updatedAt > best.updatedAt) best = s;
    } catch {
      // skip an unreadable copy
    }
  }
  return best;
}

export class Healer {
  private readonly abort = new AbortController();
  private readonly totals: HealTotals = emptyTotals();
  private readonly scanner: Scanner;
  private readonly rebuilds = new Map<string, DriveRebuild>();
  /** A failed rebuild is retried after 2 s, 4 s … up to a minute. */
  private readonly rebuildRetry = new Map<string, { at: number; tries: number }>();
  private readonly sweeps: HealSweepStatus[] = [];
  private readonly sweepProgress = new Map<string, ProgressTracker>();
  /** Ids of finished sweeps whose request file may still linger on some drive. */
  private readonly finished = new Set<string>();
  private readonly backoff = new Map<string, { until: number; tries: number }>();
  private readonly tasks: Array<Promise<unknown>> = [];
  private wake: (() => void) | undefined;
  /** Something finished since the last publish: publish at the next tick even when idle. */
  private dirty = false;

  constructor(
    private readonly host: HealHost,
    private readonly opts: HealOptions,
    private readonly queue: HealQueueLike | undefined,
  ) {
    this.scanner = new Scanner(host, opts, this.totals);
    // Every job and every in-flight heal (pipelines, sleeps) listens on the one signal.
    setMaxListeners(0, this.abort.signal);
  }

  start(): void {
    const signal = this.abort.signal;
    const guard = (name: string, p: Promise<unknown>) =>
      this.tasks.push(p.catch((err: unknown) => this.host.logger?.error({ err }, `healer ${name} stopped`)));
    guard('queue', this.drainQueue(signal));
    guard('rebuilds', this.rebuildLoop(signal));
    guard('sweeps', this.sweepLoop(signal));
    guard('scanner', this.scanner.run(signal));
    guard('status', this.publishLoop(signal));
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.wake?.();
    await Promise.all(this.tasks);
    // Tell the other workers at once rather than letting the status go stale.
    await this.publish(false);
  }

  /** Ask the sweep loop to look for requests now (a request made in this process). */
  poke(): void {
    this.wake?.();
  }

  get busy(): boolean {
    return (
      this.rebuilds.size > 0 ||
      this.sweeps.some((s) => s.state === 'queued' || s.state === 'running') ||
      this.scanner.busy ||
      (this.queue?.length() ?? 0) > 0
    );
  }

  status(): HealStatus {
    return {
      active: true,
      queue: { length: this.queue?.length() ?? 0, dropped: this.queue?.dropped ?? 0 },
      rebuilds: [...this.rebuilds.values()].map((r) => r.status()),
      sweeps: this.sweeps.map((s) => {
        const p = this.sweepProgress.get(s.id);
        return p ? { ...s, ...p.snapshot() } : { ...s };
      }),
      scanner: this.scanner.status(),
      totals: { ...this.totals },
      updatedAt: new Date().toISOString(),
    };
  }

  // ---- (a) the heal queue ----------------------------------------------------

  private async drainQueue(signal: AbortSignal): Promise<void> {
    const q = this.queue;
    if (!q) return;
    while (!signal.aborted) {
      const items = q.take(256);
      let attempted = 0;
      let nextRetry = Infinity;
      for (const item of items) {
        if (signal.aborted) return;
        const id = `${item.set.index}\u0000${item.bucket}\u0000${item.key}`;
        const b = this.backoff.get(id);
        if (b && b.until > Date.now()) {
          nextRetry = Math.min(nextRetry, b.until);
          continue;
        }
        attempted++;
        // A read hint may be bitrot the reader met: only a deep check finds and fixes that.
        const r = await healObject(item.set, item.bucket, item.key, { deep: item.reason === 'read', signal, ...(this.host.logger ? { logger: this.host.logger } : {}) }).catch(
          (error: unknown) => ({ state: 'failed' as const, slotsHealed: [], bytesWritten: 0, bytesVerified: 0, error }),
        );
        if (signal.aborted) return;
        if (r.state === 'healed') this.totals.objectsHealed++;
        if (r.state === 'dangling-removed') this.totals.danglingRemoved++;
        this.totals.bytesHealed += r.bytesWritten;
        if (r.state === 'failed') {
          // Stays queued; retried after 1 s, 2 s, 4 s … up to five minutes.
          this.totals.failures++;
          const tries = (b?.tries ?? 0) + 1;
          const until = Date.now() + Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (tries - 1));
          if (this.backoff.size > 100_000) this.backoff.clear();
          this.backoff.set(id, { until, tries });
          nextRetry = Math.min(nextRetry, until);
          this.host.logger?.warn({ err: r.error, bucket: item.bucket, key: item.key, tries }, 'queued heal failed; will retry');
        } else {
          this.backoff.delete(id);
          await q.done(item.set, [{ bucket: item.bucket, key: item.key }]);
        }
        await yieldToLoop();
      }
      if (attempted === 0) await sleep(items.length === 0 ? 500 : Math.max(50, Math.min(1000, nextRetry - Date.now())), signal);
    }
  }

  // ---- (b) drive rebuilds ----------------------------------------------------

  private async rebuildLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await refreshHealingStates(this.host.sets).catch(() => {});
      for (const set of this.host.sets) {
        for (const [slot, d] of set.drives.entries()) {
          const id = `${set.index}:${slot}`;
          if (!d || !set.isOnline(slot) || set.opts.states[slot] !== 'healing' || this.rebuilds.has(id)) continue;
          const retry = this.rebuildRetry.get(id);
          if (retry && retry.at > Date.now()) continue;
          const job = new DriveRebuild(this.host, set, slot, this.totals);
          this.rebuilds.set(id, job);
          this.tasks.push(
            job
              .run(signal)
              .then(() => this.rebuildRetry.delete(id))
              .catch((err: unknown) => {
                const tries = (retry?.tries ?? 0) + 1;
                this.rebuildRetry.set(id, { at: Date.now() + Math.min(60_000, 2000 * 2 ** (tries - 1)), tries });
                this.host.logger?.error({ err, drive: d.path, tries }, 'drive rebuild failed; will retry');
              })
              .finally(() => {
                this.rebuilds.delete(id);
                this.dirty = true;
              }),
          );
        }
      }
      await sleep(2000, signal);
    }
  }

  // ---- (c) admin sweeps ------------------------------------------------------

  private async sweepLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        for (const r of await pendingRequests(this.host.sets)) {
          if (this.finished.has(r.id) || this.sweeps.some((s) => s.id === r.id)) continue;
          this.sweeps.push(queuedSweep(r));
        }
        const next = this.sweeps.find((s) => s.state === 'queued');
        if (next) {
          await this.runSweep(next, signal);
          continue;
        }
      } catch (err) {
        this.host.logger?.warn({ err }, 'heal request poll failed');
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        void sleep(1000, signal).then(resolve);
      });
      this.wake = undefined;
    }
  }

  private async runSweep(s: HealSweepStatus, signal: AbortSignal): Promise<void> {
    const p = new ProgressTracker();
    this.sweepProgress.set(s.id, p);
    s.state = 'running';
    s.startedAt = p.startedAt;
    this.dirty = true;
    const logger = this.host.logger;
    try {
      const buckets = s.bucket !== undefined ? [s.bucket] : await this.host.bucketNames();
      // Known only for a sweep of everything (the drives count records, not per bucket or prefix).
      if (s.bucket === undefined && !s.prefix) p.objectsTotal = this.host.sets.reduce((n, set) => n + (estimateObjects(set) ?? 0), 0);
      for (const bucket of buckets) {
        for (const set of this.host.sets) {
          for await (const key of walkKeys(set, bucket, { ...(s.prefix ? { prefix: s.prefix } : {}), signal, ...(logger ? { logger } : {}) })) {
            const r = await healObject(set, bucket, key, { deep: s.deep, signal, ...(logger ? { logger } : {}) });
            if (signal.aborted) return; // the request file stays: the next healer runs it again
            recordResult(p, this.totals, r, `${bucket}/${key}`, r.bytesWritten);
            await yieldToLoop();
          }
        }
      }
      if (signal.aborted) return;
      s.state = 'done';
    } catch (err) {
      if (signal.aborted) return;
      s.state = 'failed';
      s.error = err instanceof Error ? err.message : String(err);
      logger?.warn({ err, sweep: s.id }, 'heal sweep failed');
    } finally {
      Object.assign(s, p.snapshot());
      this.sweepProgress.delete(s.id);
    }
    this.finished.add(s.id);
    this.dirty = true;
    await Promise.allSettled(statusDrives(this.host.sets).map((d) => d.writeSysFile(requestFile(s.id), undefined)));
    // Keep the newest finished sweeps only.
    while (this.sweeps.length > KEEP_SWEEPS) {
      const i = this.sweeps.findIndex((x) => x.state === 'done' || x.state === 'failed');
      if (i < 0) break;
      this.sweeps.splice(i, 1);
    }
  }

  // ---- (e) status ------------------------------------------------------------

  private async publishLoop(signal: AbortSignal): Promise<void> {
    let last = 0;
    while (!signal.aborted) {
      if (this.busy || this.dirty || Date.now() - last >= PUBLISH_IDLE_MS) {
        this.dirty = false;
        await this.publish();
        last = Date.now();
      }
      await sleep(PUBLISH_BUSY_MS, signal);
    }
  }

  async publish(active = true): Promise<void> {
    const data = Buffer.from(JSON.stringify({ ...this.status(), active }));
    await Promise.allSettled(statusDrives(this.host.sets).map((d) => d.writeSysFile(STATUS_FILE, data)));
  }
}
