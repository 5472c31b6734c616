import { describe, expect, it } from 'vitest';
import type { ListUploadsOptions, MultipartUploadInfo, ObjectLayer } from '../storage/object-layer.js';
import { startMultipartCleanup } from './multipart-cleanup.js';

const silent = { info() {}, warn() {} } as unknown as Parameters<typeof startMultipartCleanup>[1]['logger'];

/** Just enough of an ObjectLayer: two buckets of uploads, listed two at a time. */
function fakeLayer(uploads: MultipartUploadInfo[]) {
  const aborted: string[] = [];
  const layer = {
    async listBuckets() {
      return [...new Set(uploads.map((u) => u.bucket))].map((name) => ({ name, created: new Date(0) }));
    },
    async listMultipartUploads(bucket: string, opts: ListUploadsOptions = {}) {
      const all = uploads
        .filter((u) => u.bucket === bucket && !aborted.includes(u.uploadId))
        .sort((a, b) => (a.key + a.uploadId < b.key + b.uploadId ? -1 : 1));
      const after = opts.keyMarker === undefined ? '' : opts.keyMarker + (opts.uploadIdMarker ?? '');
      const rest = all.filter((u) => u.key + u.uploadId > after);
      const page = rest.slice(0, 2);
      const last = page[page.length - 1];
      return {
        uploads: page,
        commonPrefixes: [],
        isTruncated: rest.length > 2,
        ...(rest.length > 2 && last ? { nextKeyMarker: last.key, nextUploadIdMarker: last.uploadId } : {}),
      };
    },
    async abortMultipartUpload(_bucket: string, _key: string, uploadId: string) {
      aborted.push(uploadId);
    },
  } as unknown as ObjectLayer;
  return { layer, aborted };
}

const upload = (bucket: string, key: string, uploadId: string, initiated: number): MultipartUploadInfo => ({
  bucket,
  key,
  uploadId,
  initiated: new Date(initiated),
  storageClass: 'STANDARD',
});

describe('startMultipartCleanup', () => {
  it('aborts exactly the uploads older than the expiry, across buckets and pages', async () => {
    const now = 1_000_000;
    const { layer, aborted } = fakeLayer([
      upload('a', 'k1', 'u1', now - 5000),
      upload('a', 'k2', 'u2', now - 100),
      upload('a', 'k3', 'u3', now - 9000),
      upload('a', 'k4', 'u4', now - 2001),
      upload('b', 'k1', 'u5', now - 1999),
      upload('b', 'k2', 'u6', now - 2000),
    ]);
    const cleanup = startMultipartCleanup(layer, { expiryMs: 2000, intervalMs: 3_600_000, logger: silent, now: () => now });
    try {
      expect(await cleanup.sweep()).toBe(3);
      expect(aborted.sort()).toEqual(['u1', 'u3', 'u4']);
      expect(await cleanup.sweep()).toBe(0);
    } finally {
      await cleanup.stop();
    }
  });
});
