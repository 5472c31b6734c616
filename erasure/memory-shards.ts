/**
 * Shard writer/reader over memory: storage uses them for small objects stored
 * inline in metadata, tests use them everywhere.
 */
import type { ShardReader, ShardWriter } from './types.js';

export class MemoryShardWriter implements ShardWriter {
  private chunks: Buffer[] = [];
  private joined: Buffer | null = null;
  state: 'open' | 'finished' | 'aborted' = 'open';

  async write(chunk: Buffer): Promise<void> {
    if (this.state !== 'open') throw new Error(`write to a ${this.state} shard`);
    // Copy: the encoder reuses its stripe buffers once this promise settles.
    this.chunks.push(Buffer.from(chunk));
    this.joined = null;
  }

  async writev(chunks: Buffer[]): Promise<void> {
    for (const c of chunks) await this.write(c);
  }

  async finish(): Promise<void> {
    if (this.state !== 'open') throw new Error(`finish of a ${this.state} shard`);
    this.state = 'finished';
  }

  async abort(): Promise<void> {
    this.state = 'aborted';
    this.chunks = [];
    this.joined = null;
  }

  /** Everything written so far (header and frames). */
  bytes(): Buffer {
    this.joined ??= Buffer.concat(this.chunks);
    return this.joined;
  }
}

export class MemoryShardReader implements ShardReader {
  constructor(private readonly buf: Buffer) {}

  async readAt(offset: number, length: number): Promise<Buffer> {
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > this.buf.length) {
      throw new RangeError(`read of ${length} bytes at ${offset} outside a ${this.buf.length}-byte shard`);
    }
    // A copy, so nobody downstream can modify the stored shard in place.
    return Buffer.from(this.buf.subarray(offset, offset + length));
  }

  async readv(offset: number, targets: Buffer[]): Promise<void> {
    let total = 0;
    for (const t of targets) total += t.length;
    if (!Number.isInteger(offset) || offset < 0 || offset + total > this.buf.length) {
      throw new RangeError(`read of ${total} bytes at ${offset} outside a ${this.buf.length}-byte shard`);
    }
    let at = offset;
    for (const t of targets) at += this.buf.copy(t, 0, at, at + t.length);
  }

  async close(): Promise<void> {}
}
