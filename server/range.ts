import type { ByteRange } from '../storage/object-layer.js';
import { S3Error } from './s3-error.js';

/**
 * HTTP Range for GET Object, as S3 applies RFC 9110:
 * - `bytes=a-b`, `bytes=a-`, `bytes=-n`; an end past the object is clamped.
 * - a syntactically invalid header, another unit, or several ranges is ignored:
 *   the whole object is served with 200 (S3 does not do multipart/byteranges).
 * - a valid but unsatisfiable range (start ≥ size, `-0`, any range of an empty
 *   object) is 416 InvalidRange with `Content-Range: bytes * /size`.
 */
export type ParsedRange =
  | { kind: 'none' }
  | { kind: 'first-last'; first: number; last?: number }
  | { kind: 'suffix'; length: number };

export function parseRange(header: string | undefined): ParsedRange {
  if (header === undefined) return { kind: 'none' };
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) return { kind: 'none' };
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') return { kind: 'none' };
  if (a === '') return { kind: 'suffix', length: Number(b) };
  const first = Number(a);
  if (b === '') return { kind: 'first-last', first };
  const last = Number(b);
  // `bytes=5-3` is invalid syntax: ignore it, like AWS.
  if (last < first) return { kind: 'none' };
  return { kind: 'first-last', first, last };
}

export class RangeNotSatisfiable extends S3Error {
  constructor(readonly size: number) {
    super('InvalidRange', 416, 'The requested range is not satisfiable', { RangeRequested: '', ActualObjectSize: String(size) });
  }
}

/** Resolve against the object size. Undefined: serve everything. */
export function resolveRange(r: ParsedRange, size: number, header: string): ByteRange | undefined {
  if (r.kind === 'none') return undefined;
  const unsatisfiable = () => {
    const e = new RangeNotSatisfiable(size);
    e.extra.RangeRequested = header;
    return e;
  };
  if (r.kind === 'suffix') {
    if (r.length === 0 || size === 0) throw unsatisfiable();
    return { start: Math.max(0, size - r.length), end: size - 1 };
  }
  if (r.first >= size) throw unsatisfiable();
  return { start: r.first, end: Math.min(r.last ?? size - 1, size - 1) };
}
