/**
 * Helpers shared by the codec adapters: both native and wasm codecs want the
 * shards of a stripe laid out back to back in one allocation. The encoder and
 * decoder allocate them that way, so the adapters can work in place; anything
 * else is copied (correct, just slower).
 */

/** One contiguous view over shards[from..to) if they are adjacent in memory, else null. */
export function contiguousView(shards: readonly Uint8Array[], from: number, to: number): Buffer | null {
  const first = shards[from];
  if (!first) return null;
  const len = first.length;
  for (let i = from + 1; i < to; i++) {
    const s = shards[i]!;
    if (s.buffer !== first.buffer || s.byteOffset !== first.byteOffset + (i - from) * len || s.length !== len) return null;
  }
  return Buffer.from(first.buffer, first.byteOffset, len * (to - from));
}

/** Copies shards[from..to) into one new buffer. */
export function gather(shards: readonly Uint8Array[], from: number, to: number): Buffer {
  const len = shards[from]!.length;
  const out = Buffer.allocUnsafe(len * (to - from));
  for (let i = from; i < to; i++) out.set(shards[i]!, (i - from) * len);
  return out;
}

/** Copies slices of `joined` back into shards[from..to) where `which(i)` holds. */
export function scatter(joined: Uint8Array, shards: readonly Uint8Array[], from: number, to: number, which: (i: number) => boolean): void {
  const len = shards[from]!.length;
  for (let i = from; i < to; i++) {
    if (which(i)) shards[i]!.set(joined.subarray((i - from) * len, (i - from + 1) * len));
  }
}

/** Throws unless there are k+m shards of one common, non-zero length. */
export function checkShards(shards: readonly Uint8Array[], k: number, m: number, align: number): number {
  if (!Number.isInteger(k) || !Number.isInteger(m) || k < 1 || m < 0) throw new RangeError(`bad erasure geometry ${k}+${m}`);
  if (shards.length !== k + m) throw new RangeError(`expected ${k + m} shards, got ${shards.length}`);
  const len = shards[0]!.length;
  if (len === 0 || len % align !== 0) throw new RangeError(`shard length ${len} is not a positive multiple of ${align}`);
  for (const s of shards) if (s.length !== len) throw new RangeError('shards differ in length');
  return len;
}

/** Which shards reconstruct() must produce: the caller's wish, or every missing one. */
export function targetsOf(present: readonly boolean[], wanted: readonly boolean[] | undefined, n: number): boolean[] {
  const out: boolean[] = [];
  for (let i = 0; i < n; i++) out.push(!present[i] && (wanted ? wanted[i] === true : true));
  return out;
}
