import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { ChecksumAlgorithm } from '../../core/checksums.js';

/** Where secrets come from (iam/ or a static config implements it). */
export interface CredentialStore {
  lookup(accessKey: string): Promise<{ secretKey: string } | undefined>;
}

export interface AuthInput {
  method: string;
  /** Path + query exactly as received on the request line, not decoded. */
  rawUrl: string;
  /** Lower-case names, as node:http gives them. */
  headers: IncomingHttpHeaders;
  /**
   * Optional: node's `req.rawHeaders`. When given, repeated headers are joined with ','
   * as SigV4 requires (IncomingHttpHeaders joins most with ', ' and drops duplicates of some).
   */
  rawHeaders?: readonly string[];
}

/**
 * How the body is protected:
 * - signed: x-amz-content-sha256 is the hex SHA-256 of the body
 * - unsigned: UNSIGNED-PAYLOAD
 * - streaming-signed: aws-chunked, each chunk signed (STREAMING-AWS4-HMAC-SHA256-PAYLOAD)
 * - streaming-signed-trailer: same plus a signed trailer (…-PAYLOAD-TRAILER)
 * - streaming-unsigned-trailer: aws-chunked without signatures, trailer checksum (STREAMING-UNSIGNED-PAYLOAD-TRAILER)
 * - presigned: query-string auth; body unsigned unless contentSha256 is set
 */
export type PayloadMode =
  | 'signed'
  | 'unsigned'
  | 'streaming-signed'
  | 'streaming-signed-trailer'
  | 'streaming-unsigned-trailer'
  | 'presigned';

export interface AuthContext {
  accessKey: string;
  region: string;
  /** The request's signing time (X-Amz-Date or Date). */
  date: Date;
  /** Credential scope: `<yyyymmdd>/<region>/s3/aws4_request`. */
  scope: string;
  /** Derived SigV4 key; chunk and trailer signatures chain from it. */
  signingKey: Buffer;
  /** The request (seed) signature, lower-case hex. */
  signature: string;
  payloadMode: PayloadMode;
  /** Lower-case hex SHA-256 the body must hash to, when the payload is signed. */
  contentSha256?: string;
  /**
   * x-amz-security-token (header or X-Amz-Security-Token), when sent. Not validated
   * here: the credential store / iam must check it for temporary credentials.
   */
  securityToken?: string;
}

export interface DecodedBody {
  stream: Readable;
  /** Decoded size when known: x-amz-decoded-content-length for aws-chunked, content-length otherwise. */
  size?: number;
  /** Trailer checksum declared by x-amz-trailer; value available after the stream ends. */
  trailer?: { algorithm: ChecksumAlgorithm; value: () => string | undefined };
  /** Content-Encoding with 'aws-chunked' removed; undefined if nothing is left. */
  contentEncoding?: string;
}
