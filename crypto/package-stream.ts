/**
 * Encrypt and decrypt Transforms for the package stream format
 * (package-format.ts, crypto/README.md). Bounded memory: at most one package
 * plus one input chunk is held; input chunks are sliced, never concatenated
 * (except a tag split across two chunks).
 */
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { CryptoError, corruptCiphertext } from './errors.js';
import {
  HEADER_SIZE,
  TAG_SIZE,
  decodeHeader,
  encodeHeader,
  newStreamParams,
  nonceFor,
  type CiphertextRange,
  type StreamCipher,
  type StreamParams,
} from './package-format.js';


// Two branches because @types/node types the two AEADs' factories separately.
function newCipher(cipher: StreamCipher, key: KeyObject, nonce: Buffer) {
  return cipher === 'AES-256-GCM'
    ? createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_SIZE })
    : createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_SIZE });
}

function newDecipher(cipher: StreamCipher, key: KeyObject, nonce: Buffer) {
  return cipher === 'AES-256-GCM'
    ? createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_SIZE })
    : createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_SIZE });
}

/** Keeps the byte chunks of an in-progress package without copying them. */
class ChunkQueue {
  private chunks: Buffer[] = [];
  length = 0;
  push(b: Buffer): void {
    if (b.length > 0) {
      this.chunks.push(b);
      this.length += b.length;
    }
  }
  /** Removes and returns the first n bytes as views of the queued chunks. */
  take(n: number): Buffer[] {
    const out: Buffer[] = [];
    while (n > 0) {
      const head = this.chunks[0]!;
      if (head.length <= n) {
        out.push(head);
        this.chunks.shift();
        n -= head.length;
        this.length -= head.length;
      } else {
        out.push(head.subarray(0, n));
        this.chunks[0] = head.subarray(n);
        this.length -= n;
        n = 0;
      }
    }
    return out;
  }
}

function toKey(key: Buffer | KeyObject): KeyObject {
  if (Buffer.isBuffer(key)) {
    if (key.length !== 32) throw new CryptoError('InvalidSealedKey', 'stream key must be 32 bytes');
    return createSecretKey(key);
  }
  return key;
}

/**
 * Plaintext in, ciphertext stream (header first) out. `params` are exposed
 * before any data flows so storage can record them with the sealed key.
 */
export class EncryptStream extends Transform {
  readonly params: StreamParams;
  private readonly key: KeyObject;
  private readonly header: Buffer;
  private readonly prefix: Buffer;
  private readonly P: number;
  private readonly queue = new ChunkQueue();
  private seq = 0;
  private headerSent = false;
  /** plaintext bytes consumed and ciphertext bytes produced, for the caller's bookkeeping */
  plainBytes = 0;
  cipherBytes = 0;

  constructor(key: Buffer | KeyObject, params: StreamParams = newStreamParams()) {
    super({ readableHighWaterMark: 2 * 2 ** params.packageLog2 });
    this.params = params;
    this.key = toKey(key);
    this.header = encodeHeader(params);
    this.prefix = this.header.subarray(9, 16);
    this.P = 2 ** params.packageLog2;
  }

  private out(b: Buffer): void {
    this.cipherBytes += b.length;
    this.push(b);
  }

  private seal(parts: Buffer[], final: boolean): void {
    const c = newCipher(this.params.cipher, this.key, nonceFor(this.prefix, this.seq++, final));
    let len = 0;
    for (const p of parts) len += p.length;
    c.setAAD(this.header, { plaintextLength: len });
    for (const p of parts) this.out(c.update(p));
    const rest = c.final(); // empty for both AEADs, pushed anyway for correctness
    if (rest.length > 0) this.out(rest);
    this.out(c.getAuthTag());
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      if (!this.headerSent) {
        this.headerSent = true;
        this.out(this.header);
      }
      this.plainBytes += chunk.length;
      this.queue.push(chunk);
      // A full package is never the last one (the last is always short), so seal eagerly.
      while (this.queue.length >= this.P) this.seal(this.queue.take(this.P), false);
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    try {
      if (!this.headerSent) {
        this.headerSent = true;
        this.out(this.header);
      }
      this.seal(this.queue.take(this.queue.length), true);
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }
}

export interface DecryptOptions {
  /**
   * Params from metadata. Without `range` the stream must start with the header,
   * which is checked against these when given. With `range` they are required.
   */
  readonly params?: StreamParams;
  /** Decrypt only ciphertext bytes [range.cipherStart, range.cipherEnd) as read by the caller. */
  readonly range?: CiphertextRange;
}

/**
 * Ciphertext in, plaintext out. No byte of a package is released before its
 * tag verified; any failure errors the stream with CorruptCiphertext.
 */
export class DecryptStream extends Transform {
  private readonly key: KeyObject;
  private params: StreamParams | undefined;
  private header: Buffer | undefined;
  private prefix: Buffer | undefined;
  private P = 0;
  private readonly queue = new ChunkQueue();
  private seq: number;
  private readonly range: CiphertextRange | undefined;
  /** plaintext still to drop (range skip) and still to emit (range length), or Infinity */
  private toSkip: number;
  private toEmit: number;

  constructor(key: Buffer | KeyObject, opts: DecryptOptions = {}) {
    super();
    this.key = toKey(key);
    this.range = opts.range;
    this.seq = opts.range?.firstPackage ?? 0;
    this.toSkip = opts.range?.skip ?? 0;
    this.toEmit = opts.range?.length ?? Infinity;
    if (opts.range) {
      if (!opts.params) throw new TypeError('a ranged decrypt needs the stream params from metadata');
      if (opts.range.packageLog2 !== opts.params.packageLog2) throw new TypeError('range computed for another package size');
      this.setParams(opts.params, encodeHeader(opts.params));
    } else if (opts.params) {
      this.params = opts.params; // checked against the header when it arrives
    }
  }

  private setParams(p: StreamParams, header: Buffer): void {
    this.params = p;
    this.header = header;
    this.prefix = header.subarray(9, 16);
    this.P = 2 ** p.packageLog2;
  }

  /** Sequence number of the final package, when the plaintext size is known. */
  private finalSeq(): number | undefined {
    return this.range ? Math.floor(this.range.plainSize / this.P) : undefined;
  }

  private open(parts: Buffer[], cipherLen: number, final: boolean): void {
    const params = this.params!;
    const plainLen = cipherLen - TAG_SIZE;
    const d = newDecipher(params.cipher, this.key, nonceFor(this.prefix!, this.seq, final));
    d.setAAD(this.header!, { plaintextLength: plainLen });
    const outs: Buffer[] = [];
    let fed = 0;
    const tagParts: Buffer[] = [];
    for (const p of parts) {
      const dataPart = fed < plainLen ? p.subarray(0, plainLen - fed) : p.subarray(0, 0);
      if (dataPart.length > 0) outs.push(d.update(dataPart));
      if (dataPart.length < p.length) tagParts.push(p.subarray(dataPart.length));
      fed += p.length;
    }
    d.setAuthTag(tagParts.length === 1 ? tagParts[0]! : Buffer.concat(tagParts));
    try {
      const rest = d.final();
      if (rest.length > 0) outs.push(rest);
    } catch {
      throw corruptCiphertext(`package ${this.seq} failed authentication`);
    }
    this.seq++;
    for (const o of outs) this.emit_(o);
  }

  private emit_(b: Buffer): void {
    if (this.toSkip > 0) {
      const n = Math.min(this.toSkip, b.length);
      b = b.subarray(n);
      this.toSkip -= n;
    }
    if (b.length === 0 || this.toEmit <= 0) return;
    if (b.length > this.toEmit) b = b.subarray(0, this.toEmit);
    this.toEmit -= b.length;
    this.push(b);
  }

  private readHeader(): boolean {
    if (this.header) return true;
    if (this.queue.length < HEADER_SIZE) return false;
    const h = Buffer.concat(this.queue.take(HEADER_SIZE));
    const p = decodeHeader(h);
    if (this.params && (this.params.cipher !== p.cipher || this.params.packageLog2 !== p.packageLog2 || this.params.noncePrefix !== p.noncePrefix)) {
      throw corruptCiphertext('stream header does not match the params in metadata');
    }
    this.setParams(p, h);
    return true;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.queue.push(chunk);
      if (!this.readHeader()) return cb();
      const full = this.P + TAG_SIZE;
      const fin = this.finalSeq();
      // A full-length package is never final. Without a known size we cannot tell
      // a full package from a short final one until more bytes or the end arrive,
      // so keep > full before opening.
      while (this.queue.length > full || (this.queue.length === full && fin !== undefined && this.seq !== fin)) {
        if (fin !== undefined && this.seq >= fin) throw corruptCiphertext('stream longer than its final package');
        if (this.range && this.seq > this.range.lastPackage) throw corruptCiphertext('more ciphertext than the range asked for');
        this.open(this.queue.take(full), full, false);
      }
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    try {
      if (!this.readHeader()) throw corruptCiphertext('stream shorter than its header');
      const fin = this.finalSeq();
      const left = this.queue.length;
      if (this.range && this.seq > this.range.lastPackage) {
        // A range that ends on a package boundary: the final (short) package was not requested.
        if (left !== 0) throw corruptCiphertext('more ciphertext than the range asked for');
      } else if (fin !== undefined && this.seq !== fin) {
        throw corruptCiphertext(left === 0 ? 'stream truncated' : 'stream truncated inside a package');
      } else {
        if (left < TAG_SIZE || left >= this.P + TAG_SIZE) {
          throw corruptCiphertext(left === this.P + TAG_SIZE ? 'final package missing' : 'stream truncated inside a package');
        }
        this.open(this.queue.take(left), left, true);
      }
      if (this.range && this.toEmit !== 0) throw corruptCiphertext('range ended early');
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }
}

export function createEncryptStream(key: Buffer | KeyObject, params?: StreamParams): EncryptStream {
  return new EncryptStream(key, params);
}

export function createDecryptStream(key: Buffer | KeyObject, opts?: DecryptOptions): DecryptStream {
  return new DecryptStream(key, opts);
}
