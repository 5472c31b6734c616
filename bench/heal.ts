/**
 * Healing benchmark (npm run bench:heal): the object layer in-process on four
 * temporary drive dirs at EC 2+2, public entry points only.
 *
 *   BENCH_HEAL_OBJECTS (2000) objects, sizes log-uniform in 64 KiB..4 MiB (seeded, so
 *                      every run stores the same bytes)
 *   BENCH_HEAL_GETS    (300)  full-object GETs per latency phase, BENCH_HEAL_CONCURRENCY (4) in flight,
 *                      BENCH_HEAL_ROUNDS (3) alternating off/on phases (medians)
 *   BENCH_HEAL_DIR     put the drives here instead of a temp dir (removed afterwards)
 *
 * (i) Rebuild: the fourth drive's directory is wiped, the layer reopened (the
 *     drive is formatted as a replacement: 'healing') and the healer started
 *     with the scanner off; timed until the topology shows the drive online.
 *     Beside it, the raw-disk baseline of the same run: the same number of
 *     files of the same sizes as the rebuilt shard files, written and fsynced
 *     one after another into a scratch dir on the same file system.
 * (ii) Foreground GET latency with the scanner off, then on (deep mode,
 *     default rates: 200 objects/s, 64 MiB/s), same objects in the same order,
 *     alternating for a few rounds.
 * Wall-clock figures on a shared machine: read the ratios, not the absolutes.
 */
import { mkdir, mkdtemp, open, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { openObjectLayer } from '../storage/index.js';
import type { ObjectLayer } from '../storage/object-layer.js';
import { PATTERN_CHUNK, patternBody } from './pattern-body.js';

const MiB = 1024 * 1024;
const N = Number(process.env.BENCH_HEAL_OBJECTS ?? 2000);
const GETS = Number(process.env.BENCH_HEAL_GETS ?? 300);
const CONCURRENCY = Number(process.env.BENCH_HEAL_CONCURRENCY ?? 4);
const ROUNDS = Number(process.env.BENCH_HEAL_ROUNDS ?? 3);
const BUCKET = 'heal-bench';

const chunk = PATTERN_CHUNK;
const body = patternBody;

/** Deterministic sizes, log-uniform between 64 KiB and 4 MiB. */
function sizes(n: number): number[] {
  let x = 12345;
  const rnd = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32);
  return Array.from({ length: n }, () => Math.round(64 * 1024 * Math.pow(64, rnd())));
}

async function inParallel<T>(items: T[], width: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** Sizes of every shard file under a drive's data dir. */
async function shardSizes(drive: string): Promise<number[]> {
  const out: number[] = [];
  const root = join(drive, 'data');
  for (const a of await readdir(root).catch(() => [])) {
    for (const b of await readdir(join(root, a))) {
      for (const f of await readdir(join(root, a, b))) out.push((await stat(join(root, a, b, f))).size);
    }
  }
  return out;
}

async function waitFor(cond: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await cond())) await new Promise((r) => setTimeout(r, 50));
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function getLatencies(ol: ObjectLayer, keys: string[]): Promise<number[]> {
  const out: number[] = [];
  await inParallel(keys, CONCURRENCY, async (key) => {
    const t0 = performance.now();
    const r = await ol.getObject(BUCKET, key);
    for await (const _ of r.stream) {
      // drain
    }
    out.push(performance.now() - t0);
  });
  return out.sort((a, b) => a - b);
}

async function rawBaseline(dir: string, fileSizes: number[]): Promise<number> {
  await mkdir(dir, { recursive: true });
  const t0 = performance.now();
  let i = 0;
  for (const size of fileSizes) {
    const fh = await open(join(dir, `f${i++}`), 'w');
    try {
      let left = size;
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        await fh.write(chunk, 0, n);
        left -= n;
      }
      await fh.datasync();
    } finally {
      await fh.close();
    }
  }
  return (performance.now() - t0) / 1000;
}

async function main(): Promise<void> {
  const base = process.env.BENCH_HEAL_DIR ?? (await mkdtemp(join(tmpdir(), 'cairn-bench-heal-')));
  const drives = [1, 2, 3, 4].map((i) => join(base, `d${i}`));
  const open = () => openObjectLayer({ drives, standardParity: 2 });
  try {
    const objSizes = sizes(N);
    const keys = objSizes.map((_, i) => `obj/${String(i).padStart(6, '0')}`);
    const total = objSizes.reduce((a, b) => a + b, 0);
    process.stdout.write(`filling ${N} objects, ${(total / MiB).toFixed(0)} MiB, EC 2+2 on 4 drives in ${base}\n`);
    let ol = await open();
    await ol.makeBucket(BUCKET);
    await inParallel(
      keys.map((k, i) => [k, objSizes[i]!] as const),
      8,
      async ([k, size]) => void (await ol.putObject(BUCKET, k, body(size), { size })),
    );
    await ol.close();

    // (i) rebuild of a wiped drive
    const wiped = drives[3]!;
    await rm(wiped, { recursive: true, force: true });
    ol = await open();
    const slot = 3;
    const state = () => ol.topology().sets[0]!.drives[slot]!.state;
    if (state() !== 'healing') throw new Error(`wiped drive is ${state()}, expected healing`);
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    ol.startHealing({ scannerObjectsPerSecond: 0 });
    await waitFor(() => state() === 'online');
    const rebuildSeconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const rebuildCpuSeconds = (cpu.user + cpu.system) / 1e6;
    await ol.close();
    const rebuilt = await shardSizes(wiped);
    const rebuiltBytes = rebuilt.reduce((a, b) => a + b, 0);
    const rawSeconds = await rawBaseline(join(base, 'raw'), rebuilt);
    await rm(join(base, 'raw'), { recursive: true, force: true });

    // (ii) GET latency, scanner off then on (deep, default rates), alternating rounds on a fresh
    // layer each (the healer cannot be stopped without closing); medians of the rounds' percentiles.
    const pick = Array.from({ length: GETS }, (_, i) => keys[(i * 7919) % keys.length]!);
    const offP: Array<[number, number]> = [];
    const onP: Array<[number, number]> = [];
    let scanned = 0;
    let verified = 0;
    for (let round = 0; round < ROUNDS; round++) {
      ol = await open();
      await getLatencies(ol, pick.slice(0, Math.min(20, pick.length))); // warm-up
      const off = await getLatencies(ol, pick);
      offP.push([pct(off, 50), pct(off, 99)]);
      await ol.close();
      ol = await open();
      ol.startHealing({ scannerMode: 'deep', scannerIntervalMs: 1000 });
      await waitFor(async () => (await ol.healStatus()).scanner?.running === true);
      const on = await getLatencies(ol, pick);
      onP.push([pct(on, 50), pct(on, 99)]);
      const scan = (await ol.healStatus()).scanner;
      scanned += scan?.objectsScanned ?? 0;
      verified += scan?.bytesDone ?? 0;
      await ol.close();
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const off50 = median(offP.map((x) => x[0]));
    const off99 = median(offP.map((x) => x[1]));
    const on50 = median(onP.map((x) => x[0]));
    const on99 = median(onP.map((x) => x[1]));

    const mbs = (bytes: number, s: number) => bytes / MiB / s;
    const rows: Array<[string, string]> = [
      ['objects', `${N} (${(total / MiB).toFixed(0)} MiB of data)`],
      ['rebuild: time', `${rebuildSeconds.toFixed(1)} s`],
      ['rebuild: objects/s', (N / rebuildSeconds).toFixed(0)],
      ['rebuild: shard files written', `${rebuilt.length} (${(rebuiltBytes / MiB).toFixed(0)} MiB)`],
      ['rebuild: MB/s written', mbs(rebuiltBytes, rebuildSeconds).toFixed(1)],
      ['rebuild: CPU s (all threads) / wall s', `${rebuildCpuSeconds.toFixed(1)} / ${rebuildSeconds.toFixed(1)}`],
      ['raw disk: same files, fsynced, MB/s', mbs(rebuiltBytes, rawSeconds).toFixed(1)],
      ['rebuild / raw disk', (rawSeconds / rebuildSeconds).toFixed(2)],
      [`GET p50 scanner off / on (ms, median of ${ROUNDS})`, `${off50.toFixed(1)} / ${on50.toFixed(1)}`],
      [`GET p99 scanner off / on (ms, median of ${ROUNDS})`, `${off99.toFixed(1)} / ${on99.toFixed(1)}`],
      ['GET p50 ratio on/off', (on50 / off50).toFixed(2)],
      ['GET p99 ratio on/off', (on99 / off99).toFixed(2)],
      ['scanner during the GETs (all rounds)', `${scanned} objects, ${(verified / MiB).toFixed(0)} MiB verified`],
    ];
    const w = Math.max(...rows.map((r) => r[0].length));
    for (const [k, v] of rows) process.stdout.write(`${k.padEnd(w)}  ${v}\n`);
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(String((err as Error).stack ?? err) + '\n');
  process.exit(1);
});
