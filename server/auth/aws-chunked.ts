/**
 * Decoder for aws-chunked bodies (the framing behind the STREAMING-* payload modes):
 *
 *   <hex-size>[;chunk-signature=<sig>]\r\n <data> \r\n ... 0[;chunk-signature=<sig>]\r\n [trailers] \r\n
 *
 * Hand-rolled state machine over the incoming buffers: data is pushed downstream as
 * slices of the input (never copied), chunk signatures are checked with a SHA-256
 * updated as the data streams, and at most one chunk-header/trailer line is held.
 * Data of a chunk reaches the consumer before that chunk's signature is checked; a
 * bad signature errors the stream before it ends, and consumers only commit on a
 * clean end, so nothing unverified is ever stored.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { checksumHeaderName, isValidChecksumValue, type ChecksumAlgorithm } from '../../core/checksums.js';
import { invalidRequest, signatureDoesNotMatch, type S3Error } from '../s3-error.js';
import { incompleteBody, malformedChunkedBody, malformedTrailer } from './errors.js';
import { EMPTY_SHA256, hmacHex, sha256Hex, signaturesEqual } from './signing.js';

export interface ChunkSigning {
  key: Buffer;
  /** yyyymmddThhmmssZ of the request. */
  amzDate: string;
  scope: string;
  /** The request's seed signature; the chain starts from it. */
  seedSignature: string;
}

export interface AwsChunkedOptions {
  /** x-amz-decoded-content-length: the decoded total must equal it. */
  decodedLength: number;
  /** Present for signed modes: every chunk (and the trailer, if any) must carry a valid signature. */
  signing?: ChunkSigning;
  /** Present for trailer modes: the checksum x-amz-trailer announced. */
  trailer?: ChecksumAlgorithm;
}

const enum State {
  Header,
  Data,
  DataCR,
  DataLF,
  /** After the 0-size chunk in non-trailer modes: the closing CRLF. */
  FinalCRLF,
  Trailer,
  Done,
}

const MAX_LINE = 4096;
const MAX_TRAILER_BYTES = 16 * 1024;
const CHUNK_SIG_PREFIX = 'chunk-signature=';
const SIG_RE = /^[0-9a-f]{64}$/;

export class AwsChunkedDecoder extends Transform {
  private state = State.Header;
  private line = '';
  private remaining = 0;
  private total = 0;
  private hash: Hash | undefined;
  private expectedSig = '';
  private prevSig: string;
  private trailerLines: [string, string][] = [];
  private trailerBytes = 0;
  private trailerValue: string | undefined;

  constructor(private readonly opts: AwsChunkedOptions) {
    super();
    this.prevSig = opts.signing?.seedSignature ?? '';
  }

  /** The trailer checksum's base64 value, once the stream has ended cleanly. */
  trailerChecksum(): string | undefined {
    return this.trailerValue;
  }

  override _transform(buf: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.consume(buf);
      cb();
    } catch (err) {
      this.state = State.Done;
      cb(err as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    try {
      this.finish();
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  private consume(buf: Buffer): void {
    const n = buf.length;
    let i = 0;
    while (i < n) {
      switch (this.state) {
        case State.Data: {
          const take = Math.min(this.remaining, n - i);
          const slice = i === 0 && take === n ? buf : buf.subarray(i, i + take);
          this.hash?.update(slice);
          this.push(slice);
          i += take;
          this.remaining -= take;
          if (this.remaining === 0) {
            if (this.opts.signing) this.verifyChunk(this.hash!.digest('hex'));
            this.state = State.DataCR;
          }
          break;
        }
        case State.Header:
        case State.Trailer: {
          const nl = buf.indexOf(10, i);
          const end = nl < 0 ? n : nl;
          this.line += buf.toString('latin1', i, end);
          if (this.state === State.Header && this.line.length > MAX_LINE) throw malformedChunkedBody('chunk header too long');
          if (this.state === State.Trailer && this.trailerBytes + this.line.length > MAX_TRAILER_BYTES) throw malformedTrailer('trailer too long');
          if (nl < 0) return;
          i = nl + 1;
          const line = this.line;
          this.line = '';
          if (this.state === State.Header) {
            if (!line.endsWith('\r')) throw malformedChunkedBody('chunk header not terminated by CRLF');
            this.onHeader(line.slice(0, -1));
          } else {
            // Trailers are header lines; tolerate a bare LF as HTTP parsers do.
            this.onTrailerLine(line.endsWith('\r') ? line.slice(0, -1) : line);
          }
          break;
        }
        case State.DataCR:
          if (buf[i] !== 13) throw malformedChunkedBody('chunk data longer than its declared size, or CRLF missing after it');
          i++;
          this.state = State.DataLF;
          break;
        case State.DataLF:
          if (buf[i] !== 10) throw malformedChunkedBody('CRLF missing after chunk data');
          i++;
          this.state = State.Header;
          break;
        case State.FinalCRLF:
        case State.Done:
          // Only line ends may follow the final chunk; anything else is smuggled data.
          if (buf[i] !== 13 && buf[i] !== 10) throw malformedChunkedBody('data after the final chunk');
          i++;
          break;
      }
    }
  }

  private onHeader(line: string): void {
    const semi = line.indexOf(';');
    const sizeHex = semi < 0 ? line : line.slice(0, semi);
    if (!/^[0-9a-fA-F]{1,16}$/.test(sizeHex)) throw malformedChunkedBody(`bad chunk size "${sizeHex.slice(0, 32)}"`);
    const size = parseInt(sizeHex, 16);
    if (this.opts.signing) {
      const ext = semi < 0 ? '' : line.slice(semi + 1);
      if (!ext.startsWith(CHUNK_SIG_PREFIX)) throw malformedChunkedBody('chunk-signature missing');
      this.expectedSig = ext.slice(CHUNK_SIG_PREFIX.length).toLowerCase();
      if (!SIG_RE.test(this.expectedSig)) throw malformedChunkedBody('malformed chunk-signature');
    }
    if (size > this.opts.decodedLength - this.total) {
      throw incompleteBody('The aws-chunked body is longer than x-amz-decoded-content-length.');
    }
    if (size === 0) {
      if (this.opts.signing) this.verifyChunk(EMPTY_SHA256);
      if (this.total !== this.opts.decodedLength) throw incompleteBody();
      this.state = this.opts.trailer ? State.Trailer : State.FinalCRLF;
      return;
    }
    this.total += size;
    this.remaining = size;
    if (this.opts.signing) this.hash = createHash('sha256');
    this.state = State.Data;
  }

  /** Chunk string to sign: AWS4-HMAC-SHA256-PAYLOAD, date, scope, previous signature, hash(""), hash(data). */
  private verifyChunk(dataHash: string): void {
    const s = this.opts.signing!;
    const sts = `AWS4-HMAC-SHA256-PAYLOAD\n${s.amzDate}\n${s.scope}\n${this.prevSig}\n${EMPTY_SHA256}\n${dataHash}`;
    const sig = hmacHex(s.key, sts);
    if (!signaturesEqual(sig, this.expectedSig)) throw chunkSignatureMismatch(sts, this.expectedSig);
    this.prevSig = sig;
  }

  private onTrailerLine(line: string): void {
    if (line === '') {
      // Some clients put an empty line between the 0-size chunk and the trailers;
      // an empty line after at least one trailer ends the trailer section.
      if (this.trailerLines.length > 0) this.endTrailer();
      return;
    }
    this.trailerBytes += line.length + 2;
    const colon = line.indexOf(':');
    if (colon <= 0) throw malformedTrailer('trailer line without a name');
    this.trailerLines.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]);
  }

  private endTrailer(): void {
    const alg = this.opts.trailer!;
    const wanted = checksumHeaderName(alg);
    let value: string | undefined;
    let signature: string | undefined;
    let canonical = '';
    for (const [name, v] of this.trailerLines) {
      if (name === 'x-amz-trailer-signature') {
        signature = v;
        continue;
      }
      if (name === wanted) value = v;
      else if (name.startsWith('x-amz-checksum-')) {
        throw invalidRequest(`The trailer ${name} does not match the checksum announced in x-amz-trailer (${wanted}).`);
      } else throw malformedTrailer(`undeclared trailer ${name}`);
      canonical += `${name}:${v}\n`;
    }
    if (value === undefined) throw malformedTrailer(`missing trailer ${wanted}`);
    const s = this.opts.signing;
    if (s) {
      if (signature === undefined) throw malformedTrailer('missing x-amz-trailer-signature');
      const sts = `AWS4-HMAC-SHA256-TRAILER\n${s.amzDate}\n${s.scope}\n${this.prevSig}\n${sha256Hex(canonical)}`;
      if (!signaturesEqual(hmacHex(s.key, sts), signature)) throw chunkSignatureMismatch(sts, signature);
    }
    if (!isValidChecksumValue(alg, value)) throw invalidRequest(`Value for ${wanted} trailing header is invalid.`);
    this.trailerValue = value;
    this.state = State.Done;
  }

  private finish(): void {
    switch (this.state) {
      case State.Done:
      case State.FinalCRLF: // tolerated: the closing CRLF after the 0-size chunk is missing
        return;
      case State.Trailer:
        // The last trailer line may end the body without a CRLF or a closing empty line.
        if (this.line !== '') {
          this.onTrailerLine(this.line.endsWith('\r') ? this.line.slice(0, -1) : this.line);
          this.line = '';
        }
        if (this.trailerLines.length === 0) throw malformedTrailer(`missing trailer ${checksumHeaderName(this.opts.trailer!)}`);
        this.endTrailer();
        return;
      default:
        throw incompleteBody();
    }
  }
}

const chunkSignatureMismatch = (sts: string, provided: string): S3Error =>
  signatureDoesNotMatch({ StringToSign: sts, SignatureProvided: provided });
