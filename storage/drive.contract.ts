import { describe, expect, it } from 'vitest';
import type { Drive } from './drive.js';
import type { ObjectRecord, UploadRecord } from './metadata-record.js';
import { decodeListEntryLatin1 } from './metadata-record.js';

/** The behaviour every Drive implementation must have; LocalDrive runs it (local-drive.test.ts). */

const layout = { dataShards: 2, parityShards: 2, blockSize: 1024, codec: 'wasm' as const, bitrot: 'crc32c' as const, distribution: [0, 1, 2, 3] };
export const record = (modTime: number, dataDir: string, etag = 'e'): ObjectRecord => ({
  versionId: 'null',
  modTime,
  dataDir,
  size: 1,
  etag,
  checksums: {},
  headers: {},
  userMetadata: {},
  storageClass: 'STANDARD',
  layout,
  parts: [{ number: 1, size: 1, etag, modTime, checksums: {}, file: 'part.1' }],
});

export function driveContract(name: string, make: () => Promise<{ drive: Drive; cleanup: () => Promise<void> }>) {
  describe(`Drive contract: ${name}`, () => {
    const withDrive = (fn: (d: Drive) => Promise<void>) => async () => {
      const { drive, cleanup } = await make();
      try {
        await fn(drive);
      } finally {
        await drive.close();
        await cleanup();
      }
    };

    it('creates buckets once', withDrive(async (d) => {
      expect(await d.createBucket({ name: 'b', created: 1 })).toBe('created');
      expect(await d.createBucket({ name: 'b', created: 2 })).toBe('exists');
      expect(d.getBucket('b')?.created).toBe(1);
      expect(d.listBuckets().map((b) => b.name)).toEqual(['b']);
      expect(await d.deleteBucket('b')).toBe(true);
      expect(d.getBucket('b')).toBeUndefined();
    }));

    it('keeps the greater version and applies conditions in the commit', withDrive(async (d) => {
      const a = record(10, '00000000-0000-0000-0000-00000000000a', 'ea');
      const b = record(20, '00000000-0000-0000-0000-00000000000b', 'eb');
      expect((await d.commitObject('b', 'k', b)).status).toBe('committed');
      expect((await d.commitObject('b', 'k', a)).status).toBe('superseded');
      expect(d.getObject('b', 'k')?.etag).toBe('eb');
      expect((await d.commitObject('b', 'k', record(30, '00000000-0000-0000-0000-00000000000c'), { conditions: { ifNoneMatch: '*' } })).status).toBe('precondition');
      expect((await d.commitObject('b', 'k', record(30, '00000000-0000-0000-0000-00000000000c'), { conditions: { ifMatch: 'zz' } })).status).toBe('precondition');
      const c = record(30, '00000000-0000-0000-0000-00000000000c', 'ec');
      const r = await d.commitObject('b', 'k', c, { conditions: { ifMatch: 'eb' } });
      expect(r).toMatchObject({ status: 'committed', previous: { etag: 'eb' } });
      await d.restoreObject('b', 'k', c, b);
      expect(d.getObject('b', 'k')?.etag).toBe('eb');
      expect((await d.deleteObject('b', 'k'))?.etag).toBe('eb');
      expect(d.getObject('b', 'k')).toBeUndefined();
    }));

    it('scans keys in byte order within prefix and bucket', withDrive(async (d) => {
      for (const k of ['a', 'b/1', 'b/2', 'c', '😀']) await d.commitObject('b', k, record(1, '00000000-0000-0000-0000-000000000001', k));
      await d.commitObject('b2', 'a', record(1, '00000000-0000-0000-0000-000000000001'));
      const keys = [...d.scanObjects('b', Buffer.alloc(0), '')].map((i) => i.key);
      expect(keys).toEqual(['a', 'b/1', 'b/2', 'c', '😀']);
      const inB = [...d.scanObjects('b', Buffer.from('b/2'), 'b/')];
      expect(inB.map((i) => [i.key, decodeListEntryLatin1(i.value).etag])).toEqual([['b/2', 'b/2']]);
      expect(d.bucketHasContent('b')).toBe(true);
      expect(d.bucketHasContent('zzz')).toBe(false);
    }));

    it('keeps uploads and parts, and removes them together', withDrive(async (d) => {
      const u: UploadRecord = {
        bucket: 'b', key: 'k', uploadId: 'u1', initiated: 1, dataDir: '00000000-0000-0000-0000-0000000000dd',
        storageClass: 'STANDARD', layout, headers: {}, userMetadata: {},
      };
      const part = { number: 2, size: 1, etag: 'p', modTime: 5, checksums: {}, file: 'part.2.aa', writeId: 'aa' };
      expect((await d.commitPart('b', 'k', 'u1', part)).status).toBe('upload-missing');
      await d.putUpload(u);
      expect((await d.commitPart('b', 'k', 'u1', part)).status).toBe('committed');
      expect((await d.commitPart('b', 'k', 'u1', { ...part, modTime: 4, writeId: 'bb' })).status).toBe('superseded');
      expect((await d.commitPart('b', 'k', 'u1', { ...part, number: 1 })).status).toBe('committed');
      expect(d.listParts('u1').map((p) => p.number)).toEqual([1, 2]);
      expect([...d.scanUploads('b', Buffer.alloc(0), '')].map((x) => x.uploadId)).toEqual(['u1']);
      const removed = await d.deleteUpload('b', 'k', 'u1');
      expect(removed?.parts).toHaveLength(2);
      expect(d.listParts('u1')).toEqual([]);
      expect(d.getUpload('b', 'k', 'u1')).toBeUndefined();
    }));

    it('writes shard files invisibly until committed, reads them by open fd', withDrive(async (d) => {
      const dir = '00000000-0000-0000-0000-0000000000ee';
      const w = d.createShardWriter('t1', 'part.1');
      await w.write(Buffer.from('hello '));
      await w.write(Buffer.from('world'));
      await w.finish();
      await expect(d.openShardReader(dir, 'part.1')).rejects.toThrow();
      await d.commitTmp('t1', dir);
      const r = await d.openShardReader(dir, 'part.1');
      await d.removeDataDir(dir);
      expect((await r.readAt(6, 5)).toString()).toBe('world');
      await expect(r.readAt(8, 10)).rejects.toThrow();
      await r.close();
      await expect(d.openShardReader('../../etc', 'part.1')).rejects.toThrow();
      const info = await d.diskInfo();
      expect(info.total).toBeGreaterThan(0);
    }));
  });
}
