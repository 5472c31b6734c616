/**
 * Storage benchmark (npm run bench:storage): the object layer in-process on
 * temporary drive dirs at 4+2, no HTTP. Public entry points only.
 *
 *   BENCH_MODE     all (default) | large | small | list | sse — which workloads to run
 *                  (sse: 64 MiB PUT/GET plain vs SSE-S3 with the builtin KMS, BENCH_ROUNDS
 *                  (3) alternating rounds of BENCH_OBJECTS objects each, medians; not in `all`)
 *   BENCH_OBJECTS  (4)      × 64 MiB objects, beside raw file writes/reads and MD5 alone
 *   BENCH_SMALL    (4000)   4 KiB PUTs then GETs at BENCH_CONCURRENCY (64) in flight
 *   BENCH_LIST_KEYS (100000) flat keys of empty objects, then the full walk in pages of
 *                  1000 and BENCH_PAGES (20) single pages from the middle
 *   BENCH_DIR      keep the drives in this directory (created if missing, never removed)
 *                  instead of a temp dir; list mode then reuses keys a previous run filled
 *                  (1M empty PUTs take ~100 s here; committing the same records straight
 *                  through Drive.commitObject was measured no faster: the LMDB write
 *                  thread is the bound, not the PUT path)
 *
 *   BENCH_LARGE_CONCURRENCY (1) large PUTs/GETs in flight (the HTTP targets use 4)
 *
 * Besides wall-clock rates it prints CPU time per operation or per MB
 * (process.cpuUsage, all threads), which stays meaningful on a shared, loaded
 * machine where wall time does not; for large objects also GC counts (minor +
 * major, from perf_hooks) and event-loop delay p99/max of each phase.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { BuiltinKms } from '../crypto/kms-builtin.js';
import { openObjectLayer } from '../storage/index.js';
import type { ObjectLayer } from '../storage/object-layer.js';
import { PATTERN_CHUNK, patternBody } from './pattern-body.js';

const MiB = 1024 * 1024;
const OBJECT = 64 * MiB;
const MODE = process.env.BENCH_MODE ?? 'all';
const N = Number(process.env.BENCH_OBJECTS ?? 4);
const SMALL = Number(process.env.BENCH_SMALL ?? 4000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const LIST_KEYS = Number(process.env.BENCH_LIST_KEYS ?? 100_000);
const PAGES = Number(process.env.BENCH_PAGES ?? 20);
const LARGE_CONCURRENCY = Number(process.env.BENCH_LARGE_CONCURRENCY ?? 1);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const KEEP_DIR = process.env.BENCH_DIR;

const chunk = PATTERN_CHUNK;
const body = patternBody;
const sink = () => new Writable({ write: (_c, _e, cb) => cb() });
/** Drains a small GET body without pipeline() (whose per-call AbortController costs more than the read). */
async function drain(s: Readable): Promise<number> {
  let n = 0;
  for await (const c of s) n += (c as Buffer).length;
  return n;
}

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 10);
const mbps = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);

interface Timing {
  ms: number;
  /** CPU microseconds (user + system) of this process. */
  cpuUs: number;
  /** Garbage collections during the phase: scavenges, and the rest (mark-compact, incremental). */
  gcMinor: number;
  gcMajor: number;
  /** Event-loop delay beyond the 10 ms sampling resolution, ms. */
  loopP99: number;
  loopMax: number;
}
const gcs = { minor: 0, major: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    // detail.kind: 1 = scavenge (minor); anything else counts as major here.
    if ((e as { detail?: { kind?: number } }).detail?.kind === 1) gcs.minor++;
    else gcs.major++;
  }
}).observe({ entryTypes: ['gc'] });
async function timed(fn: () => Promise<void>): Promise<Timing> {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  const g = { ...gcs };
  const c = process.cpuUsage();
  const t = performance.now();
  await fn();
  const ms = performance.now() - t;
  const u = process.cpuUsage(c);
  h.disable();
  const late = (ns: number) => (h.count > 0 ? Math.max(0, ns / 1e6 - 10) : 0);
  return {
    ms,
    cpuUs: u.user + u.system,
    gcMinor: gcs.minor - g.minor,
    gcMajor: gcs.major - g.major,
    loopP99: late(h.percentile(99)),
    loopMax: late(h.max),
  };
}
const rate = (count: number, t: Timing) =>
  `${((count / t.ms) * 1000).toFixed(0).padStart(7)} ops/s   ${(t.cpuUs / count).toFixed(0).padStart(5)} µs CPU/op`;

async function pool(count: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) await fn(next++);
    }),
  );
}

async function large(ol: ObjectLayer, drives: string[]): Promise<void> {
  console.log(`\n# large: ${N} × 64 MiB objects, ${LARGE_CONCURRENCY} at a time`);
  const md5 = await timed(async () => {
    for (let i = 0; i < N; i++) {
      const h = createHash('md5');
      for (let o = 0; o < OBJECT; o += MiB) h.update(chunk);
      h.digest();
    }
  });
  const put = await timed(() =>
    pool(N, LARGE_CONCURRENCY, (i) => ol.putObject('bench', `big-${i}`, body(OBJECT), { size: OBJECT }).then(() => {})),
  );
  const get = await timed(() =>
    pool(N, LARGE_CONCURRENCY, async (i) => pipeline((await ol.getObject('bench', `big-${i}`)).stream, sink())),
  );
  // Raw: the same bytes as plain files spread over the same drive dirs, fsynced.
  const rawWrite = await timed(async () => {
    for (let i = 0; i < N; i++) {
      const path = join(drives[i % drives.length]!, `raw-${i}`);
      await pipeline(body(OBJECT), createWriteStream(path));
      const fh = await open(path, 'r+');
      await fh.datasync();
      await fh.close();
    }
  });
  const rawRead = await timed(async () => {
    for (let i = 0; i < N; i++) await pipeline(createReadStream(join(drives[i % drives.length]!, `raw-${i}`)), sink());
  });
  const total = N * OBJECT;
  const row = (name: string, t: Timing, base?: Timing) =>
    console.log(
      `${name.padEnd(28)} ${mbps(total, t.ms).toFixed(0).padStart(6)} MB/s${base ? `  (${(base.ms / t.ms).toFixed(2)} × raw)` : '              '}` +
        `  ${(t.cpuUs / (total / 1e6)).toFixed(0).padStart(5)} µs CPU/MB  GC ${t.gcMinor}+${t.gcMajor}` +
        `  loop p99 ${t.loopP99.toFixed(1)} max ${t.loopMax.toFixed(1)} ms`,
    );
  row('MD5 alone', md5);
  row('raw write + fdatasync', rawWrite);
  row('cairn PUT (md5+RS+bitrot)', put, rawWrite);
  row('raw read', rawRead);
  row('cairn GET (verify+decode)', get, rawRead);
  console.log(`PUT vs MD5 alone: ${(md5.ms / put.ms).toFixed(2)} ×`);
}

async function small(ol: ObjectLayer): Promise<void> {
  console.log(`\n# small: ${SMALL} × 4 KiB, ${CONCURRENCY} concurrent`);
  const data = Buffer.alloc(4096, 1);
  const put = await timed(() =>
    pool(SMALL, CONCURRENCY, (i) => ol.putObject('bench', `s/${i}`, Readable.from([data]), { size: 4096 }).then(() => {})),
  );
  const get = await timed(() =>
    pool(SMALL, CONCURRENCY, async (i) => {
      if ((await drain((await ol.getObject('bench', `s/${i}`)).stream)) !== 4096) throw new Error('short read');
    }),
  );
  const head = await timed(() => pool(SMALL, CONCURRENCY, (i) => ol.headObject('bench', `s/${i}`).then(() => {})));
  console.log(`4 KiB PUT   ${rate(SMALL, put)}`);
  console.log(`4 KiB GET   ${rate(SMALL, get)}`);
  console.log(`HEAD        ${rate(SMALL, head)}`);
}

/**
 * SSE-S3 beside plain, same layer, same objects sizes: rounds alternate plain then
 * SSE so a noisy neighbour hits both alike; each figure is the median over rounds.
 * CPU µs/MB is the figure to trust on a shared machine; the ratio is plain/SSE time.
 */
async function sse(ol: ObjectLayer): Promise<void> {
  console.log(`\n# sse: ${N} × 64 MiB, ${LARGE_CONCURRENCY} at a time, plain vs SSE-S3 (builtin KMS), ${ROUNDS} alternating rounds`);
  const total = N * OBJECT;
  const runs: Record<string, Timing[]> = { 'plain PUT': [], 'SSE-S3 PUT': [], 'plain GET': [], 'SSE-S3 GET': [] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const enc of [false, true]) {
      const name = enc ? 'SSE-S3' : 'plain';
      const key = (i: number) => `sse-${enc ? 'e' : 'p'}-${i}`;
      runs[`${name} PUT`]!.push(
        await timed(() =>
          pool(N, LARGE_CONCURRENCY, (i) => ol.putObject('bench', key(i), body(OBJECT), { size: OBJECT, ...(enc ? { sse: { type: 'SSE-S3' as const } } : {}) }).then(() => {})),
        ),
      );
      runs[`${name} GET`]!.push(
        await timed(() =>
          pool(N, LARGE_CONCURRENCY, async (i) => {
            const o = await ol.getObject('bench', key(i));
            if (enc && o.info.sse?.algorithm !== 'SSE-S3') throw new Error('object is not SSE-S3');
            if ((await drain(o.stream)) !== OBJECT) throw new Error('short read');
          }),
        ),
      );
    }
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const figs: Record<string, { mbps: number; cpuPerMb: number }> = {};
  for (const [name, ts] of Object.entries(runs)) {
    figs[name] = { mbps: med(ts.map((t) => mbps(total, t.ms))), cpuPerMb: med(ts.map((t) => t.cpuUs / (total / 1e6))) };
    console.log(
      `${name.padEnd(12)} ${figs[name].mbps.toFixed(0).padStart(6)} MB/s  ${figs[name].cpuPerMb.toFixed(0).padStart(5)} µs CPU/MB` +
        `   (rounds: ${ts.map((t) => mbps(total, t.ms).toFixed(0)).join(', ')} MB/s)`,
    );
  }
  for (const op of ['PUT', 'GET']) {
    const p = figs[`plain ${op}`]!;
    const e = figs[`SSE-S3 ${op}`]!;
    console.log(
      `SSE-S3/plain ${op}: ${(e.mbps / p.mbps).toFixed(2)} × wall MB/s, ${(p.cpuPerMb / e.cpuPerMb).toFixed(2)} × CPU per MB` +
        `  (+${(e.cpuPerMb - p.cpuPerMb).toFixed(0)} µs CPU/MB for encryption)`,
    );
  }
}

const listKey = (i: number) => `k/${String(i).padStart(9, '0')}`;

async function list(ol: ObjectLayer): Promise<void> {
  console.log(`\n# list: ${LIST_KEYS} flat keys (empty objects)`);
  const empty = Buffer.alloc(0);
  // A kept drive dir (BENCH_DIR) that already holds exactly these keys is listed as it is.
  const filled =
    (await ol.listBuckets()).some((b) => b.name === 'list') &&
    (await ol.headObject('list', listKey(LIST_KEYS - 1)).then(() => true, () => false)) &&
    (await ol.headObject('list', listKey(LIST_KEYS)).then(() => false, () => true));
  if (filled) {
    console.log('fill: reusing the keys already in BENCH_DIR');
  } else {
    await ol.makeBucket('list');
    const fill = await timed(() =>
      pool(LIST_KEYS, 256, (i) => ol.putObject('list', listKey(i), Readable.from([empty]), { size: 0 }).then(() => {})),
    );
    console.log(`fill (empty PUTs, 256 concurrent) ${rate(LIST_KEYS, fill)}   (${(fill.ms / 1000).toFixed(1)} s)`);
  }
  // Let LMDB's background flushes of the fill finish, so they are not counted as listing CPU.
  await new Promise((r) => setTimeout(r, 2000));

  // Pages from the middle: latency should follow the page size, not the bucket size.
  const pageMs: number[] = [];
  let pageCpu = 0;
  for (let p = 0; p < PAGES; p++) {
    const at = Math.floor(LIST_KEYS / 2 - 500 * PAGES + p * 1000);
    const t = await timed(async () => {
      const r = await ol.listObjects('list', { after: listKey(Math.max(0, at)), maxKeys: 1000 });
      if (r.objects.length !== Math.min(1000, LIST_KEYS - Math.max(0, at) - 1)) throw new Error('bad page');
    });
    pageMs.push(t.ms);
    pageCpu += t.cpuUs;
  }
  pageMs.sort((a, b) => a - b);
  const med = pageMs[pageMs.length >> 1]!;
  console.log(
    `1000-key page from the middle: median ${med.toFixed(2)} ms, min ${pageMs[0]!.toFixed(2)} ms, ` +
      `${(pageCpu / PAGES / 1000).toFixed(2)} ms CPU/page`,
  );

  let listed = 0;
  const walkPages: number[] = [];
  const walk = await timed(async () => {
    let after: string | undefined;
    for (;;) {
      const t = performance.now();
      const r = await ol.listObjects('list', { maxKeys: 1000, ...(after ? { after } : {}) });
      walkPages.push(performance.now() - t);
      listed += r.objects.length;
      if (!r.isTruncated) break;
      after = r.nextAfter;
    }
  });
  if (listed !== LIST_KEYS) throw new Error(`listed ${listed} of ${LIST_KEYS}`);
  walkPages.sort((a, b) => a - b);
  const pct = (q: number) => walkPages[Math.min(walkPages.length - 1, Math.ceil(q * walkPages.length) - 1)]!.toFixed(2);
  console.log(
    `full walk in pages of 1000: ${((listed / walk.ms) * 1000).toFixed(0)} keys/s wall, ` +
      `${((listed / walk.cpuUs) * 1e6).toFixed(0)} keys/s per CPU second; page p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms` +
      `  GC ${walk.gcMinor}+${walk.gcMajor}`,
  );
}

async function main(): Promise<void> {
  const root = KEEP_DIR ?? (await mkdtemp(join(tmpdir(), 'cairn-bench-')));
  const drives = Array.from({ length: 6 }, (_, i) => join(root, `d${i + 1}`));
  try {
    // The KMS is only used by BENCH_MODE=sse; plain writes never touch it.
    const kms = BuiltinKms.fromSecretKey(`bench:${randomBytes(32).toString('base64')}`);
    const ol = await openObjectLayer({ drives, standardParity: 2, sse: { kms } });
    const t = ol.topology().sets[0]!;
    console.log(`set: ${t.dataShards}+${t.parityShards}, mode ${MODE}`);
    // A kept BENCH_DIR already has it.
    if (!(await ol.listBuckets()).some((b) => b.name === 'bench')) await ol.makeBucket('bench');
    if (MODE === 'all' || MODE === 'large') await large(ol, drives);
    if (MODE === 'all' || MODE === 'small') await small(ol);
    if (MODE === 'all' || MODE === 'list') await list(ol);
    if (MODE === 'sse') await sse(ol);
    console.log(`\npeak RSS: ${(peakRss / MiB).toFixed(0)} MiB`);
    await ol.close();
  } finally {
    clearInterval(sampler);
    if (!KEEP_DIR) await rm(root, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
