import { Packr } from 'msgpackr';
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
  sse?: Record<string, unknown>;
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

export const encodeObjectRecord = (r: ObjectRecord): Buffer => encode('object', r);
export function decodeObjectRecord(buf: Uint8Array): ObjectRecord {
  const r = decode<ObjectRecord>('object', buf);
  // msgpackr returns bin fields as views of the source, which LMDB may reuse: copy.
  if (r.inline) r.inline = Buffer.from(r.inline as Uint8Array);
  return r;
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
