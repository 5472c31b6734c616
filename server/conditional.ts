import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyReply } from 'fastify';
import type { WriteConditions } from '../storage/object-layer.js';
import { httpDate, quoteEtag } from './headers.js';
import { S3Error, notImplemented } from './s3-error.js';

/**
 * HTTP preconditions as S3 evaluates them (RFC 9110 §13.2.2 order):
 *   1. If-Match present: false → 412, and If-Unmodified-Since is then ignored;
 *      absent: If-Unmodified-Since false → 412.
 *   2. If-None-Match present: false (an ETag matches) → 304 on GET/HEAD,
 *      and If-Modified-Since is then ignored; absent: If-Modified-Since false → 304.
 * This gives AWS's documented pairs: If-Match true + If-Unmodified-Since false
 * → 200; If-None-Match false + If-Modified-Since true → 304. Dates compare at
 * one-second resolution (HTTP dates have no more); unparseable dates are
 * ignored, as AWS does. CopyObject's x-amz-copy-source-if-* use the same
 * rules with 412 in place of 304.
 */

export type ReadVerdict = { outcome: 'proceed' } | { outcome: 'not-modified' } | { outcome: 'failed'; condition: string };

interface Names {
  ifMatch: string;
  ifNoneMatch: string;
  ifModifiedSince: string;
  ifUnmodifiedSince: string;
}

const READ: Names = {
  ifMatch: 'if-match',
  ifNoneMatch: 'if-none-match',
  ifModifiedSince: 'if-modified-since',
  ifUnmodifiedSince: 'if-unmodified-since',
};

const COPY_SOURCE: Names = {
  ifMatch: 'x-amz-copy-source-if-match',
  ifNoneMatch: 'x-amz-copy-source-if-none-match',
  ifModifiedSince: 'x-amz-copy-source-if-modified-since',
  ifUnmodifiedSince: 'x-amz-copy-source-if-unmodified-since',
};

/** The header names AWS shows in `<Condition>`. */
const SHOWN: Record<string, string> = {
  'if-match': 'If-Match',
  'if-none-match': 'If-None-Match',
  'if-modified-since': 'If-Modified-Since',
  'if-unmodified-since': 'If-Unmodified-Since',
  'x-amz-copy-source-if-match': 'x-amz-copy-source-If-Match',
  'x-amz-copy-source-if-none-match': 'x-amz-copy-source-If-None-Match',
  'x-amz-copy-source-if-modified-since': 'x-amz-copy-source-If-Modified-Since',
  'x-amz-copy-source-if-unmodified-since': 'x-amz-copy-source-If-Unmodified-Since',
};

function one(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/** `"abc"`, `W/"abc"`, `abc` → `abc`. */
export function bareEtag(s: string): string {
  return s.trim().replace(/^W\//, '').replace(/^"+|"+$/g, '');
}

/** Does an If-Match / If-None-Match list (`*` or comma-separated ETags) match `etag`? */
export function etagListMatches(list: string, etag: string): boolean {
  const bare = bareEtag(etag);
  return list.split(',').some((item) => {
    const t = item.trim();
    return t === '*' || (t !== '' && bareEtag(t) === bare);
  });
}

function httpDateSeconds(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const ms = Date.parse(raw);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

function evaluate(headers: IncomingHttpHeaders, info: { etag: string; modTime: Date }, n: Names): ReadVerdict {
  const modified = Math.floor(info.modTime.getTime() / 1000);
  const ifMatch = one(headers, n.ifMatch);
  if (ifMatch !== undefined) {
    if (!etagListMatches(ifMatch, info.etag)) return { outcome: 'failed', condition: SHOWN[n.ifMatch]! };
  } else {
    const since = httpDateSeconds(one(headers, n.ifUnmodifiedSince));
    if (since !== undefined && modified > since) return { outcome: 'failed', condition: SHOWN[n.ifUnmodifiedSince]! };
  }
  const ifNoneMatch = one(headers, n.ifNoneMatch);
  if (ifNoneMatch !== undefined) {
    if (etagListMatches(ifNoneMatch, info.etag)) return { outcome: 'not-modified' };
  } else {
    const since = httpDateSeconds(one(headers, n.ifModifiedSince));
    if (since !== undefined && modified <= since) return { outcome: 'not-modified' };
  }
  return { outcome: 'proceed' };
}

/** True when a GET/HEAD carries any precondition (so the handler must look before streaming). */
export function hasReadPreconditions(headers: IncomingHttpHeaders): boolean {
  return (
    headers['if-match'] !== undefined ||
    headers['if-none-match'] !== undefined ||
    headers['if-modified-since'] !== undefined ||
    headers['if-unmodified-since'] !== undefined
  );
}

/** GET/HEAD Object preconditions against the current object. */
export function evaluateReadPreconditions(headers: IncomingHttpHeaders, info: { etag: string; modTime: Date }): ReadVerdict {
  return evaluate(headers, info, READ);
}

export const preconditionFailed = (condition: string) =>
  new S3Error('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold', { Condition: condition });

/** CopyObject / UploadPartCopy source preconditions: any failure is 412 PreconditionFailed. */
export function checkCopySourcePreconditions(headers: IncomingHttpHeaders, info: { etag: string; modTime: Date }): void {
  const v = evaluate(headers, info, COPY_SOURCE);
  if (v.outcome === 'failed') throw preconditionFailed(v.condition);
  if (v.outcome === 'not-modified') {
    const cond = headers[COPY_SOURCE.ifNoneMatch] !== undefined ? COPY_SOURCE.ifNoneMatch : COPY_SOURCE.ifModifiedSince;
    throw preconditionFailed(SHOWN[cond]!);
  }
}

/**
 * Conditional writes (PutObject, CompleteMultipartUpload). `If-None-Match: *`
 * and `If-Match: <etag>` go to storage, which re-checks them inside its
 * commit so concurrent writers cannot both win. `If-None-Match: <etag>` (not
 * part of AWS's API, but sent by some clients and the Ceph tests) is returned
 * as `ifNoneMatchEtag` for a best-effort check by the caller.
 */
export function writeConditionsFrom(headers: IncomingHttpHeaders): { conditions?: WriteConditions; ifNoneMatchEtag?: string } {
  const ifMatch = one(headers, 'if-match');
  const ifNoneMatch = one(headers, 'if-none-match');
  const conditions: WriteConditions = {};
  let ifNoneMatchEtag: string | undefined;
  if (ifMatch !== undefined) {
    const t = ifMatch.trim();
    if (t.includes(',')) throw notImplemented('If-Match with a list of ETags is not supported on writes.');
    conditions.ifMatch = t === '*' ? '*' : bareEtag(t);
  }
  if (ifNoneMatch !== undefined) {
    const t = ifNoneMatch.trim();
    if (t === '*') conditions.ifNoneMatch = '*';
    else ifNoneMatchEtag = t;
  }
  const out: { conditions?: WriteConditions; ifNoneMatchEtag?: string } = {};
  if (conditions.ifMatch !== undefined || conditions.ifNoneMatch !== undefined) out.conditions = conditions;
  if (ifNoneMatchEtag !== undefined) out.ifNoneMatchEtag = ifNoneMatchEtag;
  return out;
}

/**
 * GET/HEAD: answer 304 Not Modified (returns true: the caller sends nothing
 * more) or throw 412; false means serve the object. A 304 keeps ETag and
 * Last-Modified, as AWS's does.
 */
export function answeredByPreconditions(
  reply: FastifyReply,
  headers: IncomingHttpHeaders,
  info: { etag: string; modTime: Date },
): boolean {
  const v = evaluateReadPreconditions(headers, info);
  if (v.outcome === 'proceed') return false;
  if (v.outcome === 'failed') throw preconditionFailed(v.condition);
  reply.code(304).header('etag', quoteEtag(info.etag)).header('last-modified', httpDate(info.modTime)).send();
  return true;
}

/** `If-None-Match: <etag>` on a write: refused when the current object has that ETag. Not atomic (see writeConditionsFrom). */
export async function refuseIfNoneMatchEtag(list: string, current: () => Promise<{ etag: string } | undefined>): Promise<void> {
  const cur = await current();
  if (cur && etagListMatches(list, cur.etag)) throw preconditionFailed('If-None-Match');
}
