import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';

/**
 * The end of the write pipeline. Holds up to `threshold` bytes; if the body
 * ends there, the object goes inline into the metadata record (`inlineBody`).
 * The first byte past the threshold opens the real erasure stream (`open`),
 * hands it what was held and from then on forwards with backpressure. So small
 * objects never touch shard files and large ones are never held whole.
 */
export class AdaptiveSink extends Writable {
  private held: Buffer[] = [];
  private heldBytes = 0;
  private target?: Writable;

  constructor(
    private readonly threshold: number,
    private readonly open: () => Writable,
  ) {
    super({ highWaterMark: 1 << 20 });
  }

  /** The whole body, when it stayed under the threshold; undefined once streaming. */
  get inlineBody(): Buffer | undefined {
    return this.target ? undefined : Buffer.concat(this.held, this.heldBytes);
  }

  get streaming(): boolean {
    return this.target !== undefined;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.target) return this.forward(chunk, cb);
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    if (this.heldBytes <= this.threshold) return cb();
    try {
      this.target = this.open();
    } catch (err) {
      return cb(err as Error);
    }
    this.target.on('error', (err) => this.destroy(err));
    const all = Buffer.concat(this.held, this.heldBytes);
    this.held = [];
    this.forward(all, cb);
  }

  private forward(chunk: Buffer, cb: (err?: Error | null) => void): void {
    if (this.target!.write(chunk)) cb();
    else this.target!.once('drain', () => cb());
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.target) return cb();
    this.target.end();
    finished(this.target).then(() => cb(), cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (this.target && !this.target.destroyed) this.target.destroy(err ?? undefined);
    cb(err);
  }
}
