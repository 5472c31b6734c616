import type { IncomingHttpHeaders } from 'node:http';
import { parseChecksumAlgorithm, type ChecksumAlgorithm } from '../../core/checksums.js';
import { invalidRequest } from '../s3-error.js';
import { missingSecurityHeader } from './errors.js';

const PREFIX = 'x-amz-checksum-';

/**
 * The checksum a trailer-mode request announces in x-amz-trailer. S3 accepts exactly
 * one trailing header and it must be an x-amz-checksum-* header.
 */
export function trailerAlgorithm(headers: IncomingHttpHeaders): ChecksumAlgorithm {
  const raw = headers['x-amz-trailer'];
  if (raw === undefined) throw missingSecurityHeader('x-amz-trailer');
  const value = (Array.isArray(raw) ? raw.join(',') : String(raw)).trim().toLowerCase();
  const alg = value.startsWith(PREFIX) ? parseChecksumAlgorithm(value.slice(PREFIX.length)) : undefined;
  if (!alg) throw invalidRequest(`The value specified in the x-amz-trailer header is not supported: ${value}`);
  return alg;
}
