/**
 * The shard file format and the arithmetic storage needs to size and
 * range-read shard files. Pure functions, no I/O.
 *
 * A shard file is a 32-byte header followed by one frame per object block:
 *
 *   header (all integers big-endian)
 *     0  8  magic "CAIRNSHD"
 *     8  2  format version (1)
 *    10  1  k (data shards)
 *    11  1  m (parity shards)
 *    12  1  shard index of this file (0..k+m-1; < k = data)
 *    13  1  bitrot algorithm id (1 = crc32c, 2 = sha256)
 *    14  1  codec id (1 = ronomon, 2 = wasm)
 *    15  1  reserved, 0
 *    16  4  block size (plaintext bytes per stripe)
 *    20  8  reserved, 0
 *    28  4  crc32c of bytes 0..27
 *   frame i = [bitrot hash of the shard block][shard block]
 *
 * Block i holds plaintext bytes [i·blockSize, min((i+1)·blockSize, size)).
 * Its n bytes are cut into k data shard blocks of L(n) bytes each, back to back
 * (data shard j holds bytes [j·L, (j+1)·L) of the block, zero padded), where
 * L(n) = ceil(n / k) rounded up to 8 bytes (n ≤ 8 KiB·k) or 64 bytes (larger).
 * Why: ronomon needs multiples of 8, and 64 keeps its internal packets 8-byte
 * aligned so its XOR runs on whole words; small blocks keep the padding small.
 * Every block but the last is full, so frame offsets are plain multiplication.
 */
import { crc32c } from '@node-rs/crc32';
import { bitrotFromId, bitrotHashSize, BITROT_IDS } from './bitrot.js';
import { ErasureError } from './errors.js';
import type { BitrotAlgorithm, CodecId, ErasureLayout } from './types.js';

export const SHARD_MAGIC = Buffer.from('CAIRNSHD', 'latin1');
export const SHARD_FORMAT_VERSION = 1;
export const SHARD_HEADER_SIZE = 32;

/** Ids stored in the shard header; never renumber. */
export const CODEC_IDS: Readonly<Record<CodecId, number>> = { ronomon: 1, wasm: 2 };

const MAX_SHARDS = 255;

/** Throws RangeError for a layout the format cannot describe. */
export function validateLayout(layout: ErasureLayout): void {
  const { dataShards: k, parityShards: m, blockSize } = layout;
  if (!Number.isInteger(k) || k < 1 || !Number.isInteger(m) || m < 0 || k + m > MAX_SHARDS) {
    throw new RangeError(`bad erasure geometry ${k}+${m}`);
  }
  if (layout.codec === 'ronomon' && (k > 24 || m > 6)) throw new RangeError(`ronomon supports k <= 24, m <= 6, not ${k}+${m}`);
  if (!Number.isInteger(blockSize) || blockSize < 1 || blockSize > 0xffffffff) throw new RangeError(`bad block size ${blockSize}`);
  if (!(layout.codec in CODEC_IDS)) throw new RangeError(`unknown codec ${String(layout.codec)}`);
  bitrotHashSize(layout.bitrot);
}

/** Bytes of each shard block for a block of `plainBytes` plaintext bytes (0 for 0). */
export function shardLengthFor(layout: ErasureLayout, plainBytes: number): number {
  if (plainBytes <= 0) return 0;
  const raw = Math.ceil(plainBytes / layout.dataShards);
  const align = raw <= 8192 ? 8 : 64;
  return Math.ceil(raw / align) * align;
}

/** Shard block length of a full block. */
export function shardBlockSize(layout: ErasureLayout): number {
  return shardLengthFor(layout, layout.blockSize);
}

export function blockCount(layout: ErasureLayout, objectSize: number): number {
  return Math.ceil(objectSize / layout.blockSize);
}

/** Plaintext bytes in block i. */
export function blockPlainSize(layout: ErasureLayout, objectSize: number, i: number): number {
  return Math.max(0, Math.min(layout.blockSize, objectSize - i * layout.blockSize));
}

/** Bytes of one frame (hash + shard block) of a full block. */
export function frameSize(layout: ErasureLayout): number {
  return bitrotHashSize(layout.bitrot) + shardBlockSize(layout);
}

/** Where frame i starts in every shard file of the object. */
export function blockFrameOffset(layout: ErasureLayout, i: number): number {
  return SHARD_HEADER_SIZE + i * frameSize(layout);
}

/** Length of frame i (the last one is shorter). */
export function blockFrameLength(layout: ErasureLayout, objectSize: number, i: number): number {
  return bitrotHashSize(layout.bitrot) + shardLengthFor(layout, blockPlainSize(layout, objectSize, i));
}

/** Size of each shard file (all k+m are the same size). */
export function shardFileSize(layout: ErasureLayout, objectSize: number): number {
  const n = blockCount(layout, objectSize);
  if (n === 0) return SHARD_HEADER_SIZE;
  return blockFrameOffset(layout, n - 1) + blockFrameLength(layout, objectSize, n - 1);
}

export function encodeShardHeader(layout: ErasureLayout, shardIndex: number): Buffer {
  const h = Buffer.alloc(SHARD_HEADER_SIZE);
  SHARD_MAGIC.copy(h, 0);
  h.writeUInt16BE(SHARD_FORMAT_VERSION, 8);
  h.writeUInt8(layout.dataShards, 10);
  h.writeUInt8(layout.parityShards, 11);
  h.writeUInt8(shardIndex, 12);
  h.writeUInt8(BITROT_IDS[layout.bitrot], 13);
  h.writeUInt8(CODEC_IDS[layout.codec], 14);
  h.writeUInt32BE(layout.blockSize, 16);
  h.writeUInt32BE(crc32c(h.subarray(0, 28)), 28);
  return h;
}

export interface ShardHeader {
  version: number;
  dataShards: number;
  parityShards: number;
  shardIndex: number;
  bitrot: BitrotAlgorithm;
  codec: CodecId;
  blockSize: number;
}

/** Parses a header; throws ErasureError('CorruptData') when it is not one. */
export function parseShardHeader(buf: Uint8Array): ShardHeader {
  const h = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  if (h.length < SHARD_HEADER_SIZE || !h.subarray(0, 8).equals(SHARD_MAGIC)) {
    throw new ErasureError('CorruptData', 'not a cairn shard file (bad magic)');
  }
  if (h.readUInt32BE(28) !== crc32c(h.subarray(0, 28))) throw new ErasureError('CorruptData', 'shard header checksum mismatch');
  const version = h.readUInt16BE(8);
  if (version !== SHARD_FORMAT_VERSION) throw new ErasureError('CorruptData', `unsupported shard format version ${version}`);
  const bitrot = bitrotFromId(h.readUInt8(13));
  const codec = (Object.keys(CODEC_IDS) as CodecId[]).find((c) => CODEC_IDS[c] === h.readUInt8(14));
  if (!bitrot || !codec) throw new ErasureError('CorruptData', 'unknown bitrot or codec id in shard header');
  return {
    version,
    dataShards: h.readUInt8(10),
    parityShards: h.readUInt8(11),
    shardIndex: h.readUInt8(12),
    bitrot,
    codec,
    blockSize: h.readUInt32BE(16),
  };
}

/** Throws ErasureError('CorruptData') unless `buf` is the header of shard `shardIndex` of `layout`. */
export function checkShardHeader(buf: Uint8Array, layout: ErasureLayout, shardIndex: number): void {
  const h = parseShardHeader(buf);
  if (
    h.dataShards !== layout.dataShards ||
    h.parityShards !== layout.parityShards ||
    h.shardIndex !== shardIndex ||
    h.bitrot !== layout.bitrot ||
    h.codec !== layout.codec ||
    h.blockSize !== layout.blockSize
  ) {
    throw new ErasureError(
      'CorruptData',
      `shard header does not match: file says ${h.dataShards}+${h.parityShards} index ${h.shardIndex} ${h.codec}/${h.bitrot}/${h.blockSize}, ` +
        `expected ${layout.dataShards}+${layout.parityShards} index ${shardIndex} ${layout.codec}/${layout.bitrot}/${layout.blockSize}`,
    );
  }
}
