import type { FastifyReply } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import { customerKeyMd5, kmsContextHeaderValue, parseKmsContextHeader, parseSseCustomerHeaders, parseSseHeader, sseHeaderValue } from '../crypto/sse-headers.js';
import type { ObjectInfo, SseRequest } from '../storage/object-layer.js';
import { invalidArgument } from './s3-error.js';

/**
 * SSE request headers → the storage layer's SseRequest, and SseInfo → the
 * response headers. Validation itself is crypto/sse-headers.ts; its
 * CryptoErrors map to S3 errors in server/errors.ts.
 */

function one(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

const SSE = 'x-amz-server-side-encryption';

/** The customer key of `x-amz-server-side-encryption-customer-*` (prefix '') or of the copy source (prefix 'copy-source-'). */
export function customerKeyFrom(headers: IncomingHttpHeaders, prefix = ''): Buffer | undefined {
  const base = `x-amz-${prefix}server-side-encryption-customer`;
  return parseSseCustomerHeaders({
    algorithm: one(headers, `${base}-algorithm`),
    key: one(headers, `${base}-key`),
    keyMd5: one(headers, `${base}-key-md5`),
  });
}

/** What a write asks for (PUT, CreateMultipartUpload, copy destination); undefined: nothing. */
export function sseWriteRequestFrom(headers: IncomingHttpHeaders): SseRequest | undefined {
  const type = parseSseHeader(one(headers, SSE));
  const keyId = one(headers, `${SSE}-aws-kms-key-id`);
  const context = parseKmsContextHeader(one(headers, `${SSE}-context`));
  const customerKey = customerKeyFrom(headers);
  if (type !== 'SSE-KMS' && (keyId !== undefined || context !== undefined)) {
    throw invalidArgument('Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms', {
      ArgumentName: SSE,
    });
  }
  if (customerKey) {
    if (type !== undefined) throw invalidArgument('Server Side Encryption with Customer provided key is incompatible with the encryption method specified', { ArgumentName: SSE });
    return { type: 'SSE-C', customerKey };
  }
  if (type === 'SSE-S3') return { type: 'SSE-S3' };
  if (type === 'SSE-KMS') return { type: 'SSE-KMS', ...(keyId ? { keyId } : {}), ...(context ? { context } : {}) };
  return undefined;
}

/** The SSE-C key a read (GET, HEAD, UploadPart) presents, as storage takes it. */
export function sseReadRequestFrom(headers: IncomingHttpHeaders, prefix = ''): SseRequest | undefined {
  const customerKey = customerKeyFrom(headers, prefix);
  return customerKey ? { type: 'SSE-C', customerKey } : undefined;
}

/** x-amz-server-side-encryption* response headers for an object (PUT, GET, HEAD, copy, multipart). */
export function writeSseHeaders(reply: FastifyReply, info: Pick<ObjectInfo, 'sse'>, customerKey?: Buffer): void {
  const sse = info.sse;
  if (!sse) return;
  const v = sseHeaderValue(sse.algorithm);
  if (v) reply.header(SSE, v);
  if (sse.algorithm === 'SSE-KMS' && sse.kmsKeyId) reply.header(`${SSE}-aws-kms-key-id`, sse.kmsKeyId);
  if (sse.kmsContext) reply.header(`${SSE}-context`, kmsContextHeaderValue(sse.kmsContext));
  if (sse.algorithm === 'SSE-C') {
    reply.header(`${SSE}-customer-algorithm`, 'AES256');
    if (customerKey) reply.header(`${SSE}-customer-key-md5`, customerKeyMd5(customerKey));
  }
}
