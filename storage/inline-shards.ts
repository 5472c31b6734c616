import type { ErasureCodec, ErasureLayout } from '../erasure/types.js';
import {
  PortableRonomonCodec,
  bitrotHashInto,
  bitrotHashSize,
  bitrotVerify,
  encodeShardHeader,
  SHARD_HEADER_SIZE,
  shardLengthFor,
} from './erasure-api.js';

/**
 * Erasure coding of an object small enough to live in its metadata records
 * (one stripe), without the streaming encoder/decoder: those size their stripe
 * buffers for a full block (k+m × blockSize/k, 1.5 MiB at 4+2 for 1 MiB
 * blocks), which dominated the cost of a 4 KiB PUT. The bytes are exactly what
 * the streaming encoder writes (shard header, then one [bitrot hash][shard
 * block] frame), so either side can read what the other wrote; inline-shards
 * tests pin that equivalence.
 */

const headers = new Map<string, Buffer[]>();
/** Shard headers depend only on the geometry: built once per geometry, all shards at once. */
function headersFor(layout: ErasureLayout): Buffer[] {
  const id = `${layout.dataShards}/${layout.parityShards}/${layout.bitrot}/${layout.codec}/${layout.blockSize}`;
  let h = headers.get(id);
  if (!h) {
    h = Array.from({ length: layout.dataShards + layout.parityShards }, (_, i) => encodeShardHeader(layout, i));
    headers.set(id, h);
  }
  return h;
}

/**
 * For one small stripe the portable (pure TS, synchronous) implementation of
 * the ronomon format beats the native addon by an order of magnitude: ~6 µs
 * CPU for 4 KiB at 4+2 against ~90 µs for the threadpool round trip, which
 * also competes with fsyncs for the 4 pool threads. Same bytes (codec tests
 * compare the two bit for bit).
 */
let portable: PortableRonomonCodec | undefined;
function smallStripeCodec(codec: ErasureCodec): ErasureCodec {
  return codec.id === 'ronomon' ? (portable ??= new PortableRonomonCodec()) : codec;
}

/** True when `data` fits in one stripe, which is what this file handles. */
export const fitsOneStripe = (layout: ErasureLayout, size: number): boolean => size <= layout.blockSize;

/**
 * Data then parity shards of the stripe being encoded, reused by every small
 * write: the ronomon stripe is encoded synchronously (portable codec) and
 * copied out before encodeInlineShards returns, so no two writes ever share
 * it. A fresh buffer per write (6 KiB at 4+2, above the Buffer pool's limit)
 * was ~1 % of a 4 KiB PUT's CPU, plus the garbage.
 */
let scratch: Buffer | undefined;

/** Framed shard bytes by shard index for a body of at most one block. */
export async function encodeInlineShards(layout: ErasureLayout, codec: ErasureCodec, data: Buffer): Promise<Buffer[]> {
  const small = smallStripeCodec(codec);
  if (small instanceof PortableRonomonCodec) return encodeInlineShardsSync(layout, small, data);
  if (!fitsOneStripe(layout, data.length)) throw new RangeError(`inline body of ${data.length} bytes exceeds one block`);
  if (data.length === 0) return headersFor(layout).slice();
  const need = (layout.dataShards + layout.parityShards) * shardLengthFor(layout, data.length);
  // Other codecs may yield while encoding: their stripe is their own.
  const shards = stripeOf(layout, data, Buffer.allocUnsafe(need));
  await small.encode(shards, layout.dataShards, layout.parityShards);
  return frame(layout, shards);
}

/** The ronomon case: everything in one synchronous run, in the shared scratch stripe. */
function encodeInlineShardsSync(layout: ErasureLayout, codec: PortableRonomonCodec, data: Buffer): Buffer[] {
  if (!fitsOneStripe(layout, data.length)) throw new RangeError(`inline body of ${data.length} bytes exceeds one block`);
  if (data.length === 0) return headersFor(layout).slice();
  const need = (layout.dataShards + layout.parityShards) * shardLengthFor(layout, data.length);
  if (!scratch || scratch.length < need) scratch = Buffer.allocUnsafeSlow(Math.max(need, 16 * 1024));
  const shards = stripeOf(layout, data, scratch);
  // The portable codec does its work before returning (an already settled promise): the
  // parity is in `shards` now, and framed into fresh buffers before anything else runs.
  void codec.encode(shards, layout.dataShards, layout.parityShards);
  return frame(layout, shards);
}

/** `data` zero-padded into k shards of `into`, followed by m parity shards (to be computed). */
function stripeOf(layout: ErasureLayout, data: Buffer, into: Buffer): Buffer[] {
  const k = layout.dataShards;
  const n = k + layout.parityShards;
  const len = shardLengthFor(layout, data.length);
  // Data then parity, contiguous, so the codec works on them in place.
  data.copy(into, 0);
  into.fill(0, data.length, k * len);
  const shards = new Array<Buffer>(n);
  for (let i = 0; i < n; i++) shards[i] = into.subarray(i * len, (i + 1) * len);
  return shards;
}

/** Each shard as stored: its header, the bitrot hash of the block, the block; one buffer for all. */
function frame(layout: ErasureLayout, shards: Buffer[]): Buffer[] {
  const hdr = headersFor(layout);
  const len = shards[0]!.length;
  const hashSize = bitrotHashSize(layout.bitrot);
  const each = SHARD_HEADER_SIZE + hashSize + len;
  const out = Buffer.allocUnsafe(shards.length * each);
  return shards.map((shard, i) => {
    const at = i * each;
    hdr[i]!.copy(out, at);
    bitrotHashInto(layout.bitrot, shard, out, at + SHARD_HEADER_SIZE);
    shard.copy(out, at + SHARD_HEADER_SIZE + hashSize);
    return out.subarray(at, at + each);
  });
}

/**
 * The body from the k data shards' inline bytes (`byShard[i]` for shard i),
 * when all of them are present with the expected header and a good bitrot
 * hash. Undefined otherwise: the caller falls back to the streaming decoder,
 * which reconstructs from parity.
 */
export function decodeInlineShards(layout: ErasureLayout, byShard: Array<Buffer | undefined>, size: number): Buffer | undefined {
  const k = layout.dataShards;
  if (!fitsOneStripe(layout, size)) return undefined;
  const len = shardLengthFor(layout, size);
  const hashSize = bitrotHashSize(layout.bitrot);
  const each = SHARD_HEADER_SIZE + hashSize + len;
  const out = Buffer.allocUnsafe(k * len);
  const hdr = headersFor(layout);
  for (let i = 0; i < k; i++) {
    const b = byShard[i];
    if (!b || b.length !== (size === 0 ? SHARD_HEADER_SIZE : each)) return undefined;
    if (!hdr[i]!.equals(b.subarray(0, SHARD_HEADER_SIZE))) return undefined;
    if (size === 0) continue;
    const block = b.subarray(SHARD_HEADER_SIZE + hashSize);
    if (!bitrotVerify(layout.bitrot, block, b.subarray(SHARD_HEADER_SIZE, SHARD_HEADER_SIZE + hashSize))) return undefined;
    block.copy(out, i * len);
  }
  return out.subarray(0, size);
}
