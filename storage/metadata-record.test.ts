import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import {
  decodeListEntry,
  decodeListEntryLatin1,
  decodeObjectRecord,
  encodeListEntry,
  encodeObjectRecord,
  objectRecordBody,
  objectRecordInline,
  prepareObjectRecord,
  type ObjectRecord,
} from './metadata-record.js';

const rec: ObjectRecord = {
  versionId: 'null',
  modTime: 1764000000123.456,
  dataDir: '0f1e2d3c-0000-4000-8000-000000000001',
  size: 5,
  etag: '5d41402abc4b2a76b9719d911017c592',
  checksums: { CRC32: 'AAAAAA==' },
  headers: { contentType: 'text/plain' },
  userMetadata: { 'ünï': 'cødé' },
  storageClass: 'STANDARD',
  layout: { dataShards: 2, parityShards: 1, blockSize: 1024, codec: 'ronomon', bitrot: 'crc32c', distribution: [2, 0, 1] },
  parts: [{ number: 1, size: 5, etag: '5d41402abc4b2a76b9719d911017c592', modTime: 1764000000123.456, checksums: {}, file: 'part.1' }],
};

describe('object records', () => {
  it('round-trip as v2 with and without inline bytes', () => {
    const withInline = { ...rec, inline: Buffer.from('framed shard bytes') };
    const a = encodeObjectRecord(withInline);
    expect(a[3]).toBe(2);
    expect(decodeObjectRecord(a)).toEqual(withInline);
    expect(objectRecordInline(a)?.toString()).toBe('framed shard bytes');
    const b = encodeObjectRecord(rec);
    expect(decodeObjectRecord(b)).toEqual(rec);
    expect(objectRecordInline(b)).toBeUndefined();
    expect(decodeObjectRecord(prepareObjectRecord(rec).value(Buffer.alloc(0))).inline).toEqual(Buffer.alloc(0));
  });

  it('share one body across the drives of a write, so reads group drives by bytes', () => {
    const p = prepareObjectRecord({ ...rec, inline: Buffer.from('ignored') });
    const d1 = p.value(Buffer.from('shard one'));
    const d2 = p.value(Buffer.from('shard two!'));
    expect(objectRecordBody(d1)!.equals(objectRecordBody(d2)!)).toBe(true);
    expect(objectRecordInline(d2)?.toString()).toBe('shard two!');
    const other = prepareObjectRecord({ ...rec, modTime: rec.modTime + 1 }).value(undefined);
    expect(objectRecordBody(other)!.equals(objectRecordBody(d1)!)).toBe(false);
    expect(p.entry.equals(encodeListEntry({ ...rec }))).toBe(true);
  });

  it('still read version 1 (all msgpack)', () => {
    const body = new Packr({ useRecords: false, mapsAsObjects: true }).pack({ ...rec, inline: Buffer.from('v1 inline') });
    const v1 = Buffer.concat([Buffer.from([0x43, 0x52, 0x4f, 1]), body]);
    expect(decodeObjectRecord(v1)).toEqual({ ...rec, inline: Buffer.from('v1 inline') });
    expect(objectRecordBody(v1)).toBeUndefined();
    expect(objectRecordInline(v1)?.toString()).toBe('v1 inline');
    expect(() => decodeObjectRecord(Buffer.from([0x43, 0x52, 0x4f, 9, 0]))).toThrow(/version 9/);
    expect(() => decodeObjectRecord(Buffer.from([0x43, 0x52, 0x4f, 2, 5, 0, 0, 0, 1]))).toThrow(/truncated/);
  });
});

describe('list entries read as latin1 strings', () => {
  it('decode like the Buffer decoder, non-ASCII fields included', () => {
    for (const e of [
      { modTime: 1764000000123.456, size: 0, versionId: 'null', dataDir: rec.dataDir, etag: rec.etag, storageClass: 'STANDARD' },
      { modTime: 0.5, size: 5 * 1024 ** 4, versionId: 'vé', dataDir: 'd', etag: 'abc-12', storageClass: 'GLACIER_ÏR' },
      // A length byte ≥ 0x80 with ASCII text, beside a non-ASCII field (the per-field path).
      { modTime: 2, size: 1, versionId: 'ü'.repeat(70), dataDir: 'd'.repeat(200), etag: 'e', storageClass: 'STANDARD' },
    ]) {
      const raw = encodeListEntry(e);
      expect(decodeListEntryLatin1(raw.toString('latin1'))).toEqual(decodeListEntry(raw));
      expect(decodeListEntryLatin1(raw.toString('latin1'))).toEqual(e);
    }
    expect(() => decodeListEntryLatin1('CRX\u0001' + '\0'.repeat(20))).toThrow(/not a list/);
  });
});
