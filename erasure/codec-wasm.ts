/**
 * Adapter for @digitaldefiance/reed-solomon-erasure.wasm (the Rust
 * reed-solomon-erasure crate: Backblaze/klauspost systematic matrix derived
 * from a Vandermonde matrix, byte-wise GF(2^8), polynomial 0x11D). It is NOT
 * ronomon's matrix, so it writes its own format, recorded as codec 'wasm' in
 * the layout and only ever read back with this codec (see codecs.ts).
 * Synchronous: it blocks the event loop for the whole stripe.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ReedSolomonErasure } from '@digitaldefiance/reed-solomon-erasure.wasm';
import { checkShards, contiguousView, gather, scatter, targetsOf } from './shard-buffers.js';
import type { ErasureCodec } from './types.js';

let compiled: WebAssembly.Module | null = null;

/** fromCurrentDirectory() relies on __dirname, which ESM lacks; load the bytes ourselves. */
function wasmModule(): WebAssembly.Module {
  if (!compiled) {
    const require = createRequire(import.meta.url);
    const path = require.resolve('@digitaldefiance/reed-solomon-erasure.wasm/wasm');
    compiled = new WebAssembly.Module(readFileSync(path));
  }
  return compiled;
}

/** The wrapper's constructor takes the instance exports; it is private only in its typings. */
const Wrapper = ReedSolomonErasure as unknown as new (exports: WebAssembly.Exports) => ReedSolomonErasure;

function newInstance(): ReedSolomonErasure {
  return new Wrapper(new WebAssembly.Instance(wasmModule()).exports);
}

function check(result: number, what: string): void {
  if (result !== ReedSolomonErasure.RESULT_OK) {
    throw new Error(`reed-solomon-erasure.wasm ${what} failed: ${ReedSolomonErasure.getResultMessage(result)}`);
  }
}

export class WasmCodec implements ErasureCodec {
  readonly id = 'wasm' as const;
  readonly implementation = 'wasm';
  /**
   * Long-lived instance for encode only. Found while testing: after a
   * reconstruct() that has to invert the matrix, the module's wee_alloc heap is
   * corrupted and later calls trap with "memory access out of bounds" (or
   * report bogus errors). So every reconstruct runs in a fresh instance of the
   * compiled module (cheap), and a trapped encode instance is replaced.
   */
  private rs = newInstance();

  encode(shards: Buffer[], k: number, m: number): Promise<void> {
    try {
      checkShards(shards, k, m, 1);
      if (m === 0) return Promise.resolve();
      const view = contiguousView(shards, 0, k + m);
      const all = view ?? gather(shards, 0, k + m);
      this.encodeIn(this.rs, all, k, m, true);
      if (!view) scatter(all, shards, 0, k + m, (i) => i >= k);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private encodeIn(rs: ReedSolomonErasure, all: Uint8Array, k: number, m: number, retry: boolean): void {
    try {
      check(rs.encode(all, k, m), 'encode');
    } catch (err) {
      if (!(err instanceof WebAssembly.RuntimeError) || !retry) throw err;
      this.rs = newInstance();
      this.encodeIn(this.rs, all, k, m, false);
    }
  }

  reconstruct(shards: Buffer[], present: boolean[], k: number, m: number, wanted?: boolean[]): Promise<void> {
    try {
      checkShards(shards, k, m, 1);
      const targets = targetsOf(present, wanted, k + m);
      if (!targets.includes(true)) return Promise.resolve();
      const count = present.filter(Boolean).length;
      if (count < k) throw new RangeError(`need ${k} present shards to reconstruct, have ${count}`);
      const view = contiguousView(shards, 0, k + m);
      const all = view ?? gather(shards, 0, k + m);
      const dataMissing = present.slice(0, k).some((p) => !p);
      const flags = Array.from({ length: k + m }, (_, i) => present[i] === true);
      // The JS wrapper copies back only the data shards; parity is re-encoded from them.
      if (dataMissing) check(newInstance().reconstruct(all, k, m, flags), 'reconstruct');
      if (targets.slice(k).includes(true)) this.encodeIn(this.rs, all, k, m, true);
      if (!view) scatter(all, shards, 0, k + m, (i) => targets[i] === true || (i < k && !present[i]));
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }
}
