import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';

/** Shared by the storage tests: temp drive dirs and deterministic bodies. */

export async function tempDrives(n: number): Promise<{ root: string; drives: string[]; cleanup: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'cairn-storage-'));
  const drives = Array.from({ length: n }, (_, i) => join(root, `d${i + 1}`));
  return { root, drives, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/** Deterministic pseudo-random bytes (xorshift), different per seed. */
export function pattern(size: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** A body generated on the fly in chunks, never held whole. */
export function generatedStream(size: number, seed = 1, chunk = 1 << 20): Readable {
  let sent = 0;
  const block = pattern(Math.min(chunk, Math.max(size, 1)), seed);
  return new Readable({
    read() {
      if (sent >= size) return void this.push(null);
      const n = Math.min(block.length, size - sent);
      // Vary each chunk by its offset so misplaced blocks would be caught.
      const c = Buffer.from(block.subarray(0, n));
      if (n >= 4) c.writeUInt32LE(sent >>> 0, 0);
      sent += n;
      this.push(c);
    },
  });
}

export async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export async function md5Of(s: Readable): Promise<{ md5: string; size: number }> {
  const h = createHash('md5');
  let size = 0;
  for await (const c of s) {
    h.update(c as Buffer);
    size += (c as Buffer).length;
  }
  return { md5: h.digest('hex'), size };
}

export const bodyOf = (b: Buffer, chunk = 64 * 1024): Readable =>
  Readable.from(
    (function* () {
      for (let o = 0; o < b.length; o += chunk) yield b.subarray(o, o + chunk);
    })(),
  );

/** Waits (polling) until `cond` holds; fails after `ms`. Not a timing assertion: a bound on a hang. */
export async function until(cond: () => boolean | Promise<boolean>, ms = 30_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The shard files (data/<2>/<dir>/<file>) of one drive with their bytes, by path relative to the drive. */
export async function shardFiles(drive: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const root = join(drive, 'data');
  for (const a of await readdir(root).catch(() => [] as string[])) {
    for (const b of await readdir(join(root, a))) {
      for (const f of await readdir(join(root, a, b))) out.set(join(a, b, f), await readFile(join(root, a, b, f)));
    }
  }
  return out;
}
