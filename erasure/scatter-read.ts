/**
 * Reads a run of bytes of one shard straight into the caller's buffers
 * (preadv when the reader has it). The decoder uses it to read several
 * consecutive frames of a shard in one call, with each shard block landing in
 * its place in the output chunk: no per-frame buffer, no copy.
 */
import { ErasureError } from './errors.js';
import type { ShardReader } from './types.js';

/** Fills `targets` in order from `offset`, or rejects (read error, or CorruptData when the shard is short). */
export async function readScattered(reader: ShardReader, offset: number, targets: Buffer[]): Promise<void> {
  if (reader.readv) return reader.readv(offset, targets);
  let total = 0;
  for (const t of targets) total += t.length;
  const buf = await reader.readAt(offset, total);
  if (buf.length !== total) throw new ErasureError('CorruptData', `short read (${buf.length} of ${total} bytes at ${offset})`);
  let at = 0;
  for (const t of targets) {
    buf.copy(t, 0, at, at + t.length);
    at += t.length;
  }
}
