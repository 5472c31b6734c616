import { Readable } from 'node:stream';

/** One MiB of a fixed byte pattern, shared by every body the in-process benchmarks stream. */
export const PATTERN_CHUNK = Buffer.alloc(1 << 20);
for (let i = 0; i < PATTERN_CHUNK.length; i++) PATTERN_CHUNK[i] = (i * 31 + 7) & 0xff;

/** A stream of `size` bytes of PATTERN_CHUNK, pushed a MiB at a time without copying. */
export function patternBody(size: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= size) return void this.push(null);
      const n = Math.min(PATTERN_CHUNK.length, size - sent);
      sent += n;
      this.push(PATTERN_CHUNK.subarray(0, n));
    },
  });
}
