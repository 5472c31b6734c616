import { bitrotHashSize, bitrotVerify } from '../../erasure/bitrot.js';
import {
  blockCount,
  blockFrameLength,
  blockFrameOffset,
  checkShardHeader,
  frameSize,
  SHARD_HEADER_SIZE,
  shardFileSize,
  shardLengthFor,
} from '../../erasure/shard-format.js';
import type { ErasureLayout, ShardReader } from '../../erasure/types.js';
import { encodeShardHeader } from '../erasure-api.js';
import type { Drive } from '../drive.js';

/**
 * Is one shard file (or one inline shard) of an object what the record says it
 * is? Normal mode is cheap: the file exists, its header is this shard's, and
 * its size is exact (a read of its last byte succeeds and one past it fails,
 * so no stat is needed beyond the ShardReader API). Deep mode also reads every
 * frame and checks its bitrot hash, in ~1 MiB reads through one reused buffer.
 */

export type ShardProblem = 'missing' | 'unreadable' | 'header' | 'size' | 'bitrot';

export type ShardCheck = { ok: true; bytesVerified: number } | { ok: false; problem: ShardProblem; bytesVerified: number; error?: unknown };

/** Bytes read per deep-verification read. */
const VERIFY_BYTES = 1024 * 1024;

export async function checkShardFile(
  drive: Drive,
  dataDir: string,
  file: string,
  layout: ErasureLayout,
  shardIndex: number,
  storedSize: number,
  deep: boolean,
  signal?: AbortSignal,
): Promise<ShardCheck> {
  let reader: ShardReader;
  try {
    reader = await drive.openShardReader(dataDir, file);
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    return { ok: false, problem: missing ? 'missing' : 'unreadable', bytesVerified: 0, error };
  }
  try {
    return await checkOpenShard(reader, layout, shardIndex, storedSize, deep, signal);
  } finally {
    await reader.close().catch(() => {});
  }
}

async function checkOpenShard(
  reader: ShardReader,
  layout: ErasureLayout,
  shardIndex: number,
  storedSize: number,
  deep: boolean,
  signal?: AbortSignal,
): Promise<ShardCheck> {
  const expected = shardFileSize(layout, storedSize);
  try {
    checkShardHeader(await reader.readAt(0, SHARD_HEADER_SIZE), layout, shardIndex);
  } catch (error) {
    return { ok: false, problem: 'header', bytesVerified: 0, error };
  }
  try {
    await reader.readAt(expected - 1, 1);
  } catch (error) {
    return { ok: false, problem: 'size', bytesVerified: 0, error };
  }
  const longer = await reader.readAt(expected, 1).then(
    () => true,
    () => false,
  );
  if (longer) return { ok: false, problem: 'size', bytesVerified: 0 };
  if (!deep) return { ok: true, bytesVerified: 0 };

  const hashSize = bitrotHashSize(layout.bitrot);
  const blocks = blockCount(layout, storedSize);
  const perRead = Math.max(1, Math.floor(VERIFY_BYTES / frameSize(layout)));
  const buf = Buffer.allocUnsafe(Math.min(blocks, perRead) * frameSize(layout));
  let verified = SHARD_HEADER_SIZE;
  for (let b = 0; b < blocks; b += perRead) {
    signal?.throwIfAborted();
    const last = Math.min(blocks, b + perRead);
    const start = blockFrameOffset(layout, b);
    const len = blockFrameOffset(layout, last - 1) + blockFrameLength(layout, storedSize, last - 1) - start;
    const view = buf.subarray(0, len);
    try {
      if (reader.readv) await reader.readv(start, [view]);
      else (await reader.readAt(start, len)).copy(view);
    } catch (error) {
      return { ok: false, problem: 'unreadable', bytesVerified: verified, error };
    }
    for (let i = b; i < last; i++) {
      const at = blockFrameOffset(layout, i) - start;
      const flen = blockFrameLength(layout, storedSize, i);
      if (!bitrotVerify(layout.bitrot, view.subarray(at + hashSize, at + flen), view.subarray(at, at + hashSize))) {
        return { ok: false, problem: 'bitrot', bytesVerified: verified };
      }
    }
    verified += len;
  }
  return { ok: true, bytesVerified: verified };
}

/** The same check for an inline shard (one frame at most, always verified: it is in memory already). */
export function checkInlineShard(bytes: Buffer | undefined, layout: ErasureLayout, shardIndex: number, storedSize: number): ShardProblem | undefined {
  if (!bytes) return 'missing';
  const hashSize = bitrotHashSize(layout.bitrot);
  const want = storedSize === 0 ? SHARD_HEADER_SIZE : SHARD_HEADER_SIZE + hashSize + shardLengthFor(layout, storedSize);
  if (bytes.length !== want) return 'size';
  if (!encodeShardHeader(layout, shardIndex).equals(bytes.subarray(0, SHARD_HEADER_SIZE))) return 'header';
  if (storedSize === 0) return undefined;
  const hash = bytes.subarray(SHARD_HEADER_SIZE, SHARD_HEADER_SIZE + hashSize);
  return bitrotVerify(layout.bitrot, bytes.subarray(SHARD_HEADER_SIZE + hashSize), hash) ? undefined : 'bitrot';
}
