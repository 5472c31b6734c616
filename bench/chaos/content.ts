/**
 * Deterministic object content for the chaos harness: the bytes of generation
 * `gen` of `key` are an AES-256-CTR keystream keyed by sha256(key, gen), so the
 * harness can regenerate (and hash) what it wrote without keeping it, and two
 * generations or two offsets never share bytes (a misplaced stripe shows).
 */
import { createCipheriv, createHash } from 'node:crypto';

const CHUNK = 1 << 20;
const ZEROS = Buffer.alloc(CHUNK);

/** Yields `size` bytes of (key, gen)'s content in chunks of at most 1 MiB, starting at `offset`. */
export function* contentChunks(key: string, gen: number, size: number, offset = 0): Generator<Buffer> {
  const seed = createHash('sha256').update(`${key}\0${gen}`).digest();
  // CTR counter starts at block offset/16; the harness only asks for 16-aligned offsets (5 MiB parts).
  if (offset % 16 !== 0) throw new Error(`content offset ${offset} is not 16-aligned`);
  const iv = Buffer.alloc(16);
  iv.writeBigUInt64BE(BigInt(offset / 16), 8);
  const cipher = createCipheriv('aes-256-ctr', seed, iv);
  let left = size;
  while (left > 0) {
    const n = Math.min(left, CHUNK);
    yield cipher.update(n === CHUNK ? ZEROS : ZEROS.subarray(0, n));
    left -= n;
  }
}

/** sha256 hex of (key, gen)'s `size` bytes, without holding them. */
export function contentHash(key: string, gen: number, size: number): string {
  const h = createHash('sha256');
  for (const c of contentChunks(key, gen, size)) h.update(c);
  return h.digest('hex');
}

/** A small deterministic PRNG (mulberry32) so a --seed reproduces the op sequence. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Object size skewed to small: half under 64 KiB, most under 1 MiB, a tail up to `max`; some exactly 0. */
export function pickSize(rand: () => number, max: number): number {
  const r = rand();
  if (r < 0.05) return 0;
  // log-uniform between 1 B and max: as many objects of 1–10 B as of 1–10 MiB.
  const size = Math.floor(Math.exp(rand() * Math.log(max + 1)));
  return Math.min(max, Math.max(1, size));
}
