import { S3Error, accessDenied } from './s3-error.js';

/**
 * The policy document of a browser POST upload (AWS "POST Object"): a base64
 * JSON `{ expiration, conditions }` that the form's signature covers. Parsing
 * problems are the client's document being wrong (400 InvalidPolicyDocument);
 * a form that breaks a well-formed policy is refused with 403 AccessDenied,
 * as AWS words it ("Invalid according to Policy: ...").
 *
 * Field names are matched case-insensitively (forms and conditions alike),
 * values case-sensitively, as AWS does.
 */

export type PolicyCondition =
  | { kind: 'eq'; field: string; value: string }
  | { kind: 'starts-with'; field: string; prefix: string }
  | { kind: 'content-length-range'; min: number; max: number };

export interface PostPolicy {
  expiration: Date;
  conditions: PolicyCondition[];
}

/** Form fields that no condition needs to cover (AWS: the file, the policy, the signature, x-ignore-*; x-amz-checksum-* below). */
const EXEMPT = new Set(['file', 'policy', 'x-amz-signature', 'signature', 'awsaccesskeyid']);

const invalidPolicy = (msg: string) => new S3Error('InvalidPolicyDocument', 400, `Invalid Policy: ${msg}`);

/** ISO 8601 in UTC with a Z, as AWS accepts: `2026-01-01T00:00:00Z` or with milliseconds. */
const EXPIRATION = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

export function parsePostPolicy(base64: string): PostPolicy {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(base64, 'base64').toString('utf8'));
  } catch {
    throw invalidPolicy('Invalid JSON.');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw invalidPolicy('Invalid JSON.');
  const d = doc as Record<string, unknown>;
  // Keys are case-sensitive: `EXPIRATION` or `CONDITIONS` is no policy at all.
  const exp = d['expiration'];
  if (exp === undefined) throw invalidPolicy('Policy missing expiration.');
  if (typeof exp !== 'string' || !EXPIRATION.test(exp) || Number.isNaN(Date.parse(exp))) {
    throw invalidPolicy('Invalid \'expiration\' value: must be ISO 8601 in UTC.');
  }
  const list = d['conditions'];
  if (list === undefined) throw invalidPolicy('Policy missing conditions.');
  if (!Array.isArray(list)) throw invalidPolicy('Policy conditions must be a list.');
  return { expiration: new Date(exp), conditions: list.map(parseCondition) };
}

function parseCondition(c: unknown): PolicyCondition {
  if (Array.isArray(c)) {
    const [op, a, b] = c as unknown[];
    const name = typeof op === 'string' ? op.toLowerCase() : '';
    if (name === 'content-length-range') {
      if (c.length !== 3) throw invalidPolicy('Invalid content-length-range condition: needs a minimum and a maximum.');
      const min = lengthBound(a);
      const max = lengthBound(b);
      if (min > max) throw invalidPolicy('Invalid content-length-range condition: minimum exceeds maximum.');
      return { kind: 'content-length-range', min, max };
    }
    if ((name === 'eq' || name === 'starts-with') && c.length === 3 && typeof a === 'string' && typeof b === 'string') {
      if (!a.startsWith('$')) throw invalidPolicy(`Condition field name must start with '$': ${a}`);
      const field = a.slice(1).toLowerCase();
      return name === 'eq' ? { kind: 'eq', field, value: b } : { kind: 'starts-with', field, prefix: b };
    }
    throw invalidPolicy(`Invalid condition: ${JSON.stringify(c)}`);
  }
  if (typeof c === 'object' && c !== null) {
    // `{ "field": "value" }` is shorthand for eq; exactly one pair.
    const entries = Object.entries(c);
    const [first] = entries;
    if (entries.length !== 1 || first === undefined || typeof first[1] !== 'string') {
      throw invalidPolicy(`Invalid simple condition: ${JSON.stringify(c)}`);
    }
    return { kind: 'eq', field: first[0].replace(/^\$/, '').toLowerCase(), value: first[1] };
  }
  throw invalidPolicy(`Invalid condition: ${JSON.stringify(c)}`);
}

function lengthBound(v: unknown): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw invalidPolicy('Invalid content-length-range bound: must be a non-negative integer.');
  }
  return n;
}

/**
 * Check the form (field names lower-cased, the bucket included) against the
 * policy. Returns the byte range the file must fall in; the size itself can
 * only be judged while the file streams.
 */
export function checkPostPolicy(
  policy: PostPolicy,
  fields: ReadonlyMap<string, string>,
  now: Date = new Date(),
): { min: number; max: number } | undefined {
  if (policy.expiration.getTime() <= now.getTime()) throw accessDenied('Invalid according to Policy: Policy expired.');
  const covered = new Set<string>();
  let range: { min: number; max: number } | undefined;
  for (const c of policy.conditions) {
    if (c.kind === 'content-length-range') {
      range = { min: c.min, max: c.max };
      continue;
    }
    covered.add(c.field);
    const value = fields.get(c.field) ?? '';
    const ok = c.kind === 'eq' ? value === c.value : startsWith(c.field, value, c.prefix);
    if (!ok) {
      const shown = c.kind === 'eq' ? ['eq', `$${c.field}`, c.value] : ['starts-with', `$${c.field}`, c.prefix];
      throw accessDenied(`Invalid according to Policy: Policy Condition failed: ${JSON.stringify(shown)}`);
    }
  }
  // Checksums describe the file, not the request: like the file they need no condition.
  const extra = [...fields.keys()].filter((f) => !EXEMPT.has(f) && !/^x-(ignore|amz-checksum)-/.test(f) && !covered.has(f));
  if (extra.length > 0) throw accessDenied(`Invalid according to Policy: Extra input fields: ${extra.join(', ')}`);
  return range;
}

/** Content-Type may list several types separated by commas (AWS); each must match the prefix. */
function startsWith(field: string, value: string, prefix: string): boolean {
  if (field === 'content-type' && value.includes(',')) return value.split(',').every((v) => v.trim().startsWith(prefix));
  return value.startsWith(prefix);
}
