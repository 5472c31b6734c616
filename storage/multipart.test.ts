import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openObjectLayer } from './index.js';
import type { ObjectLayer } from './object-layer.js';
import { bodyOf, pattern, readAll, tempDrives } from './test-support.js';

let ctx: Awaited<ReturnType<typeof tempDrives>>;
let ol: ObjectLayer;
const MiB = 1024 * 1024;
const md5 = (b: Buffer) => createHash('md5').update(b).digest();

beforeEach(async () => {
  ctx = await tempDrives(4);
  ol = await openObjectLayer({ drives: ctx.drives, blockSize: 256 * 1024 });
  await ol.makeBucket('bkt');
});
afterEach(async () => {
  await ol.close();
  await ctx.cleanup();
});

async function dataDirCount(drive: string): Promise<number> {
  let n = 0;
  for (const d of await readdir(join(drive, 'data')).catch(() => [])) n += (await readdir(join(drive, 'data', d))).length;
  return n;
}

describe('multipart uploads', () => {
  it('uploads parts out of order and concurrently, completes, reads across parts', async () => {
    const up = await ol.createMultipartUpload('bkt', 'mp', { headers: { contentType: 'x/y' }, userMetadata: { m: '1' } });
    const p1 = pattern(5 * MiB, 1);
    const p2 = pattern(5 * MiB + 3, 2);
    const p3 = pattern(1234, 3);
    const [i3, i1, i2] = await Promise.all([
      ol.putObjectPart('bkt', 'mp', up.uploadId, 3, bodyOf(p3)),
      ol.putObjectPart('bkt', 'mp', up.uploadId, 1, bodyOf(p1)),
      ol.putObjectPart('bkt', 'mp', up.uploadId, 2, bodyOf(pattern(100, 9))),
    ]);
    // Re-uploading a part number replaces it.
    const i2b = await ol.putObjectPart('bkt', 'mp', up.uploadId, 2, bodyOf(p2));
    expect(i2b.etag).not.toBe(i2.etag);
    const listed = await ol.listParts('bkt', 'mp', up.uploadId);
    expect(listed.parts.map((p) => [p.partNumber, p.etag])).toEqual([
      [1, i1.etag],
      [2, i2b.etag],
      [3, i3.etag],
    ]);
    const page = await ol.listParts('bkt', 'mp', up.uploadId, { maxParts: 2 });
    expect(page).toMatchObject({ isTruncated: true, nextPartNumberMarker: 2 });
    expect((await ol.listParts('bkt', 'mp', up.uploadId, { partNumberMarker: 2 })).parts.map((p) => p.partNumber)).toEqual([3]);

    await expect(
      ol.completeMultipartUpload('bkt', 'mp', up.uploadId, [
        { partNumber: 2, etag: i2b.etag },
        { partNumber: 1, etag: i1.etag },
      ]),
    ).rejects.toMatchObject({ code: 'InvalidPartOrder' });
    await expect(
      ol.completeMultipartUpload('bkt', 'mp', up.uploadId, [{ partNumber: 1, etag: i2.etag }]),
    ).rejects.toMatchObject({ code: 'InvalidPart' });
    await expect(
      ol.completeMultipartUpload('bkt', 'mp', up.uploadId, [
        { partNumber: 3, etag: i3.etag },
        { partNumber: 4, etag: i3.etag },
      ]),
    ).rejects.toMatchObject({ code: 'InvalidPart' });

    const info = await ol.completeMultipartUpload('bkt', 'mp', up.uploadId, [
      { partNumber: 1, etag: `"${i1.etag}"` },
      { partNumber: 2, etag: i2b.etag },
      { partNumber: 3, etag: i3.etag },
    ]);
    const whole = Buffer.concat([p1, p2, p3]);
    const expectedEtag = createHash('md5').update(Buffer.concat([md5(p1), md5(p2), md5(p3)])).digest('hex') + '-3';
    expect(info).toMatchObject({ etag: expectedEtag, size: whole.length, headers: { contentType: 'x/y' } });
    expect((await readAll((await ol.getObject('bkt', 'mp')).stream)).equals(whole)).toBe(true);
    const start = 5 * MiB - 10;
    const end = 10 * MiB + 5;
    const r = await ol.getObject('bkt', 'mp', { range: { start, end } });
    expect((await readAll(r.stream)).equals(whole.subarray(start, end + 1))).toBe(true);
    const part2 = await ol.getObject('bkt', 'mp', { partNumber: 2 });
    expect(part2.range).toEqual({ start: 5 * MiB, end: 10 * MiB + 2 });
    expect((await readAll(part2.stream)).equals(p2)).toBe(true);
    expect((await ol.headObject('bkt', 'mp')).parts?.map((p) => p.size)).toEqual([p1.length, p2.length, p3.length]);
    await expect(ol.headObject('bkt', 'mp', { partNumber: 4 })).rejects.toMatchObject({ code: 'InvalidPartNumber' });
    // The upload is gone, its data dir is now the object's: one data dir per drive.
    await expect(ol.listParts('bkt', 'mp', up.uploadId)).rejects.toMatchObject({ code: 'UploadNotFound' });
    for (const d of ctx.drives) expect(await dataDirCount(d)).toBe(1);
  });

  it('rejects small non-final parts and lists/aborts uploads', async () => {
    const a = await ol.createMultipartUpload('bkt', 'dir/a');
    const b = await ol.createMultipartUpload('bkt', 'dir/a');
    const c = await ol.createMultipartUpload('bkt', 'top');
    const x = await ol.putObjectPart('bkt', 'dir/a', a.uploadId, 1, bodyOf(Buffer.alloc(1000)));
    const y = await ol.putObjectPart('bkt', 'dir/a', a.uploadId, 2, bodyOf(Buffer.alloc(10)));
    await expect(
      ol.completeMultipartUpload('bkt', 'dir/a', a.uploadId, [
        { partNumber: 1, etag: x.etag },
        { partNumber: 2, etag: y.etag },
      ]),
    ).rejects.toMatchObject({ code: 'EntityTooSmall' });
    const all = await ol.listMultipartUploads('bkt');
    expect(all.uploads.map((u) => u.uploadId)).toEqual([...[a.uploadId, b.uploadId].sort(), c.uploadId]);
    const grouped = await ol.listMultipartUploads('bkt', { delimiter: '/' });
    expect(grouped.commonPrefixes).toEqual(['dir/']);
    expect(grouped.uploads.map((u) => u.key)).toEqual(['top']);
    const first = await ol.listMultipartUploads('bkt', { maxUploads: 1 });
    expect(first.isTruncated).toBe(true);
    const rest = await ol.listMultipartUploads('bkt', { keyMarker: first.nextKeyMarker!, uploadIdMarker: first.nextUploadIdMarker! });
    expect(rest.uploads).toHaveLength(2);
    for (const u of [a, b, c]) await ol.abortMultipartUpload('bkt', u.key, u.uploadId);
    expect((await ol.listMultipartUploads('bkt')).uploads).toEqual([]);
    await expect(ol.abortMultipartUpload('bkt', 'top', c.uploadId)).rejects.toMatchObject({ code: 'UploadNotFound' });
    await expect(ol.putObjectPart('bkt', 'top', c.uploadId, 1, bodyOf(Buffer.alloc(1)))).rejects.toMatchObject({
      code: 'UploadNotFound',
    });
    for (const d of ctx.drives) expect(await dataDirCount(d)).toBe(0);
  });

  it('deletes a bucket that holds only incomplete uploads, aborting them (as AWS and MinIO do)', async () => {
    await ol.makeBucket('only-uploads');
    const up = await ol.createMultipartUpload('only-uploads', 'k');
    await ol.putObjectPart('only-uploads', 'k', up.uploadId, 1, bodyOf(Buffer.alloc(10)));
    await ol.deleteBucket('only-uploads');
    await expect(ol.getBucketInfo('only-uploads')).rejects.toMatchObject({ code: 'BucketNotFound' });
    await ol.makeBucket('only-uploads');
    expect((await ol.listMultipartUploads('only-uploads')).uploads).toEqual([]);
  });

  it('computes composite checksums from part checksums', async () => {
    const up = await ol.createMultipartUpload('bkt', 'ck', { checksumAlgorithm: 'SHA256', checksumType: 'COMPOSITE' });
    const p1 = pattern(5 * MiB, 4);
    const p2 = pattern(10, 5);
    const sha = (b: Buffer) => createHash('sha256').update(b).digest();
    const r1 = await ol.putObjectPart('bkt', 'ck', up.uploadId, 1, bodyOf(p1), { checksum: { algorithm: 'SHA256' } });
    const r2 = await ol.putObjectPart('bkt', 'ck', up.uploadId, 2, bodyOf(p2), { checksum: { algorithm: 'SHA256' } });
    expect(r1.checksums.SHA256).toBe(sha(p1).toString('base64'));
    const info = await ol.completeMultipartUpload('bkt', 'ck', up.uploadId, [
      { partNumber: 1, etag: r1.etag },
      { partNumber: 2, etag: r2.etag },
    ]);
    expect(info.checksums.SHA256).toBe(sha(Buffer.concat([sha(p1), sha(p2)])).toString('base64') + '-2');
  });
});

describe('conditional writes', () => {
  it('honours If-None-Match: * and If-Match', async () => {
    await ol.putObject('bkt', 'c', bodyOf(Buffer.from('one')), { conditions: { ifNoneMatch: '*' } });
    await expect(
      ol.putObject('bkt', 'c', bodyOf(Buffer.from('two')), { conditions: { ifNoneMatch: '*' } }),
    ).rejects.toMatchObject({ code: 'PreconditionFailed' });
    const cur = await ol.headObject('bkt', 'c');
    await expect(
      ol.putObject('bkt', 'c', bodyOf(Buffer.from('three')), { conditions: { ifMatch: 'deadbeef' } }),
    ).rejects.toMatchObject({ code: 'PreconditionFailed' });
    await ol.putObject('bkt', 'c', bodyOf(Buffer.from('four')), { conditions: { ifMatch: cur.etag } });
    expect((await readAll((await ol.getObject('bkt', 'c')).stream)).toString()).toBe('four');
    await expect(
      ol.putObject('bkt', 'missing', bodyOf(Buffer.from('x')), { conditions: { ifMatch: cur.etag } }),
    ).rejects.toMatchObject({ code: 'PreconditionFailed' });
  });

  it('lets exactly one of racing If-None-Match writers win', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) =>
        ol.putObject('bkt', 'race', bodyOf(Buffer.from(`w${i}`)), { conditions: { ifNoneMatch: '*' } }),
      ),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'PreconditionFailed' });
  });
});
