/**
 * Contracts of the erasure layer. It knows no file system and no S3: storage
 * hands it shard writers/readers (one per drive slot) and it does the rest.
 */

export type CodecId = 'ronomon' | 'wasm';
export type BitrotAlgorithm = 'crc32c' | 'sha256';

export interface ErasureCodec {
  readonly id: CodecId;
  /**
   * Fill parity shards. `shards` holds k data shards then m parity shards, all
   * the same length; data shards are read, parity shards are written in place.
   */
  encode(shards: Buffer[], k: number, m: number): Promise<void>;
  /**
   * Rebuild every shard whose `present[i]` is false, in place, from at least k
   * present ones. Same matrix as encode: shards from either codec decode with the other.
   * `wanted` (optional, additive): rebuild only the missing shards with `wanted[i]`
   * true (a degraded read needs data shards only); other missing shards may be
   * left as they are or overwritten.
   */
  reconstruct(shards: Buffer[], present: boolean[], k: number, m: number, wanted?: boolean[]): Promise<void>;
}

/** Everything needed to read an object's shards back; stored in each metadata record. */
export interface ErasureLayout {
  dataShards: number; // k
  parityShards: number; // m
  /** Plaintext bytes per stripe (1 MiB). */
  blockSize: number;
  codec: CodecId;
  bitrot: BitrotAlgorithm;
  /** distribution[i] = shard index stored on the set's drive slot i (rotates by key hash). */
  distribution: number[];
}

/** One shard stream's destination (a file on one drive). */
export interface ShardWriter {
  /**
   * Append `chunk`. The erasure encoder reuses its stripe buffers once the
   * promise settles, so a writer that keeps bytes past that point must copy them.
   * Writes to one writer are issued one at a time, in order.
   */
  write(chunk: Buffer): Promise<void>;
  /**
   * Optional (additive): append several chunks in one go (e.g. filehandle.writev),
   * same rules as write(). The encoder uses it for each [hash][block] frame.
   */
  writev?(chunks: Buffer[]): Promise<void>;
  /** Flush and make durable; called once after the last write. */
  finish(): Promise<void>;
  /** Remove whatever was written; called when the object write fails. */
  abort(): Promise<void>;
}

/** Random access to one shard file. */
export interface ShardReader {
  /** Exactly `length` bytes at `offset` or a rejection. */
  readAt(offset: number, length: number): Promise<Buffer>;
  /**
   * Optional (additive): exactly the summed length of `targets` at `offset`,
   * scattered into them in order (preadv), or a rejection. The decoder reads
   * several frames of a shard this way, straight into its output chunks; the
   * targets are the caller's and are not kept after the promise resolves. After a
   * rejection (a drive timeout) a late read may still land in them: the caller must
   * not reuse or hand out the targets of a rejected call.
   */
  readv?(offset: number, targets: Buffer[]): Promise<void>;
  close(): Promise<void>;
}
