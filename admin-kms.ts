import { createKms, kmsConfigFromEnv } from './crypto/kms-config.js';
import { openObjectLayer } from './storage/index.js';
import type { ErasureObjectLayer } from './storage/object-layer-impl.js';
import { rotateObjectKeys, type RotateReport } from './storage/sse-rotate.js';

/**
 * `cairn admin kms rotate [--new-version] DIR...`: an offline tool over the
 * drives (LMDB allows it beside a running server; the record writes are the
 * same compare-and-put a PUT does). With --new-version the KMS key first gets
 * a new version (key-file and Vault backends). Then every SSE-S3/SSE-KMS
 * object key is re-sealed under the newest version; object data is never
 * rewritten.
 */
export async function adminKmsRotate(drives: string[], opts: { newVersion: boolean; env: Readonly<Record<string, string | undefined>> }): Promise<RotateReport & { keyVersion?: number }> {
  const kms = await createKms(kmsConfigFromEnv(opts.env));
  if (!kms) throw new Error('no KMS configured (CAIRN_KMS_SECRET_KEY, CAIRN_KMS_KEY_FILE or CAIRN_KMS_VAULT_*)');
  let keyVersion: number | undefined;
  if (opts.newVersion) {
    if (!kms.rotateKey) throw new Error('this KMS cannot make new key versions');
    keyVersion = await kms.rotateKey(kms.defaultKeyId);
  }
  const layer = (await openObjectLayer({ drives, sse: { kms } })) as ErasureObjectLayer;
  try {
    const report = await rotateObjectKeys(layer, kms);
    return keyVersion !== undefined ? { ...report, keyVersion } : report;
  } finally {
    await layer.close();
    await kms.close?.();
  }
}
