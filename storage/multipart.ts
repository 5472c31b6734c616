import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { combineCrc, createChecksum } from '../core/checksums.js';
import type { ErasureSet } from './erasure-set.js';
import { nextModTime, objectInfoOf } from './erasure-set.js';
import { ObjectLayerError, readQuorumNotReached, writeQuorumNotReached } from './errors.js';
import { compareKeys, MergeCursor, MultiCursor, successorOf } from './merge-cursor.js';
import type { ObjectPartRecord, ObjectRecord, PartRecord, UploadRecord } from './metadata-record.js';
import { validateObjectKey } from './names.js';
import type { ErasureObjectLayer } from './object-layer-impl.js';
import type {
  ChecksumAlgorithm,
  Checksums,
  CompleteMultipartOptions,
  CompletePart,
  CreateMultipartOptions,
  ListPartsOptions,
  ListPartsResult,
  ListUploadsOptions,
  ListUploadsResult,
  MultipartUploadInfo,
  ObjectInfo,
  PartInfo,
  PutPartOptions,
} from './object-layer.js';
import { settle, writeQuorumOf } from './quorum.js';
import { STANDARD } from './storage-class.js';
import { bucketEncryptionOf, refuseKeyForPlaintext, sealRequestOf, sseInfoOf, WriteEncryption } from './sse-pipeline.js';

/**
 * Multipart uploads. The upload record lives in the `uploads` db of every drive
 * of the key's set; each part is its own erasure stream in the upload's data
 * dir and its own LMDB entry (so parts can arrive concurrently and out of
 * order). Re-uploads of a part number can race, so each part upload writes a
 * distinctly named file `part.<N>.<writeId>` and the part record (greatest
 * (modTime, writeId) wins on every drive) names the file; the loser's file is
 * removed. Completion moves no data: the object record references the
 * upload's data dir and the chosen part files.
 */

export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PART_SIZE = 5 * 1024 ** 3;
export const MAX_PART_NUMBER = 10000;
const UPLOAD_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const uploadNotFound = (uploadId: string) =>
  new ObjectLayerError('UploadNotFound', `the specified multipart upload does not exist: ${uploadId}`);

const stripQuotes = (s: string) => s.replace(/^"+|"+$/g, '').replace(/^W\//, '');

const uploadInfo = (u: UploadRecord): MultipartUploadInfo => ({
  bucket: u.bucket,
  key: u.key,
  uploadId: u.uploadId,
  initiated: new Date(u.initiated),
  storageClass: u.storageClass,
  ...(u.checksumAlgorithm ? { checksumAlgorithm: u.checksumAlgorithm } : {}),
  ...(u.checksumType ? { checksumType: u.checksumType } : {}),
  ...(u.sse ? { sse: sseInfoOf(u.sse)! } : {}),
});

const partInfo = (p: ObjectPartRecord): PartInfo => ({
  partNumber: p.number,
  size: p.size,
  etag: p.etag,
  modTime: new Date(p.modTime),
  checksums: p.checksums,
});

export class MultipartOps {
  constructor(private readonly layer: ErasureObjectLayer) {}

  async create(bucket: string, key: string, opts: CreateMultipartOptions = {}): Promise<MultipartUploadInfo> {
    validateObjectKey(key);
    const bucketRec = this.layer.requireBucket(bucket);
    const { set, distribution } = this.layer.setFor(bucket, key);
    const layout = set.layoutFor(opts.storageClass, distribution);
    // The object key is made and sealed once per upload; each part gets its own stream key.
    const sealReq = sealRequestOf(opts.sse, bucketEncryptionOf(bucketRec), this.layer.sse);
    const enc = sealReq ? await WriteEncryption.begin(sealReq, { bucket, key }) : undefined;
    enc?.dispose();
    const rec: UploadRecord = {
      bucket,
      key,
      uploadId: randomUUID(),
      initiated: Date.now(),
      dataDir: randomUUID(),
      storageClass: opts.storageClass || STANDARD,
      layout,
      headers: opts.headers ?? {},
      userMetadata: opts.userMetadata ?? {},
      ...(opts.checksumAlgorithm ? { checksumAlgorithm: opts.checksumAlgorithm } : {}),
      ...(opts.checksumType ? { checksumType: opts.checksumType } : {}),
      ...(enc ? { sse: enc.record(true) } : {}),
    };
    const wq = writeQuorumOf(layout.dataShards, layout.parityShards);
    const results = await settle(set.drives.map((d, i) => (d && set.isOnline(i) ? d.putUpload(rec) : null)));
    const ok = results.filter((r) => r?.ok).length;
    if (ok < wq) {
      await Promise.all(set.drives.map((d, i) => (results[i]?.ok ? d!.deleteUpload(bucket, key, rec.uploadId) : null)));
      throw writeQuorumNotReached(ok, wq);
    }
    return uploadInfo(rec);
  }

  /** The upload record if its read quorum of drives hold it. */
  private resolveUpload(bucket: string, key: string, uploadId: string): { set: ErasureSet; upload: UploadRecord } {
    validateObjectKey(key);
    this.layer.requireBucket(bucket);
    if (!UPLOAD_ID_RE.test(uploadId)) throw uploadNotFound(uploadId);
    const { set } = this.layer.setFor(bucket, key);
    let found: UploadRecord | undefined;
    let have = 0;
    let missing = 0;
    for (const d of set.drives) {
      try {
        const u = d?.getUpload(bucket, key, uploadId);
        if (u) {
          found = u;
          have++;
        } else if (d) missing++;
      } catch {
        // counts as unavailable
      }
    }
    if (found && have >= found.layout.dataShards) return { set, upload: found };
    if (missing >= set.defaultReadQuorum || have === 0) throw uploadNotFound(uploadId);
    throw readQuorumNotReached(have, found?.layout.dataShards ?? set.defaultReadQuorum);
  }

  async putPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: Readable,
    opts: PutPartOptions = {},
  ): Promise<PartInfo> {
    let enc: WriteEncryption | undefined;
    try {
      if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PART_NUMBER) {
        throw new ObjectLayerError('InvalidPartNumber', `part number must be an integer in 1..${MAX_PART_NUMBER}`);
      }
      if (opts.size !== undefined && opts.size > MAX_PART_SIZE) {
        throw new ObjectLayerError('EntityTooLarge', `a part may not exceed ${MAX_PART_SIZE} bytes`);
      }
      const { set, upload } = this.resolveUpload(bucket, key, uploadId);
      if (upload.sse) enc = await WriteEncryption.reopen(upload.sse, { bucket, key }, opts.sse, this.layer.sse.kms);
      else refuseKeyForPlaintext(opts.sse);
      const encryptor = enc?.encryptor(partNumber);
      const writeId = randomBytes(6).toString('hex');
      const file = `part.${partNumber}.${writeId}`;
      const written = await set.writeData(
        body,
        upload.layout,
        { tmpId: randomUUID(), file, dataDir: upload.dataDir, intoExisting: true },
        {
          ...(opts.size !== undefined ? { size: opts.size } : {}),
          maxSize: MAX_PART_SIZE,
          ...(opts.contentMd5 !== undefined ? { contentMd5: opts.contentMd5 } : {}),
          ...(opts.checksum ? { checksum: opts.checksum } : {}),
          allowInline: false,
          ...(encryptor ? { encrypt: encryptor } : {}),
          ...(opts.signal ? { signal: opts.signal } : {}),
        },
      );
      const rec: PartRecord = {
        number: partNumber,
        size: written.size,
        etag: enc ? enc.etag(written.md5, partNumber) : written.md5.toString('hex'),
        modTime: nextModTime(),
        checksums: written.checksum && opts.checksum ? { [opts.checksum.algorithm]: written.checksum } : {},
        file,
        writeId,
        ...(encryptor ? { sse: encryptor.stream.params } : {}),
      };
      const wq = writeQuorumOf(upload.layout.dataShards, upload.layout.parityShards);
      const results = await settle(written.slots.map((i) => set.drives[i]!.commitPart(bucket, key, uploadId, rec)));
      let ok = 0;
      let missing = 0;
      results.forEach((r) => {
        if (r?.ok && r.value.status === 'upload-missing') missing++;
        else if (r?.ok) ok++;
      });
      const cleanup: Array<Promise<unknown>> = [];
      if (ok >= wq) {
        results.forEach((r, j) => {
          const d = set.drives[written.slots[j]!]!;
          if (!r?.ok) return;
          const v = r.value;
          if (v.status === 'committed' && v.previous && v.previous.file !== file) {
            cleanup.push(d.removeDataFile(upload.dataDir, v.previous.file));
          }
          if (v.status !== 'committed') cleanup.push(d.removeDataFile(upload.dataDir, file));
        });
        await Promise.all(cleanup.map((p) => p.catch(() => {})));
        return partInfo(rec);
      }
      await Promise.all(
        results.map((r, j) => {
          const d = set.drives[written.slots[j]!]!;
          const undo = r?.ok && r.value.status === 'committed' ? d.restorePart(uploadId, rec, r.value.previous) : Promise.resolve();
          return undo.then(() => d.removeDataFile(upload.dataDir, file)).catch(() => {});
        }),
      );
      if (missing > ok) throw uploadNotFound(uploadId);
      throw writeQuorumNotReached(ok, wq);
    } catch (err) {
      body.resume();
      throw err;
    } finally {
      enc?.dispose();
    }
  }

  /** Current parts by number: per number, the newest record its read quorum agrees on. */
  private resolveParts(set: ErasureSet, upload: UploadRecord): PartRecord[] {
    const k = upload.layout.dataShards;
    const byNumber = new Map<number, Map<string, { n: number; rec: PartRecord }>>();
    for (const d of set.drives) {
      let parts: PartRecord[];
      try {
        parts = d ? d.listParts(upload.uploadId) : [];
      } catch {
        continue;
      }
      for (const p of parts) {
        const versions = byNumber.get(p.number) ?? new Map<string, { n: number; rec: PartRecord }>();
        const v = versions.get(p.writeId) ?? { n: 0, rec: p };
        v.n++;
        versions.set(p.writeId, v);
        byNumber.set(p.number, versions);
      }
    }
    const out: PartRecord[] = [];
    for (const [, versions] of [...byNumber].sort((a, b) => a[0] - b[0])) {
      const agreed = [...versions.values()]
        .filter((v) => v.n >= k)
        .sort((a, b) => b.rec.modTime - a.rec.modTime || (b.rec.writeId < a.rec.writeId ? -1 : 1));
      if (agreed[0]) out.push(agreed[0].rec);
    }
    return out;
  }

  async listParts(bucket: string, key: string, uploadId: string, opts: ListPartsOptions = {}): Promise<ListPartsResult> {
    const { set, upload } = this.resolveUpload(bucket, key, uploadId);
    const marker = opts.partNumberMarker ?? 0;
    const max = Math.max(0, Math.min(1000, opts.maxParts ?? 1000));
    // maxParts 0 asks only for the upload record (UploadPart does, per part): skip scanning parts.
    if (max === 0) return { upload: uploadInfo(upload), parts: [], isTruncated: false };
    const all = this.resolveParts(set, upload).filter((p) => p.number > marker);
    const page = all.slice(0, max);
    const isTruncated = all.length > page.length;
    return {
      upload: uploadInfo(upload),
      parts: page.map(partInfo),
      isTruncated,
      ...(isTruncated && page.length > 0 ? { nextPartNumberMarker: page[page.length - 1]!.number } : {}),
    };
  }

  async listUploads(bucket: string, opts: ListUploadsOptions = {}): Promise<ListUploadsResult> {
    this.layer.requireBucket(bucket);
    const prefix = opts.prefix ?? '';
    const delimiter = opts.delimiter || undefined;
    const max = Math.max(0, Math.min(1000, opts.maxUploads ?? 1000));
    const result: ListUploadsResult = { uploads: [], commonPrefixes: [], isTruncated: false };
    if (max === 0) return result;
    // Composite key `key\0uploadId`: uploads of one key sort together, by upload id.
    const cursor = new MultiCursor(
      this.layer.sets.map(
        (set) =>
          new MergeCursor<UploadRecord>(
            set.drives.map((d, i) =>
              d && set.isOnline(i)
                ? {
                    open: function* (start: Buffer) {
                      for (const u of d.scanUploads(bucket, start, prefix)) yield { key: `${u.key}\0${u.uploadId}`, value: u.upload };
                    },
                  }
                : null,
            ),
            (values) => (values.length >= set.defaultReadQuorum ? values[0] : undefined),
          ),
      ),
    );
    let after: string | undefined;
    let start: Buffer = Buffer.from(prefix);
    if (opts.keyMarker !== undefined && compareKeys(opts.keyMarker, prefix) >= 0) {
      after = opts.uploadIdMarker ? `${opts.keyMarker}\0${opts.uploadIdMarker}` : `${opts.keyMarker}\0\uffff`;
      start = opts.uploadIdMarker ? Buffer.from(after) : successorOf(`${opts.keyMarker}\0`);
    }
    try {
      cursor.seek(start);
      let count = 0;
      let lastKey: string | undefined;
      let lastId: string | undefined;
      for (let item = cursor.next(); item; item = cursor.next()) {
        if (after !== undefined && compareKeys(item.key, after) <= 0) continue;
        if (count === max) {
          result.isTruncated = true;
          break;
        }
        const u = item.value;
        if (delimiter) {
          const idx = u.key.indexOf(delimiter, prefix.length);
          if (idx >= 0) {
            const cp = u.key.slice(0, idx + delimiter.length);
            result.commonPrefixes.push(cp);
            count++;
            lastKey = cp;
            lastId = undefined;
            cursor.seek(successorOf(cp));
            continue;
          }
        }
        result.uploads.push(uploadInfo(u));
        count++;
        lastKey = u.key;
        lastId = u.uploadId;
      }
      if (result.isTruncated) {
        if (lastKey !== undefined) result.nextKeyMarker = lastKey;
        if (lastId !== undefined) result.nextUploadIdMarker = lastId;
      }
    } finally {
      cursor.close();
    }
    return result;
  }

  async complete(
    bucket: string,
    key: string,
    uploadId: string,
    parts: CompletePart[],
    opts: CompleteMultipartOptions = {},
  ): Promise<ObjectInfo> {
    const { set, upload } = this.resolveUpload(bucket, key, uploadId);
    if (parts.length === 0) throw new ObjectLayerError('InvalidPart', 'at least one part must be specified');
    for (let i = 1; i < parts.length; i++) {
      if (parts[i]!.partNumber <= parts[i - 1]!.partNumber) {
        throw new ObjectLayerError('InvalidPartOrder', 'the list of parts was not in ascending order');
      }
    }
    const have = new Map(this.resolveParts(set, upload).map((p) => [p.number, p]));
    const chosen: ObjectPartRecord[] = parts.map((c) => {
      const p = have.get(c.partNumber);
      if (!p || stripQuotes(c.etag) !== p.etag) {
        throw new ObjectLayerError('InvalidPart', `part ${c.partNumber} was not found or its ETag does not match`);
      }
      return { number: p.number, size: p.size, etag: p.etag, modTime: p.modTime, checksums: p.checksums, file: p.file, ...(p.sse ? { sse: p.sse } : {}) };
    });
    chosen.forEach((p, i) => {
      if (i < chosen.length - 1 && p.size < MIN_PART_SIZE) {
        throw new ObjectLayerError('EntityTooSmall', `part ${p.number} is smaller than the 5 MiB minimum`);
      }
    });
    const md5 = createHash('md5');
    for (const p of chosen) md5.update(Buffer.from(p.etag, 'hex'));
    const etag = `${md5.digest('hex')}-${chosen.length}`;
    const current = set.resolve(bucket, key);
    this.layer.checkConditions(current, opts.conditions);
    const checksums = combineChecksums(upload, chosen);
    const rec: ObjectRecord = {
      versionId: 'null',
      modTime: nextModTime(current?.rec.modTime),
      dataDir: upload.dataDir,
      size: chosen.reduce((n, p) => n + p.size, 0),
      etag,
      checksums,
      ...(upload.checksumAlgorithm ? { checksumType: upload.checksumType ?? 'COMPOSITE' } : {}),
      headers: upload.headers,
      userMetadata: upload.userMetadata,
      storageClass: upload.storageClass,
      layout: upload.layout,
      parts: chosen,
      ...(upload.sse ? { sse: upload.sse } : {}),
    };
    const slots = set.drives.flatMap((d, i) => (d && set.isOnline(i) ? [i] : []));
    await set.commitRecord(bucket, key, rec, slots, undefined, {
      ...(opts.conditions ? { conditions: opts.conditions } : {}),
      completeUpload: uploadId,
      ownsDataDir: false,
    });
    return objectInfoOf(bucket, key, rec);
  }

  async abort(bucket: string, key: string, uploadId: string, _opts: { signal?: AbortSignal } = {}): Promise<void> {
    const { set, upload } = this.resolveUpload(bucket, key, uploadId);
    const wq = writeQuorumOf(upload.layout.dataShards, upload.layout.parityShards);
    const results = await settle(set.drives.map((d, i) => (d && set.isOnline(i) ? d.deleteUpload(bucket, key, uploadId) : null)));
    const ok = results.filter((r) => r?.ok).length;
    if (ok < wq) throw writeQuorumNotReached(ok, wq);
    await set.removeDataDirs(
      set.drives.flatMap((d, i) => (d && set.isOnline(i) ? [i] : [])),
      upload.dataDir,
    );
  }
}

/**
 * The object's checksum from its parts' checksums when every part has one:
 * COMPOSITE = checksum of the concatenated part digests + `-N`; FULL_OBJECT
 * (CRC family only) = the parts' CRCs combined as if computed over the whole.
 */
function combineChecksums(upload: UploadRecord, parts: ObjectPartRecord[]): Checksums {
  const alg: ChecksumAlgorithm | undefined = upload.checksumAlgorithm;
  if (!alg || parts.some((p) => p.checksums[alg] === undefined)) return {};
  const digests = parts.map((p) => Buffer.from(p.checksums[alg]!, 'base64'));
  if (upload.checksumType === 'FULL_OBJECT' && alg.startsWith('CRC')) {
    let acc: Buffer = digests[0]!;
    for (let i = 1; i < digests.length; i++) acc = combineCrc(alg, acc, digests[i]!, parts[i]!.size);
    return { [alg]: acc.toString('base64') };
  }
  const c = createChecksum(alg);
  for (const d of digests) c.update(d);
  return { [alg]: `${c.digest().toString('base64')}-${parts.length}` };
}
