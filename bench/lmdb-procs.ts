/**
 * Why do small PUTs get slower with 2 workers than with 1? This reproduces the
 * metadata half of an inline PUT without HTTP or erasure coding: 6 LMDB envs
 * opened as LocalDrive opens them, C concurrent "commits" (each = one write
 * transaction per env that reads the key and puts a ~2 KiB value, awaited
 * together as ErasureSet.commitRecord does), driven
 *   local1  by one process,
 *   local2  by two processes (C/2 each), each committing its own batches,
 *   fwd2    by two processes that send each op over node:cluster-style IPC
 *           (advanced serialization) to one committer process (the parent),
 *           which runs them all in its own lmdb-js batches (one message per op),
 *   fwd2b   as fwd2, but each process sends all ops of one event turn in one
 *           message and gets the answers of a batch in one message.
 * Any process count works the same way: local4, fwd4b, ...
 * Prints ops/s, CPU ms per op (all processes, user+sys, LMDB's write threads
 * included), LMDB commits per env (txn id delta) and ops per commit. With
 * `--strace` each mode runs under `strace -f -c` and the fsync/fdatasync/msync
 * counts are printed too.
 *
 * `--work-us N` spins N µs of synchronous work after each op, as a server's
 * event loop is busy with the rest of a request (the txn callbacks of lmdb-js
 * run on that loop while the env's write lock is held).
 *
 *   node dist/bench/lmdb-procs.js [--modes local1,local2,fwd2,fwd2b] [--concurrency 64] [--seconds 5] [--work-us 0] [--strace]
 */
import { fork, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { open, type Database, type RootDatabase } from 'lmdb';

const ENVS = 6;
const VALUE = 2048;
const KEYS = 100_000;

interface Env {
  env: RootDatabase;
  objects: Database<Buffer, Buffer>;
  objlist: Database<Buffer, Buffer>;
}

function openEnvs(dir: string): Env[] {
  return Array.from({ length: ENVS }, (_, i) => {
    const env = open({ path: join(dir, `d${i}`, 'meta'), maxDbs: 8 });
    const o = { encoding: 'binary', keyEncoding: 'binary' } as const;
    return {
      env,
      objects: env.openDB({ name: 'objects', ...o }) as unknown as Database<Buffer, Buffer>,
      objlist: env.openDB({ name: 'objlist', ...o }) as unknown as Database<Buffer, Buffer>,
    };
  });
}

/** commitObject's shape: read the current record, compare, put record + list entry. */
function commitOne(e: Env, key: Buffer, value: Buffer): Promise<string> {
  return e.env.transaction(() => {
    const cur = e.objects.get(key);
    if (cur && cur.length > VALUE + 1) return 'superseded';
    void e.objects.put(key, value);
    void e.objlist.put(key, value.subarray(0, 40));
    return 'committed';
  });
}

const txnId = (e: Env) => (e.env.getStats() as { lastTxnId: number }).lastTxnId;

interface ChildResult {
  ops: number;
  cpuUs: number;
}

/** A load process: `workers` loops until `deadline`; ops either committed here or sent to the parent. */
async function runLoad(dir: string, loops: number, seconds: number, forward: boolean, batched: boolean, workUs: number, tag: string): Promise<ChildResult> {
  const envs = forward ? [] : openEnvs(dir);
  const value = Buffer.alloc(VALUE, 7);
  let nextId = 0;
  const pending = new Map<number, () => void>();
  // Batched forwarding: every op of one event turn goes in one message; answers come back the same way.
  let queue: Array<{ id: number; env: number; key: Buffer; value: Buffer }> | undefined;
  if (forward) {
    process.on('message', (m: { id: number } | Array<{ id: number }>) => {
      for (const r of Array.isArray(m) ? m : [m]) {
        const done = pending.get(r.id);
        pending.delete(r.id);
        done?.();
      }
    });
  }
  const send = (op: { id: number; env: number; key: Buffer; value: Buffer }) => {
    if (!batched) return void process.send!(op);
    if (!queue) {
      queue = [];
      setImmediate(() => {
        const q = queue!;
        queue = undefined;
        process.send!(q);
      });
    }
    queue.push(op);
  };
  const commitAll = (key: Buffer): Promise<unknown> => {
    if (!forward) return Promise.all(envs.map((e) => commitOne(e, key, value)));
    // One message per op per env, as a forwarding Drive would send.
    return Promise.all(
      Array.from({ length: ENVS }, (_, env) => {
        const id = nextId++;
        return new Promise<void>((res) => {
          pending.set(id, res);
          send({ id, env, key, value });
        });
      }),
    );
  };
  const cpu0 = process.cpuUsage();
  const deadline = Date.now() + seconds * 1000;
  let ops = 0;
  await Promise.all(
    Array.from({ length: loops }, async (_, w) => {
      let n = 0;
      while (Date.now() < deadline) {
        await commitAll(Buffer.from(`b\0${tag}-${w}-${n++ % KEYS}`));
        ops++;
        // The rest of a request's work (HTTP, auth, hashing, coding) keeps the event loop busy.
        if (workUs > 0) {
          const until = process.hrtime.bigint() + BigInt(workUs * 1000);
          while (process.hrtime.bigint() < until);
        }
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  await Promise.all(envs.map((e) => e.env.close()));
  return { ops, cpuUs: cpu.user + cpu.system };
}

interface ModeResult {
  mode: string;
  ops: number;
  seconds: number;
  cpuUs: number;
  commitsPerEnv: number;
  syncs?: Record<string, number>;
}

async function runMode(mode: string, concurrency: number, seconds: number, workUs: number, useStrace: boolean): Promise<ModeResult> {
  const dir = mkdtempSync(join(tmpdir(), 'lmdb-procs-'));
  try {
    const self = fileURLToPath(import.meta.url);
    // Create the envs before the clock starts (and read the txn id base).
    const envs = openEnvs(dir);
    const base = envs.map(txnId);
    const procs = Number(/\d+/.exec(mode)?.[0] ?? 1);
    const forward = mode.startsWith('fwd');
    const batched = forward && mode.endsWith('b');
    const straceOut = join(dir, 'strace.txt');
    const args = (i: number) => ['--child', dir, String(concurrency / procs), String(seconds), forward ? (batched ? 'b' : '1') : '0', String(workUs), `p${i}`];
    let parentCpu0 = process.cpuUsage();
    const children = Array.from({ length: procs }, (_, i) =>
      useStrace && !forward
        ? spawn('strace', ['-f', '-c', '-o', `${straceOut}.${i}`, '-e', 'trace=fsync,fdatasync,msync', process.execPath, self, ...args(i)], {
            stdio: ['ignore', 'pipe', 'inherit'],
          })
        : fork(self, args(i), { serialization: 'advanced', stdio: ['ignore', 'pipe', 'inherit', 'ipc'] }),
    );
    if (forward) {
      // The committer: everything that arrives in one event turn goes into lmdb-js's batch.
      for (const c of children) {
        type Op = { id: number; env: number; key: Uint8Array; value: Uint8Array };
        const run = (m: Op) =>
          commitOne(envs[m.env]!, Buffer.from(m.key.buffer, m.key.byteOffset, m.key.length), Buffer.from(m.value.buffer, m.value.byteOffset, m.value.length)).then(
            (status) => ({ id: m.id, status }),
          );
        c.on('message', (m: Op | Op[]) => {
          if (!Array.isArray(m)) return void run(m).then((r) => c.send(r));
          void Promise.all(m.map(run)).then((rs) => c.send(rs));
        });
      }
    }
    parentCpu0 = process.cpuUsage();
    const results = await Promise.all(
      children.map(
        (c) =>
          new Promise<ChildResult>((res, rej) => {
            let out = '';
            c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
            c.on('exit', (code) => (code === 0 ? res(JSON.parse(out.trim().split('\n').pop()!) as ChildResult) : rej(new Error(`child exit ${code}`))));
          }),
      ),
    );
    const parentCpu = process.cpuUsage(parentCpu0);
    const commitsPerEnv = envs.map((e, i) => txnId(e) - base[i]!).reduce((a, b) => a + b, 0) / ENVS;
    await Promise.all(envs.map((e) => e.env.close()));
    const r: ModeResult = {
      mode,
      ops: results.reduce((a, b) => a + b.ops, 0),
      seconds,
      cpuUs: results.reduce((a, b) => a + b.cpuUs, 0) + (forward ? parentCpu.user + parentCpu.system : 0),
      commitsPerEnv,
    };
    if (useStrace && !forward) {
      const syncs: Record<string, number> = {};
      for (let i = 0; i < procs; i++) {
        for (const line of readFileSync(`${straceOut}.${i}`, 'utf8').split('\n')) {
          const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$/.exec(line);
          if (m && m[2] !== 'total') syncs[m[2]!] = (syncs[m[2]!] ?? 0) + Number(m[1]);
        }
      }
      r.syncs = syncs;
    }
    return r;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') {
    const [, , , dir, loops, seconds, forward, workUs, tag] = process.argv;
    const r = await runLoad(dir!, Number(loops), Number(seconds), forward !== '0', forward === 'b', Number(workUs), tag!);
    process.stdout.write(JSON.stringify(r) + '\n');
    process.exit(0);
  }
  const { values } = parseArgs({
    options: {
      modes: { type: 'string', default: 'local1,local2,fwd2,fwd2b' },
      concurrency: { type: 'string', default: '64' },
      seconds: { type: 'string', default: '5' },
      strace: { type: 'boolean', default: false },
      'work-us': { type: 'string', default: '0' },
    },
  });
  console.log('mode     ops/s   CPU ms/op  commits/env/s  ops/commit  syncs');
  for (const mode of values.modes.split(',')) {
    const r = await runMode(mode, Number(values.concurrency), Number(values.seconds), Number(values['work-us']), values.strace);
    const syncs = r.syncs ? Object.entries(r.syncs).map(([k, v]) => `${k}=${v}`).join(' ') : '';
    console.log(
      `${mode.padEnd(7)} ${(r.ops / r.seconds).toFixed(0).padStart(6)} ${(r.cpuUs / 1000 / r.ops).toFixed(3).padStart(10)} ${(r.commitsPerEnv / r.seconds).toFixed(0).padStart(14)} ${(r.ops / r.commitsPerEnv).toFixed(1).padStart(11)}  ${syncs}`,
    );
  }
}

await main();
