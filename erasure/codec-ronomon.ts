/**
 * Adapter for @ronomon/reed-solomon (native, runs in the libuv threadpool so
 * the event loop stays free). It wants the k data shards back to back in one
 * buffer and the m parity shards back to back in another, selected by bit
 * masks; the encoder and decoder allocate stripes that way, so no copy is made.
 */
import { createRequire } from 'node:module';
import { RONOMON_MAX_K, RONOMON_MAX_M } from './ronomon-matrix.js';
import { RONOMON_SHARD_ALIGN } from './codec-portable.js';
import { checkShards, contiguousView, gather, scatter, targetsOf } from './shard-buffers.js';
import type { ErasureCodec } from './types.js';

interface RonomonBinding {
  MAX_K: number;
  MAX_M: number;
  create(k: number, m: number): Buffer;
  encode(
    context: Buffer,
    sources: number,
    targets: number,
    buffer: Buffer,
    bufferOffset: number,
    bufferSize: number,
    parity: Buffer,
    parityOffset: number,
    paritySize: number,
    end: (err?: Error) => void,
  ): void;
}

/** Loads the addon; throws if the binary is missing or built for another ABI. */
export function loadRonomonBinding(): RonomonBinding {
  const require = createRequire(import.meta.url);
  const binding = require('@ronomon/reed-solomon') as RonomonBinding;
  if (binding.MAX_K !== RONOMON_MAX_K || binding.MAX_M !== RONOMON_MAX_M || typeof binding.encode !== 'function') {
    throw new Error('unexpected @ronomon/reed-solomon binding (version mismatch?)');
  }
  return binding;
}

export class RonomonCodec implements ErasureCodec {
  readonly id = 'ronomon' as const;
  readonly implementation = 'native';
  private readonly contexts = new Map<string, Buffer>();

  constructor(private readonly binding: RonomonBinding = loadRonomonBinding()) {}

  /** Exposed so tests can compare it with the portable port bit for bit. */
  context(k: number, m: number): Buffer {
    const key = `${k}+${m}`;
    let ctx = this.contexts.get(key);
    if (!ctx) {
      ctx = this.binding.create(k, m);
      this.contexts.set(key, ctx);
    }
    return ctx;
  }

  encode(shards: Buffer[], k: number, m: number): Promise<void> {
    checkShards(shards, k, m, RONOMON_SHARD_ALIGN);
    if (m === 0) return Promise.resolve();
    let sources = 0;
    for (let i = 0; i < k; i++) sources |= 1 << i;
    let targets = 0;
    for (let i = k; i < k + m; i++) targets |= 1 << i;
    return this.run(shards, k, m, sources, targets);
  }

  reconstruct(shards: Buffer[], present: boolean[], k: number, m: number, wanted?: boolean[]): Promise<void> {
    checkShards(shards, k, m, RONOMON_SHARD_ALIGN);
    const want = targetsOf(present, wanted, k + m);
    let sources = 0;
    let count = 0;
    let targets = 0;
    for (let i = 0; i < k + m; i++) {
      if (present[i]) {
        sources |= 1 << i;
        count++;
      } else if (want[i]) {
        targets |= 1 << i;
      }
    }
    if (targets === 0) return Promise.resolve();
    if (count < k) return Promise.reject(new RangeError(`need ${k} present shards to reconstruct, have ${count}`));
    return this.run(shards, k, m, sources, targets);
  }

  private run(shards: Buffer[], k: number, m: number, sources: number, targets: number): Promise<void> {
    const len = shards[0]!.length;
    const dataView = contiguousView(shards, 0, k);
    const parityView = contiguousView(shards, k, k + m);
    const data = dataView ?? gather(shards, 0, k);
    const parity = parityView ?? gather(shards, k, k + m);
    const ctx = this.context(k, m);
    return new Promise<void>((resolve, reject) => {
      this.binding.encode(ctx, sources, targets, data, 0, k * len, parity, 0, m * len, (err) => {
        if (err) return reject(err);
        if (!dataView) scatter(data, shards, 0, k, (i) => (targets & (1 << i)) !== 0);
        if (!parityView) scatter(parity, shards, k, k + m, (i) => (targets & (1 << i)) !== 0);
        resolve();
      });
    });
  }
}
