/**
 * Storage benchmark (npm run bench:storage): the object layer on temporary
 * drive dirs at 4+2, beside the raw file system and MD5 alone on the same
 * bytes, as ratios. Public entry points only.
 *   BENCH_OBJECTS (4) × 64 MiB objects, BENCH_SMALL (4000) 4 KiB ops at 64 concurrent,
 *   BENCH_LIST_KEYS (50000) keys for listing.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { openObjectLayer } from '../storage/index.js';

const MiB = 1024 * 1024;
const OBJECT = 64 * MiB;
const N = Number(process.env.BENCH_OBJECTS ?? 4);
const SMALL = Number(process.env.BENCH_SMALL ?? 4000);
const LIST_KEYS = Number(process.env.BENCH_LIST_KEYS ?? 50_000);

const chunk = Buffer.alloc(MiB);
for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31 + 7) & 0xff;
const body = (size: number) => {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= size) return void this.push(null);
      const n = Math.min(chunk.length, size - sent);
      sent += n;
      this.push(chunk.subarray(0, n));
    },
  });
};
const sink = () => new Writable({ write: (_c, _e, cb) => cb() });

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 10);
const mbps = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);
async function timed(fn: () => Promise<void>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'cairn-bench-'));
  const drives = Array.from({ length: 6 }, (_, i) => join(root, `d${i + 1}`));
  try {
    const ol = await openObjectLayer({ drives, standardParity: 2 });
    const t = ol.topology().sets[0]!;
    console.log(`set: ${t.dataShards}+${t.parityShards}, ${N} × 64 MiB objects`);
    await ol.makeBucket('bench');

    const md5Ms = await timed(async () => {
      for (let i = 0; i < N; i++) {
        const h = createHash('md5');
        for (let o = 0; o < OBJECT; o += MiB) h.update(chunk);
        h.digest();
      }
    });
    const putMs = await timed(async () => {
      for (let i = 0; i < N; i++) await ol.putObject('bench', `big-${i}`, body(OBJECT), { size: OBJECT });
    });
    const getMs = await timed(async () => {
      for (let i = 0; i < N; i++) await pipeline((await ol.getObject('bench', `big-${i}`)).stream, sink());
    });
    // Raw: the same bytes as plain files spread over the same drive dirs, fsynced.
    const rawWriteMs = await timed(async () => {
      for (let i = 0; i < N; i++) {
        const path = join(drives[i % drives.length]!, `raw-${i}`);
        await pipeline(body(OBJECT), createWriteStream(path));
        const fh = await open(path, 'r+');
        await fh.datasync();
        await fh.close();
      }
    });
    const rawReadMs = await timed(async () => {
      for (let i = 0; i < N; i++) await pipeline(createReadStream(join(drives[i % drives.length]!, `raw-${i}`)), sink());
    });
    const total = N * OBJECT;
    const row = (name: string, ms: number, base?: number) =>
      console.log(`${name.padEnd(26)} ${mbps(total, ms).toFixed(0).padStart(6)} MB/s${base ? `  (${(base / ms).toFixed(2)} × raw)` : ''}`);
    row('MD5 alone', md5Ms);
    row('raw write + fdatasync', rawWriteMs);
    row('cairn PUT (md5+RS+bitrot)', putMs, rawWriteMs);
    row('raw read', rawReadMs);
    row('cairn GET (verify+decode)', getMs, rawReadMs);
    console.log(`PUT vs MD5 alone: ${(md5Ms / putMs).toFixed(2)} ×`);
    console.log(`peak RSS so far: ${(peakRss / MiB).toFixed(0)} MiB`);

    // Small objects, 64 in flight.
    const small = Buffer.alloc(4096, 1);
    const pool = async (count: number, fn: (i: number) => Promise<void>) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: 64 }, async () => {
          while (next < count) await fn(next++);
        }),
      );
    };
    const sPut = await timed(() => pool(SMALL, (i) => ol.putObject('bench', `s/${i}`, Readable.from([small]), { size: 4096 }).then(() => {})));
    const sGet = await timed(() => pool(SMALL, async (i) => void (await pipeline((await ol.getObject('bench', `s/${i}`)).stream, sink()))));
    console.log(`4 KiB PUT, 64 concurrent: ${((SMALL / sPut) * 1000).toFixed(0)} ops/s`);
    console.log(`4 KiB GET, 64 concurrent: ${((SMALL / sGet) * 1000).toFixed(0)} ops/s`);

    // Listing: a page from the middle of a big bucket, and the whole bucket.
    await ol.makeBucket('list');
    const empty = Buffer.alloc(0);
    const fillMs = await timed(() => pool(LIST_KEYS, (i) => ol.putObject('list', `k/${String(i).padStart(8, '0')}`, Readable.from([empty]), { size: 0 }).then(() => {})));
    const pageMs = await timed(async () => {
      const r = await ol.listObjects('list', { after: `k/${String(LIST_KEYS >> 1).padStart(8, '0')}`, maxKeys: 1000 });
      if (r.objects.length !== Math.min(1000, LIST_KEYS - (LIST_KEYS >> 1) - 1)) throw new Error('bad page');
    });
    let listed = 0;
    const allMs = await timed(async () => {
      let after: string | undefined;
      for (;;) {
        const r = await ol.listObjects('list', { maxKeys: 1000, ...(after ? { after } : {}) });
        listed += r.objects.length;
        if (!r.isTruncated) break;
        after = r.nextAfter;
      }
    });
    console.log(`listing: filled ${LIST_KEYS} keys at ${((LIST_KEYS / fillMs) * 1000).toFixed(0)} puts/s`);
    console.log(`listing: one 1000-key page from the middle: ${pageMs.toFixed(1)} ms`);
    console.log(`listing: all ${listed} keys in pages of 1000: ${((listed / allMs) * 1000).toFixed(0)} keys/s`);
    console.log(`peak RSS: ${(peakRss / MiB).toFixed(0)} MiB`);
    await ol.close();
  } finally {
    clearInterval(sampler);
    await rm(root, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
