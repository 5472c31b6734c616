/**
 * Turns the raw request body into the object bytes, checking whatever the request's
 * payload mode promises: a whole-body SHA-256, aws-chunked chunk signatures, a
 * trailer. Failures surface as an S3Error on the returned stream, before it ends.
 */
import { createHash, type Hash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { finished, Transform, type Readable, type TransformCallback } from 'node:stream';
import { invalidArgument } from '../s3-error.js';
import { AwsChunkedDecoder } from './aws-chunked.js';
import { missingSecurityHeader, xAmzContentSha256Mismatch } from './errors.js';
import { formatAmzDate } from './signing.js';
import { trailerAlgorithm } from './trailer.js';
import type { AuthContext, DecodedBody } from './types.js';

/** Passes the body through unchanged and fails at the end if its SHA-256 differs from the signed one. */
class Sha256Verifier extends Transform {
  private readonly hash: Hash = createHash('sha256');
  constructor(private readonly expected: string) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    const got = this.hash.digest('hex');
    cb(got === this.expected ? null : xAmzContentSha256Mismatch(this.expected, got));
  }
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return v === undefined ? undefined : Array.isArray(v) ? v.join(',') : String(v);
}

function parseLength(v: string | undefined): number | undefined {
  if (v === undefined || !/^\d{1,16}$/.test(v.trim())) return undefined;
  const n = Number(v.trim());
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * raw.pipe(out), and if raw fails or closes early (client went away) `out` fails too,
 * so a truncated upload can never look complete. Not pipeline(): when `out` fails
 * (say a bad signature) the request must stay alive to carry the error response.
 */
function forwardFailure(raw: Readable, out: Transform): void {
  finished(raw, { writable: false }, (err) => {
    if (err) out.destroy(err);
  });
  raw.pipe(out);
}

/** Content-Encoding minus 'aws-chunked' (S3 stores the rest, e.g. gzip, and otherwise the value as sent). */
function strippedEncoding(headers: IncomingHttpHeaders): string | undefined {
  const v = header(headers, 'content-encoding');
  if (v === undefined) return undefined;
  if (!/aws-chunked/i.test(v)) return v.trim() === '' ? undefined : v;
  const rest = v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '' && s.toLowerCase() !== 'aws-chunked');
  return rest.length ? rest.join(', ') : undefined;
}

export function decodeBody(raw: Readable, ctx: AuthContext, headers: IncomingHttpHeaders): DecodedBody {
  const contentEncoding = strippedEncoding(headers);
  const withEncoding = <T extends object>(o: T): T & { contentEncoding?: string } =>
    contentEncoding !== undefined ? { ...o, contentEncoding } : o;

  switch (ctx.payloadMode) {
    case 'signed':
    case 'unsigned':
    case 'presigned': {
      const size = parseLength(header(headers, 'content-length'));
      let stream: Readable = raw;
      if (ctx.contentSha256 !== undefined) {
        const verifier = new Sha256Verifier(ctx.contentSha256);
        forwardFailure(raw, verifier);
        stream = verifier;
      }
      return withEncoding({ stream, ...(size !== undefined ? { size } : {}) });
    }
    case 'streaming-signed':
    case 'streaming-signed-trailer':
    case 'streaming-unsigned-trailer': {
      const decodedLength = parseLength(header(headers, 'x-amz-decoded-content-length'));
      if (header(headers, 'x-amz-decoded-content-length') === undefined) throw missingSecurityHeader('x-amz-decoded-content-length');
      if (decodedLength === undefined) throw invalidArgument('x-amz-decoded-content-length must be a non-negative integer');
      const algorithm = ctx.payloadMode === 'streaming-signed' ? undefined : trailerAlgorithm(headers);
      const decoder = new AwsChunkedDecoder({
        decodedLength,
        ...(ctx.payloadMode !== 'streaming-unsigned-trailer'
          ? { signing: { key: ctx.signingKey, amzDate: formatAmzDate(ctx.date), scope: ctx.scope, seedSignature: ctx.signature } }
          : {}),
        ...(algorithm ? { trailer: algorithm } : {}),
      });
      forwardFailure(raw, decoder);
      return withEncoding({
        stream: decoder,
        size: decodedLength,
        ...(algorithm ? { trailer: { algorithm, value: () => decoder.trailerChecksum() } } : {}),
      });
    }
  }
}
