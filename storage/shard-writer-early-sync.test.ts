/**
 * LocalDrive shard writer, early writeback: a shard file larger than a few MiB is
 * fdatasynced while it is still being written (so the disk works beside the
 * encoder), and still once more after its last write, before finish() resolves.
 * The strace case runs the built drive (dist/, like tests/fsync.test.ts) in a
 * child process; skipped when strace or dist/ is missing.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalDrive } from './local-drive.js';

const MiB = 1024 * 1024;
const DIST_DRIVE = resolve(import.meta.dirname, '../dist/storage/local-drive.js');
const haveStrace = spawnSync('strace', ['-V']).status === 0;

/** 256 KiB + 4 frames like the encoder's [crc][block], `count` of them, each with distinct bytes. */
function frames(count: number): Buffer[][] {
  return Array.from({ length: count }, (_, i) => [Buffer.alloc(4, i), Buffer.alloc(256 * 1024, (i * 7 + 1) & 0xff)]);
}

describe('LocalDrive shard writer: early fdatasync', () => {
  it('a 12 MiB shard written in frames reads back byte for byte after finish and commit', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cairn-early-sync-'));
    const d = await LocalDrive.open(dir);
    try {
      const w = d.createShardWriter('t1', 'part.1');
      const want = createHash('sha256');
      for (const f of frames(48)) {
        await w.writev!(f);
        for (const c of f) want.update(c);
      }
      await w.finish();
      await d.commitTmp('t1', 'abcdef0123456789');
      const r = await d.openShardReader('abcdef0123456789', 'part.1');
      const got = createHash('sha256');
      const size = 48 * (256 * 1024 + 4);
      for (let off = 0; off < size; off += 4 * MiB) got.update(await r.readAt(off, Math.min(4 * MiB, size - off)));
      await r.close();
      expect(got.digest('hex')).toBe(want.digest('hex'));
    } finally {
      await d.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!haveStrace || !existsSync(DIST_DRIVE))('fdatasyncs a large shard while writing and once more after the last write', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cairn-early-sync-'));
    try {
      const script = `
        const { LocalDrive } = await import(${JSON.stringify(DIST_DRIVE)});
        const d = await LocalDrive.open(${JSON.stringify(join(dir, 'drive'))});
        const w = d.createShardWriter('t1', 'part.1');
        for (let i = 0; i < 48; i++) await w.writev([Buffer.alloc(4, i), Buffer.alloc(256 * 1024, i)]);
        await w.finish();
        await d.close();`;
      const out = spawnSync('strace', ['-f', '-y', '-e', 'trace=fdatasync,writev,pwritev', '-o', join(dir, 'trace'), process.execPath, '--input-type=module', '-e', script], {
        encoding: 'utf8',
      });
      expect(out.status, out.stderr).toBe(0);
      const lines = readFileSync(join(dir, 'trace'), 'utf8').split('\n');
      // Where each call on the shard file started (a full line, or the first half of one split by another thread).
      const starts = (call: string) =>
        lines.flatMap((l, i) => (new RegExp(`^\\d+\\s+${call}\\(\\d+<[^>]*part\\.1>`).test(l) ? [i] : []));
      const syncs = starts('fdatasync');
      const writes = starts('p?writev');
      expect(writes.length, 'vectored writes on the shard file').toBeGreaterThanOrEqual(48);
      expect(syncs.length, 'fdatasyncs of the 12 MiB shard: early ones every 4 MiB plus the final one').toBeGreaterThanOrEqual(3);
      expect(syncs[0]!, 'an early fdatasync began before the last write').toBeLessThan(writes.at(-1)!);
      expect(syncs.at(-1)!, 'the final fdatasync began after the last write').toBeGreaterThan(writes.at(-1)!);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
