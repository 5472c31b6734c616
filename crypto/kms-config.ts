/**
 * Which KMS to build, from environment variables (read once by main.ts / cli.ts,
 * which pass `process.env` in; nothing here reads the environment itself).
 *
 *   CAIRN_KMS_SECRET_KEY=<key-name>:<base64 of 32 bytes>     built-in, one key
 *   CAIRN_KMS_KEY_FILE=/path/keys.json                        built-in, named keys with rotation
 *   CAIRN_KMS_VAULT_ENDPOINT=https://vault:8200               Vault Transit, with
 *     CAIRN_KMS_VAULT_KEY_NAME (default key), CAIRN_KMS_VAULT_TOKEN or
 *     CAIRN_KMS_VAULT_APPROLE_ID + CAIRN_KMS_VAULT_APPROLE_SECRET, and optionally
 *     CAIRN_KMS_VAULT_NAMESPACE, CAIRN_KMS_VAULT_MOUNT, CAIRN_KMS_VAULT_TIMEOUT_MS
 *
 * At most one backend may be configured. No KMS: SSE-S3 and SSE-KMS are refused
 * (SSE-C needs none).
 */
import { CryptoError } from './errors.js';
import { BuiltinKms } from './kms-builtin.js';
import { MeteredKms } from './kms.js';
import { VaultKms, type VaultKmsOptions } from './kms-vault.js';

export type KmsConfig =
  | { readonly backend: 'none' }
  | { readonly backend: 'builtin-env'; readonly secretKey: string }
  | { readonly backend: 'builtin-file'; readonly file: string }
  | { readonly backend: 'vault'; readonly vault: VaultKmsOptions };

export function kmsConfigFromEnv(env: Readonly<Record<string, string | undefined>>): KmsConfig {
  const set = (k: string) => (env[k] !== undefined && env[k] !== '' ? env[k] : undefined);
  const chosen = ['CAIRN_KMS_SECRET_KEY', 'CAIRN_KMS_KEY_FILE', 'CAIRN_KMS_VAULT_ENDPOINT'].filter((k) => set(k) !== undefined);
  if (chosen.length > 1) throw new CryptoError('KmsError', `configure one KMS, not ${chosen.join(' and ')}`);
  const secretKey = set('CAIRN_KMS_SECRET_KEY');
  if (secretKey) return { backend: 'builtin-env', secretKey };
  const file = set('CAIRN_KMS_KEY_FILE');
  if (file) return { backend: 'builtin-file', file };
  const endpoint = set('CAIRN_KMS_VAULT_ENDPOINT');
  if (!endpoint) return { backend: 'none' };
  const keyName = set('CAIRN_KMS_VAULT_KEY_NAME');
  if (!keyName) throw new CryptoError('KmsError', 'CAIRN_KMS_VAULT_KEY_NAME is required with CAIRN_KMS_VAULT_ENDPOINT');
  const token = set('CAIRN_KMS_VAULT_TOKEN');
  const roleId = set('CAIRN_KMS_VAULT_APPROLE_ID');
  const secretId = set('CAIRN_KMS_VAULT_APPROLE_SECRET');
  if (!token && !(roleId && secretId)) {
    throw new CryptoError('KmsError', 'Vault needs CAIRN_KMS_VAULT_TOKEN or CAIRN_KMS_VAULT_APPROLE_ID and CAIRN_KMS_VAULT_APPROLE_SECRET');
  }
  const timeout = set('CAIRN_KMS_VAULT_TIMEOUT_MS');
  if (timeout !== undefined && !/^\d+$/.test(timeout)) throw new CryptoError('KmsError', 'CAIRN_KMS_VAULT_TIMEOUT_MS must be milliseconds');
  return {
    backend: 'vault',
    vault: {
      endpoint,
      defaultKeyId: keyName,
      auth: token ? { token } : { approle: { roleId: roleId!, secretId: secretId! } },
      ...(set('CAIRN_KMS_VAULT_NAMESPACE') ? { namespace: set('CAIRN_KMS_VAULT_NAMESPACE') } : {}),
      ...(set('CAIRN_KMS_VAULT_MOUNT') ? { mount: set('CAIRN_KMS_VAULT_MOUNT') } : {}),
      ...(timeout ? { timeoutMs: Number(timeout) } : {}),
    },
  };
}

/** Builds the configured KMS, wrapped in MeteredKms; undefined when none is configured. */
export async function createKms(cfg: KmsConfig): Promise<MeteredKms | undefined> {
  switch (cfg.backend) {
    case 'none':
      return undefined;
    case 'builtin-env':
      return new MeteredKms(BuiltinKms.fromSecretKey(cfg.secretKey));
    case 'builtin-file':
      return new MeteredKms(await BuiltinKms.fromKeyFile(cfg.file));
    case 'vault':
      return new MeteredKms(new VaultKms(cfg.vault));
  }
}
