import type { Kms } from '../crypto/kms.js';
import { rotateSealedKey } from '../crypto/sse.js';
import { listObjectsInSets } from './listing.js';
import type { ErasureObjectLayer } from './object-layer-impl.js';

/**
 * `cairn admin kms rotate`: every SSE-S3 / SSE-KMS object's data key is
 * re-wrapped under the newest version of its KMS key (Kms.rewrap: the data key
 * never leaves the KMS) and the record is written back. The sealed object key
 * and the object's data are unchanged; SSE-C records are skipped (nothing of
 * ours to rotate). Open multipart uploads are not visited.
 */

export interface RotateReport {
  scanned: number;
  encrypted: number;
  rotated: number;
  failed: Array<{ bucket: string; key: string; error: string }>;
}

export async function rotateObjectKeys(layer: ErasureObjectLayer, kms: Kms, onProgress?: (bucket: string, key: string) => void): Promise<RotateReport> {
  const report: RotateReport = { scanned: 0, encrypted: 0, rotated: 0, failed: [] };
  for (const b of await layer.listBuckets()) {
    let after: string | undefined;
    for (;;) {
      const page = await listObjectsInSets(layer.sets, b.name, { maxKeys: 1000, ...(after !== undefined ? { after } : {}) });
      for (const o of page.objects) {
        report.scanned++;
        try {
          if (await rotateOne(layer, kms, b.name, o.key, report)) onProgress?.(b.name, o.key);
        } catch (err) {
          report.failed.push({ bucket: b.name, key: o.key, error: (err as Error).message });
        }
      }
      if (!page.isTruncated || page.nextAfter === undefined) break;
      after = page.nextAfter;
    }
  }
  return report;
}

async function rotateOne(layer: ErasureObjectLayer, kms: Kms, bucket: string, key: string, report: RotateReport): Promise<boolean> {
  const { set, resolved } = layer.resolveObject(bucket, key);
  if (!resolved?.rec.sse) return false;
  const rec = resolved.rec;
  if (!rec.sse) return false;
  report.encrypted++;
  if (rec.sse.sealed.type === 'SSE-C') return false;
  const sealed = await rotateSealedKey(rec.sse.sealed, { bucket, key }, kms);
  if (sealed === rec.sse.sealed) return false;
  const agreeing = resolved.partial ? set.agreeingSlots(bucket, key, rec) : resolved.agreeing;
  const slots = agreeing.flatMap((r, i) => (r ? [i] : []));
  // Same data dir, a version a hair newer (Last-Modified has second resolution): a drive
  // keeps the greater version, and an overwrite racing with us wins as it should.
  const { inline: _inline, ...base } = rec;
  const next = { ...base, modTime: rec.modTime + 0.001, sse: { ...rec.sse, sealed } };
  const inline = rec.inline !== undefined ? agreeing.map((r) => r?.inline) : undefined;
  await set.commitRecord(bucket, key, next, slots, inline, { conditions: { ifMatch: rec.etag }, ownsDataDir: false });
  report.rotated++;
  return true;
}
