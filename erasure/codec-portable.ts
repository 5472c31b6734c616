/**
 * Pure-TypeScript implementation of the @ronomon/reed-solomon on-disk format
 * (same bit matrix, same packet layout, same parity bytes). It is the fallback
 * when the native addon cannot be loaded, so objects written with codec
 * 'ronomon' never depend on a compiled binary to be read back. Proved
 * byte-identical to the addon by codec.test.ts.
 *
 * The work is pure XOR of packets (the bit matrix has no multiplications),
 * done 32 bits at a time when the packets are 4-byte aligned.
 */
import { createDecodingBitmatrix, createRonomonContext, ronomonChunkSize } from './ronomon-matrix.js';
import { checkShards, targetsOf } from './shard-buffers.js';
import type { ErasureCodec } from './types.js';

/** ronomon requires shard lengths that are multiples of 8 (its 64-bit XOR words). */
export const RONOMON_SHARD_ALIGN = 8;

interface View {
  u8: Uint8Array;
  /** Present when the shard starts on a 4-byte boundary. */
  i32: Int32Array | null;
}

function viewOf(b: Uint8Array): View {
  const aligned = b.byteOffset % 4 === 0 && b.length % 4 === 0;
  return { u8: b, i32: aligned ? new Int32Array(b.buffer, b.byteOffset, b.length / 4) : null };
}

/** One packet: `len` bytes of shard `view` at byte offset `off`. */
interface Packet {
  view: View;
  off: number;
}

/**
 * target packet = XOR of `sources` (a copy when there is one). Sources are
 * folded in up to three at a time per pass over the target, which matters more
 * than anything else for speed in JS: it cuts the passes over memory.
 */
function combine(sources: Packet[], t: View, tOff: number, len: number): void {
  if (sources.length === 0) {
    t.u8.fill(0, tOff, tOff + len);
    return;
  }
  const aligned = t.i32 !== null && tOff % 4 === 0 && len % 4 === 0 && sources.every((p) => p.view.i32 !== null && p.off % 4 === 0);
  if (!aligned) {
    const first = sources[0]!;
    t.u8.set(first.view.u8.subarray(first.off, first.off + len), tOff);
    const d = t.u8;
    for (let j = 1; j < sources.length; j++) {
      const s = sources[j]!.view.u8;
      const o = sources[j]!.off;
      for (let i = 0; i < len; i++) d[tOff + i]! ^= s[o + i]!;
    }
    return;
  }
  const d = t.i32!;
  const words = len >> 2;
  const base = tOff >> 2;
  let j = 0;
  let first = true;
  while (j < sources.length) {
    const group = Math.min(3, sources.length - j);
    const a = sources[j]!.view.i32!;
    const ao = (sources[j]!.off >> 2) - base;
    if (group === 3) {
      const b = sources[j + 1]!.view.i32!;
      const bo = (sources[j + 1]!.off >> 2) - base;
      const c = sources[j + 2]!.view.i32!;
      const co = (sources[j + 2]!.off >> 2) - base;
      if (first) for (let i = base; i < base + words; i++) d[i] = a[i + ao]! ^ b[i + bo]! ^ c[i + co]!;
      else for (let i = base; i < base + words; i++) d[i] = d[i]! ^ a[i + ao]! ^ b[i + bo]! ^ c[i + co]!;
    } else if (group === 2) {
      const b = sources[j + 1]!.view.i32!;
      const bo = (sources[j + 1]!.off >> 2) - base;
      if (first) for (let i = base; i < base + words; i++) d[i] = a[i + ao]! ^ b[i + bo]!;
      else for (let i = base; i < base + words; i++) d[i] = d[i]! ^ a[i + ao]! ^ b[i + bo]!;
    } else {
      if (first) for (let i = base; i < base + words; i++) d[i] = a[i + ao]!;
      else for (let i = base; i < base + words; i++) d[i] = d[i]! ^ a[i + ao]!;
    }
    first = false;
    j += group;
  }
}

/** Mirror of binding.c dot(): target shard = bit-matrix row block × source shards. */
function dot(w: number, k: number, views: View[], shardSize: number, row: Uint8Array, sourceIndex: readonly number[], target: number): void {
  const chunk = ronomonChunkSize(w, k, shardSize);
  const t = views[target]!;
  const sources: Packet[] = [];
  for (let off = 0; off < shardSize; off += w * chunk) {
    let column = 0;
    for (let a = 0; a < w; a++) {
      sources.length = 0;
      for (let b = 0; b < k; b++) {
        const s = views[sourceIndex[b]!]!;
        for (let c = 0; c < w; c++) {
          if (row[column]) sources.push({ view: s, off: off + c * chunk });
          column++;
        }
      }
      combine(sources, t, off + a * chunk, chunk);
    }
  }
}

export class PortableRonomonCodec implements ErasureCodec {
  readonly id = 'ronomon' as const;
  /** Which implementation this is, for logs and benchmarks. */
  readonly implementation = 'portable';
  private readonly contexts = new Map<string, Uint8Array>();

  private context(k: number, m: number): Uint8Array {
    const key = `${k}+${m}`;
    let ctx = this.contexts.get(key);
    if (!ctx) {
      ctx = createRonomonContext(k, m);
      this.contexts.set(key, ctx);
    }
    return ctx;
  }

  encode(shards: Buffer[], k: number, m: number): Promise<void> {
    checkShards(shards, k, m, RONOMON_SHARD_ALIGN);
    if (m === 0) return Promise.resolve();
    this.rebuild(shards, k, m, Array.from({ length: k + m }, (_, i) => i < k), Array.from({ length: k + m }, (_, i) => i >= k));
    return Promise.resolve();
  }

  reconstruct(shards: Buffer[], present: boolean[], k: number, m: number, wanted?: boolean[]): Promise<void> {
    checkShards(shards, k, m, RONOMON_SHARD_ALIGN);
    const targets = targetsOf(present, wanted, k + m);
    if (!targets.includes(true)) return Promise.resolve();
    if (present.filter(Boolean).length < k) {
      return Promise.reject(new RangeError(`need ${k} present shards to reconstruct, have ${present.filter(Boolean).length}`));
    }
    this.rebuild(shards, k, m, present, targets);
    return Promise.resolve();
  }

  /** Same plan as binding.c reed_solomon_encode(): data shards first, then parity. */
  private rebuild(shards: Buffer[], k: number, m: number, present: readonly boolean[], targets: readonly boolean[]): void {
    const ctx = this.context(k, m);
    const w = ctx[0]!;
    const bitmatrix = ctx.subarray(3);
    const kww = k * w * w;
    const size = shards[0]!.length;
    const views = shards.map(viewOf);
    const missingData: number[] = [];
    for (let i = 0; i < k; i++) if (!present[i]) missingData.push(i);
    const parityTargets: number[] = [];
    for (let i = k; i < k + m; i++) if (targets[i]) parityTargets.push(i);
    // Parity needs every data shard, so rebuild missing data if any parity is wanted.
    const dataToBuild = parityTargets.length > 0 ? missingData : missingData.filter((i) => targets[i]);
    if (dataToBuild.length > 0) {
      const sources: number[] = [];
      for (let i = 0; i < k + m && sources.length < k; i++) if (present[i]) sources.push(i);
      const decoding = createDecodingBitmatrix(ctx, sources);
      for (const i of dataToBuild) dot(w, k, views, size, decoding.subarray(kww * i, kww * (i + 1)), sources, i);
    }
    const dataIndex = Array.from({ length: k }, (_, i) => i);
    for (const p of parityTargets) dot(w, k, views, size, bitmatrix.subarray(kww * (p - k), kww * (p - k + 1)), dataIndex, p);
  }
}
