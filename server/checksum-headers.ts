import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyReply } from 'fastify';
import { CHECKSUM_ALGORITHMS, checksumHeaderName, isValidChecksumValue, parseChecksumAlgorithm } from '../core/checksums.js';
import type { ChecksumAlgorithm, ChecksumRequest, ChecksumType, Checksums } from '../storage/object-layer.js';
import { invalidRequest } from './s3-error.js';
import type { XmlChild } from './xml.js';

/**
 * x-amz-checksum-* beyond a single PUT: the algorithm and type a multipart
 * upload is created with, what each part must carry, the full-object value a
 * CompleteMultipartUpload may assert, and how checksums are shown in headers
 * and XML. The single-PUT parser (checksumRequestFrom) lives in headers.ts.
 */

function one(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

const lower = (alg: ChecksumAlgorithm) => alg.toLowerCase();

/** AWS's message for an algorithm name it does not know. */
const unsupportedAlgorithm = () =>
  invalidRequest(
    'Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]',
  );

export function parseChecksumType(raw: string | undefined): ChecksumType | undefined {
  if (raw === undefined) return undefined;
  const t = raw.trim().toUpperCase();
  if (t === 'COMPOSITE' || t === 'FULL_OBJECT') return t;
  throw invalidRequest('Value for x-amz-checksum-type header is invalid.');
}

/**
 * CreateMultipartUpload's x-amz-checksum-algorithm / x-amz-checksum-type.
 * COMPOSITE is the default except for CRC64NVME, which only exists as
 * FULL_OBJECT; SHA digests cannot be combined, so they are COMPOSITE only.
 */
export function multipartChecksumFrom(
  headers: IncomingHttpHeaders,
): { checksumAlgorithm: ChecksumAlgorithm; checksumType: ChecksumType } | undefined {
  const rawAlg = one(headers, 'x-amz-checksum-algorithm');
  const type = parseChecksumType(one(headers, 'x-amz-checksum-type'));
  if (rawAlg === undefined) {
    if (type !== undefined) {
      throw invalidRequest('The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.');
    }
    return undefined;
  }
  const alg = parseChecksumAlgorithm(rawAlg);
  if (!alg) throw unsupportedAlgorithm();
  const resolved: ChecksumType = type ?? (alg === 'CRC64NVME' ? 'FULL_OBJECT' : 'COMPOSITE');
  if (resolved === 'COMPOSITE' && alg === 'CRC64NVME') {
    throw invalidRequest('The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm.');
  }
  if (resolved === 'FULL_OBJECT' && (alg === 'SHA1' || alg === 'SHA256')) {
    throw invalidRequest(`The FULL_OBJECT checksum type cannot be used with the ${lower(alg)} checksum algorithm.`);
  }
  return { checksumAlgorithm: alg, checksumType: resolved };
}

/**
 * The checksum an UploadPart is stored with. A part of an upload created with
 * an algorithm is always checksummed with it (computed when the client sent
 * none), and may not bring another one; parts of uploads without one keep
 * whatever the client sent.
 */
export function partChecksumRequest(
  sent: ChecksumRequest | undefined,
  uploadAlgorithm: ChecksumAlgorithm | undefined,
): ChecksumRequest | undefined {
  if (uploadAlgorithm === undefined) return sent;
  if (sent === undefined) return { algorithm: uploadAlgorithm };
  if (sent.algorithm !== uploadAlgorithm) {
    throw invalidRequest(
      `Checksum Type mismatch occurred, expected checksum Type: ${lower(uploadAlgorithm)}, actual checksum Type: ${lower(sent.algorithm)}`,
    );
  }
  return sent;
}

/**
 * Every valid x-amz-checksum-<alg> header present. CompleteMultipartUpload
 * (`composite`) may assert a composite value, `<base64>-<parts>`.
 */
export function checksumValuesFrom(headers: IncomingHttpHeaders, composite = false): Checksums {
  const out: Checksums = {};
  for (const alg of CHECKSUM_ALGORITHMS) {
    const v = one(headers, checksumHeaderName(alg));
    if (v === undefined) continue;
    const value = v.trim();
    const digest = composite ? value.replace(/-\d{1,5}$/, '') : value;
    if (!isValidChecksumValue(alg, digest)) throw invalidRequest(`Value for ${checksumHeaderName(alg)} header is invalid.`);
    out[alg] = value;
  }
  return out;
}

/** x-amz-checksum-mode: ENABLED — checksums are only shown on GET/HEAD when asked for. */
export function checksumModeEnabled(headers: IncomingHttpHeaders): boolean {
  const v = one(headers, 'x-amz-checksum-mode');
  return v !== undefined && v.trim().toUpperCase() === 'ENABLED';
}

/** `x-amz-checksum-<alg>` for each value, and `x-amz-checksum-type` when there is any. */
export function writeChecksumHeaders(reply: FastifyReply, checksums: Checksums, type: ChecksumType | undefined): void {
  let any = false;
  for (const alg of CHECKSUM_ALGORITHMS) {
    const v = checksums[alg];
    if (v === undefined) continue;
    reply.header(checksumHeaderName(alg), v);
    any = true;
  }
  if (any && type) reply.header('x-amz-checksum-type', type);
}

/** `<ChecksumCRC32>…</ChecksumCRC32>` elements, in AWS's order. */
export function checksumXml(checksums: Checksums): XmlChild[] {
  return CHECKSUM_ALGORITHMS.map((alg): XmlChild => {
    const v = checksums[alg];
    return v === undefined ? undefined : [`Checksum${alg}`, v];
  });
}

/** The inverse of checksumXml for a parsed `<Part>` (CompleteMultipartUpload): unknown values are malformed. */
export function checksumsFromXml(el: Record<string, unknown>, text: (v: unknown) => string | undefined): Checksums {
  const out: Checksums = {};
  for (const alg of CHECKSUM_ALGORITHMS) {
    const v = text(el[`Checksum${alg}`]);
    if (v === undefined) continue;
    if (!isValidChecksumValue(alg, v.trim())) throw invalidRequest(`Value for Checksum${alg} is invalid.`);
    out[alg] = v.trim();
  }
  return out;
}
