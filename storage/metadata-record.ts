import { Packr } from 'msgpackr';
import type { StreamParams } from '../crypto/package-format.js';
import type { SealedObjectKey } from '../crypto/sse.js';
import type { ErasureLayout } from '../erasure/types.js';
import type { ChecksumAlgorithm, ChecksumType, Checksums, ContentHeaders } from './object-layer.js';

/**
 * On-disk metadata records (values in each drive's LMDB env). Every value starts
 * with the magic `CR`, a kind byte and a version byte; decoders switch on the
 * version so later issues can add v2 and upgrade v1 when read. The body is
 * msgpack (plain maps, no shared structures: a record must decode alone).
 * List entries are a tiny hand-rolled binary format because listing decodes
 * millions of them.
 */

export interface ObjectPartRecord {
  number: number;
  size: number;
  /** Hex MD5 of the part. */
  etag: string;
  modTime: number;
  checksums: Checksums;
  /** File name inside the object's data dir (`part.1` for a single PUT). */
  file: string;
  /** SSE: this part's stream params; `size` stays the plaintext size, the shards hold encryptedSize(size). */
  sse?: StreamParams;
}

/** SSE of an object or upload: the sealed object key (crypto/sse.ts), never the key itself. Additive: v2 records without it are plaintext. */
export interface SseRecord {
  sealed: SealedObjectKey;
  /** Parts are keyed streamKey(objectKey, part number); a single PUT uses part number 0. */
  multipart?: boolean;
}

export interface ObjectRecord {
  /** 'null' for unversioned writes; (modTime, versionId, dataDir) orders racing writes. */
  versionId: string;
  modTime: number;
  /** Random uuid naming `data/<2>/<dataDir>/`; unique per write, so overwrites never mix shards. */
  dataDir: string;
  size: number;
  etag: string;
  checksums: Checksums;
  checksumType?: ChecksumType;
  headers: ContentHeaders;
  userMetadata: Record<string, string>;
  storageClass: string;
  layout: ErasureLayout;
  /** This drive's own framed shard bytes when the object is stored inline. */
  inline?: Buffer;
  parts: ObjectPartRecord[];
  // Reserved for the issues that come next (versioning, tagging, object lock, SSE).
  deleteMarker?: boolean;
  tags?: Record<string, string>;
  retention?: { mode: string; until: number };
  legalHold?: boolean;
  sse?: SseRecord;
}

export interface BucketRecord {
  name: string;
  created: number;
  // Reserved: versioning, policy, lifecycle, encryption configuration.
  versioning?: 'Enabled' | 'Suspended';
  config?: Record<string, unknown>;
}

export interface UploadRecord {
  bucket: string;
  key: string;
  uploadId: string;
  initiated: number;
  /** Where the parts live: `data/<2>/<dataDir>/part.N.<id>`. */
  dataDir: string;
  storageClass: string;
  layout: ErasureLayout;
  headers: ContentHeaders;
  userMetadata: Record<string, string>;
  checksumAlgorithm?: ChecksumAlgorithm;
  checksumType?: ChecksumType;
  sse?: SseRecord;
}

export interface PartRecord extends ObjectPartRecord {
  /** Random per upload of this part number; tie-breaks racing re-uploads. */
  writeId: string;
}

/** What listing needs, kept small. Identity (modTime, versionId, dataDir) matches the full record. */
export interface ListEntry {
  modTime: number;
  size: number;
  versionId: string;
  dataDir: string;
  etag: string;
  storageClass: string;
}

const MAGIC0 = 0x43; // 'C'
const MAGIC1 = 0x52; // 'R'
const KIND = { object: 0x4f, bucket: 0x42, upload: 0x55, part: 0x50, list: 0x4c } as const;
type Kind = keyof typeof KIND;
const CURRENT_VERSION = 1;

const packr = new Packr({ useRecords: false, mapsAsObjects: true });

function encode(kind: Kind, value: object): Buffer {
  const body = packr.pack(value);
  const out = Buffer.allocUnsafe(4 + body.length);
  out[0] = MAGIC0;
  out[1] = MAGIC1;
  out[2] = KIND[kind];
  out[3] = CURRENT_VERSION;
  body.copy(out, 4);
  return out;
}

function header(kind: Kind, buf: Uint8Array): number {
  if (buf.length < 4 || buf[0] !== MAGIC0 || buf[1] !== MAGIC1 || buf[2] !== KIND[kind]) {
    throw new Error(`not a ${kind} metadata record`);
  }
  return buf[3]!;
}

function decode<T>(kind: Kind, buf: Uint8Array): T {
  const version = header(kind, buf);
  switch (version) {
    case 1:
      return packr.unpack(buf.subarray(4)) as T;
    default:
      throw new Error(`unsupported ${kind} record version ${version}`);
  }
}

/**
 * Object records are version 2: `CRO\x02`, u32 LE length of the inline shard
 * bytes (NO_INLINE when there are none), the inline bytes, then msgpack of the
 * rest of the record. Keeping the inline bytes (the only part that differs
 * between the drives of one write) out of the msgpack body lets a write encode
 * the body once for all drives, and lets a read group drives by comparing body
 * bytes and decode one of them. Version 1 (all msgpack) is still read.
 */
const OBJECT_VERSION = 2;
const NO_INLINE = 0xffffffff;
const OBJECT_HEAD = 8;

/** A record encoded once per write; `value(inline)` is what one drive stores. */
export interface PreparedObjectRecord {
  /** msgpack of the record without `inline`. */
  readonly body: Buffer;
  /** The list entry (encodeListEntry) of the record. */
  readonly entry: Buffer;
  value(inline: Buffer | undefined): Buffer;
}

export function prepareObjectRecord(r: ObjectRecord): PreparedObjectRecord {
  const { inline: _inline, ...rest } = r;
  const body = packr.pack(rest);
  return {
    body,
    entry: encodeListEntry(listEntryOf(r)),
    value(inline: Buffer | undefined): Buffer {
      const n = inline ? inline.length : 0;
      const out = Buffer.allocUnsafe(OBJECT_HEAD + n + body.length);
      out[0] = MAGIC0;
      out[1] = MAGIC1;
      out[2] = KIND.object;
      out[3] = OBJECT_VERSION;
      out.writeUInt32LE(inline ? n : NO_INLINE, 4);
      if (inline) inline.copy(out, OBJECT_HEAD);
      body.copy(out, OBJECT_HEAD + n);
      return out;
    },
  };
}

export const encodeObjectRecord = (r: ObjectRecord): Buffer => prepareObjectRecord(r).value(r.inline);

/** Where the inline bytes sit in a v2 record: [start, end), or undefined when there are none. */
function inlineSpan(buf: Uint8Array): [number, number] | undefined {
  const n = (buf[4]! | (buf[5]! << 8) | (buf[6]! << 16)) + buf[7]! * 0x1000000;
  if (n === NO_INLINE) return undefined;
  if (OBJECT_HEAD + n > buf.length) throw new Error('object record truncated');
  return [OBJECT_HEAD, OBJECT_HEAD + n];
}

/**
 * The part of a stored object record that is the same on every drive of one
 * write (v2: the msgpack body), for grouping drives by bytes. v1 records have
 * none (undefined): decode them.
 */
export function objectRecordBody(buf: Buffer): Buffer | undefined {
  if (header('object', buf) !== OBJECT_VERSION || buf.length < OBJECT_HEAD) return undefined;
  const span = inlineSpan(buf);
  return buf.subarray(span ? span[1] : OBJECT_HEAD);
}

/** Copy of the inline shard bytes of a stored record (any version). */
export function objectRecordInline(buf: Buffer): Buffer | undefined {
  if (header('object', buf) !== OBJECT_VERSION) return decodeObjectRecord(buf).inline;
  const span = inlineSpan(buf);
  return span ? Buffer.from(buf.subarray(span[0], span[1])) : undefined;
}

export function decodeObjectRecord(buf: Uint8Array): ObjectRecord {
  const version = header('object', buf);
  switch (version) {
    case 1: {
      const r = packr.unpack(buf.subarray(4)) as ObjectRecord;
      // msgpackr returns bin fields as views of the source, which LMDB may reuse: copy.
      if (r.inline) r.inline = Buffer.from(r.inline as Uint8Array);
      return r;
    }
    case OBJECT_VERSION: {
      if (buf.length < OBJECT_HEAD) throw new Error('object record truncated');
      const span = inlineSpan(buf);
      const r = packr.unpack(buf.subarray(span ? span[1] : OBJECT_HEAD)) as ObjectRecord;
      if (span) r.inline = Buffer.from(buf.subarray(span[0], span[1]));
      return r;
    }
    default:
      throw new Error(`unsupported object record version ${version}`);
  }
}
export const encodeBucketRecord = (r: BucketRecord): Buffer => encode('bucket', r);
export const decodeBucketRecord = (buf: Uint8Array): BucketRecord => decode('bucket', buf);
export const encodeUploadRecord = (r: UploadRecord): Buffer => encode('upload', r);
export const decodeUploadRecord = (buf: Uint8Array): UploadRecord => decode('upload', buf);
export const encodePartRecord = (r: PartRecord): Buffer => encode('part', r);
export const decodePartRecord = (buf: Uint8Array): PartRecord => decode('part', buf);

export function listEntryOf(r: ObjectRecord): ListEntry {
  return {
    modTime: r.modTime,
    size: r.size,
    versionId: r.versionId,
    dataDir: r.dataDir,
    etag: r.etag,
    storageClass: r.storageClass,
  };
}

/** Layout v1: magic(2) kind(1) version(1) modTime f64 size f64, then 4 × (u16 length + utf8). */
export function encodeListEntry(e: ListEntry): Buffer {
  const strs = [e.versionId, e.dataDir, e.etag, e.storageClass].map((s) => Buffer.from(s, 'utf8'));
  const out = Buffer.allocUnsafe(20 + strs.reduce((n, s) => n + 2 + s.length, 0));
  out[0] = MAGIC0;
  out[1] = MAGIC1;
  out[2] = KIND.list;
  out[3] = CURRENT_VERSION;
  out.writeDoubleLE(e.modTime, 4);
  out.writeDoubleLE(e.size, 12);
  let o = 20;
  for (const s of strs) {
    out.writeUInt16LE(s.length, o);
    s.copy(out, o + 2);
    o += 2 + s.length;
  }
  return out;
}

export function decodeListEntry(raw: Uint8Array): ListEntry {
  const buf = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const version = header('list', buf);
  if (version !== 1) throw new Error(`unsupported list entry version ${version}`);
  let o = 20;
  const str = (): string => {
    const n = buf.readUInt16LE(o);
    const s = buf.toString('utf8', o + 2, o + 2 + n);
    o += 2 + n;
    return s;
  };
  const modTime = buf.readDoubleLE(4);
  const size = buf.readDoubleLE(12);
  return { modTime, size, versionId: str(), dataDir: str(), etag: str(), storageClass: str() };
}

const f64 = new DataView(new ArrayBuffer(8));
function latin1Double(s: string, at: number): number {
  for (let i = 0; i < 8; i++) f64.setUint8(i, s.charCodeAt(at + i));
  return f64.getFloat64(0, true);
}

// eslint-disable-next-line no-control-regex
const NON_ASCII = /[^\x00-\x7f]/g;

/**
 * decodeListEntry for an entry read as a latin1 string (one char per byte),
 * which is how listing scans them: strings cost no Buffer per drive per key and
 * compare with `===`. The fields are ASCII in practice; others are re-decoded as UTF-8.
 */
export function decodeListEntryLatin1(raw: string): ListEntry {
  if (raw.length < 20 || raw.charCodeAt(0) !== MAGIC0 || raw.charCodeAt(1) !== MAGIC1 || raw.charCodeAt(2) !== KIND.list) {
    throw new Error('not a list metadata record');
  }
  const version = raw.charCodeAt(3);
  if (version !== 1) throw new Error(`unsupported list entry version ${version}`);
  // One scan of everything after the doubles: when all of it is ASCII (lengths < 128 and
  // ASCII fields, the usual case), no field needs re-decoding.
  NON_ASCII.lastIndex = 20;
  const ascii = !NON_ASCII.test(raw);
  let o = 20;
  const str = (): string => {
    const n = raw.charCodeAt(o) | (raw.charCodeAt(o + 1) << 8);
    const s = raw.slice(o + 2, o + 2 + n);
    o += 2 + n;
    if (s.length !== n) throw new Error('list entry truncated');
    return ascii || !/[^\x00-\x7f]/.test(s) ? s : Buffer.from(s, 'latin1').toString('utf8');
  };
  const modTime = latin1Double(raw, 4);
  const size = latin1Double(raw, 12);
  return { modTime, size, versionId: str(), dataDir: str(), etag: str(), storageClass: str() };
}

/** Total order of writes: greater wins on every drive. */
export function compareVersions(
  a: { modTime: number; versionId: string; dataDir: string },
  b: { modTime: number; versionId: string; dataDir: string },
): number {
  if (a.modTime !== b.modTime) return a.modTime < b.modTime ? -1 : 1;
  if (a.versionId !== b.versionId) return a.versionId < b.versionId ? -1 : 1;
  if (a.dataDir !== b.dataDir) return a.dataDir < b.dataDir ? -1 : 1;
  return 0;
}

export const sameVersion = (
  a: { modTime: number; versionId: string; dataDir: string },
  b: { modTime: number; versionId: string; dataDir: string },
): boolean => compareVersions(a, b) === 0;
