import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCryptoError } from './errors.js';
import { BuiltinKms, parseKmsSecretKey } from './kms-builtin.js';
import { kmsContract } from './kms.contract.js';
import { createKms, kmsConfigFromEnv } from './kms-config.js';
import { MeteredKms, canonicalContext } from './kms.js';
import { VaultKms } from './kms-vault.js';
import { startVaultFake, type VaultFake } from './vault-transit-fake.js';

const CTX = { bucket: 'b', object: 'k' };
const secretKey = () => `cairn-default:${randomBytes(32).toString('base64')}`;

let dir: string;
let vault: VaultFake;
let appVault: VaultFake;
let blackHole: Server;
const held: Socket[] = [];
let blackHolePort = 0;
let closedPort = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cairn-kms-'));
  vault = await startVaultFake();
  appVault = await startVaultFake({ approle: { roleId: 'role-1', secretId: 'secret-1', leaseSeconds: 60 }, namespace: 'team-a' });
  for (const v of [vault, appVault]) {
    const admin = new VaultKms({ endpoint: v.url, auth: { token: v.rootToken }, defaultKeyId: 'cairn-default', namespace: v === appVault ? 'team-a' : undefined });
    await admin.createKey('cairn-default');
  }
  // accepts connections and never answers: exercises the client's timeout
  blackHole = createServer((s) => void held.push(s));
  await new Promise<void>((r) => blackHole.listen(0, '127.0.0.1', r));
  blackHolePort = (blackHole.address() as { port: number }).port;
  const tmp = createServer();
  await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', r));
  closedPort = (tmp.address() as { port: number }).port;
  await new Promise<void>((r) => tmp.close(() => r()));
});

afterAll(async () => {
  for (const s of held) s.destroy();
  await new Promise<void>((r) => blackHole.close(() => r()));
  await vault.close();
  await appVault.close();
  await rm(dir, { recursive: true, force: true });
});

kmsContract('builtin (in memory)', {
  make: async () => new BuiltinKms({ keys: new Map([['cairn-default', new Map([[1, randomBytes(32)]])]]), defaultKeyId: 'cairn-default', ephemeral: true }),
  mutable: true,
});

kmsContract('builtin (key file)', {
  make: async () => {
    const file = join(dir, `keys-${randomBytes(4).toString('hex')}.json`);
    await writeFile(file, JSON.stringify({ format: 'cairn-kms-keys', version: 1, default: 'cairn-default', keys: { 'cairn-default': { '1': randomBytes(32).toString('base64') } } }));
    return BuiltinKms.fromKeyFile(file);
  },
  mutable: true,
});

kmsContract('builtin (CAIRN_KMS_SECRET_KEY)', { make: async () => BuiltinKms.fromSecretKey(secretKey()), mutable: false });

kmsContract('vault transit (fake), token auth', {
  make: async () => new VaultKms({ endpoint: vault.url, auth: { token: vault.rootToken }, defaultKeyId: 'cairn-default', retryDelayMs: 5 }),
  makeUnreachable: async () => new VaultKms({ endpoint: `http://127.0.0.1:${blackHolePort}`, auth: { token: 't' }, defaultKeyId: 'cairn-default', timeoutMs: 300, retries: 1, retryDelayMs: 5 }),
  mutable: true,
});

kmsContract('vault transit (fake), AppRole auth and namespace', {
  make: async () =>
    new VaultKms({ endpoint: appVault.url, auth: { approle: { roleId: 'role-1', secretId: 'secret-1' } }, namespace: 'team-a', defaultKeyId: 'cairn-default', retryDelayMs: 5 }),
  makeUnreachable: async () => new VaultKms({ endpoint: `http://127.0.0.1:${closedPort}`, auth: { approle: { roleId: 'r', secretId: 's' } }, defaultKeyId: 'cairn-default', retries: 2, retryDelayMs: 5 }),
  mutable: true,
});

kmsContract('metered builtin', { make: async () => new MeteredKms(BuiltinKms.fromSecretKey(secretKey())), mutable: false });

describe('builtin KMS specifics', () => {
  it('parses CAIRN_KMS_SECRET_KEY and refuses malformed values', () => {
    const key = randomBytes(32);
    expect(parseKmsSecretKey(`my-key:${key.toString('base64')}`)).toEqual({ keyId: 'my-key', key });
    for (const bad of ['', 'my-key', `:${key.toString('base64')}`, `my-key:${randomBytes(16).toString('base64')}`, 'my-key:not base64!!', `my key:${key.toString('base64')}`]) {
      expect(() => parseKmsSecretKey(bad), bad).toThrow(/CAIRN_KMS_SECRET_KEY/);
    }
  });

  it('an environment key cannot be rotated (nowhere to keep the new version)', async () => {
    const kms = BuiltinKms.fromSecretKey(secretKey());
    const err = await kms.rotateKey(kms.defaultKeyId).then(() => null, (e: unknown) => e);
    expect(isCryptoError(err, 'KmsUnsupported')).toBe(true);
  });

  it('a rotated key file survives a reload: old and new ciphertexts open, the file holds every version', async () => {
    const file = join(dir, 'reload.json');
    await writeFile(file, JSON.stringify({ format: 'cairn-kms-keys', version: 1, default: 'k', keys: { k: { '1': randomBytes(32).toString('base64') } } }));
    const a = await BuiltinKms.fromKeyFile(file);
    const v1 = await a.generateDataKey('k', CTX);
    await a.rotateKey('k');
    const v2 = await a.generateDataKey('k', CTX);
    const b = await BuiltinKms.fromKeyFile(file);
    expect((await b.decryptDataKey('k', v1.ciphertext, CTX)).equals(v1.plaintext)).toBe(true);
    expect((await b.decryptDataKey('k', v2.ciphertext, CTX)).equals(v2.plaintext)).toBe(true);
    expect(Object.keys((JSON.parse(await readFile(file, 'utf8')) as { keys: { k: object } }).keys.k)).toEqual(['1', '2']);
  });

  it('a data key is bound to its key id (same master bytes under another name do not open it)', async () => {
    const master = randomBytes(32);
    const kms = new BuiltinKms({ keys: new Map([['a', new Map([[1, master]])], ['b', new Map([[1, master]])]]), defaultKeyId: 'a' });
    const dk = await kms.generateDataKey('a', CTX);
    const err = await kms.decryptDataKey('b', dk.ciphertext, CTX).then(() => null, (e: unknown) => e);
    expect(isCryptoError(err, 'KmsDecryptFailed')).toBe(true);
  });

  it('canonical context ignores key order', () => {
    expect(canonicalContext({ b: '2', a: '1' }).equals(canonicalContext({ a: '1', b: '2' }))).toBe(true);
  });
});

describe('vault client specifics', () => {
  it('retries 5xx answers and succeeds', async () => {
    const kms = new VaultKms({ endpoint: vault.url, auth: { token: vault.rootToken }, defaultKeyId: 'cairn-default', retries: 2, retryDelayMs: 1 });
    vault.failNext(2, 502);
    const dk = await kms.generateDataKey('cairn-default', CTX);
    expect(dk.plaintext.length).toBe(32);
  });

  it('gives up after its retries with KmsUnavailable; a sealed Vault is unavailable and offline', async () => {
    const kms = new VaultKms({ endpoint: vault.url, auth: { token: vault.rootToken }, defaultKeyId: 'cairn-default', retries: 1, retryDelayMs: 1 });
    vault.failNext(2, 500);
    let err = await kms.generateDataKey('cairn-default', CTX).then(() => null, (e: unknown) => e);
    expect(isCryptoError(err, 'KmsUnavailable')).toBe(true);
    vault.sealed = true;
    try {
      err = await kms.generateDataKey('cairn-default', CTX).then(() => null, (e: unknown) => e);
      expect(isCryptoError(err, 'KmsUnavailable')).toBe(true);
      expect((await kms.status()).online).toBe(false);
    } finally {
      vault.sealed = false;
    }
    expect((await kms.status()).online).toBe(true);
  });

  it('a bad token is KmsAccessDenied, not unavailable', async () => {
    const kms = new VaultKms({ endpoint: vault.url, auth: { token: 'hvs.wrong' }, defaultKeyId: 'cairn-default', retryDelayMs: 1 });
    const err = await kms.generateDataKey('cairn-default', CTX).then(() => null, (e: unknown) => e);
    expect(isCryptoError(err, 'KmsAccessDenied')).toBe(true);
  });

  it('AppRole: logs in once, renews the token before expiry, logs in again when the token is revoked', async () => {
    let now = 1_000_000;
    const kms = new VaultKms({
      endpoint: appVault.url,
      auth: { approle: { roleId: 'role-1', secretId: 'secret-1' } },
      namespace: 'team-a',
      defaultKeyId: 'cairn-default',
      now: () => now,
    });
    const logins0 = appVault.counts.logins;
    const renewals0 = appVault.counts.renewals;
    const dk = await kms.generateDataKey('cairn-default', CTX);
    await kms.decryptDataKey('cairn-default', dk.ciphertext, CTX);
    expect(appVault.counts.logins - logins0).toBe(1);
    now += 45_000; // 60 s lease, renew when a third is left
    await kms.decryptDataKey('cairn-default', dk.ciphertext, CTX);
    expect(appVault.counts.renewals - renewals0).toBe(1);
    expect(appVault.counts.logins - logins0).toBe(1);
    appVault.revokeTokens();
    expect((await kms.decryptDataKey('cairn-default', dk.ciphertext, CTX)).equals(dk.plaintext)).toBe(true);
    expect(appVault.counts.logins - logins0).toBe(2);
  });

  it('AppRole with a wrong secret is KmsAccessDenied', async () => {
    const kms = new VaultKms({ endpoint: appVault.url, auth: { approle: { roleId: 'role-1', secretId: 'nope' } }, namespace: 'team-a', defaultKeyId: 'cairn-default' });
    const err = await kms.generateDataKey('cairn-default', CTX).then(() => null, (e: unknown) => e);
    expect(isCryptoError(err, 'KmsAccessDenied')).toBe(true);
  });

  it('speaks the documented paths and sends versioned vault: ciphertexts', async () => {
    const kms = new VaultKms({ endpoint: vault.url, auth: { token: vault.rootToken }, defaultKeyId: 'cairn-default' });
    const from = vault.requests.length;
    const dk = await kms.generateDataKey('cairn-default', CTX);
    expect(dk.ciphertext.toString('utf8')).toMatch(/^vault:v\d+:/);
    await kms.decryptDataKey('cairn-default', dk.ciphertext, CTX);
    await kms.rewrap('cairn-default', dk.ciphertext, CTX);
    await kms.listKeys();
    const seen = vault.requests.slice(from);
    expect(seen).toEqual(
      expect.arrayContaining([
        'POST /v1/transit/datakey/plaintext/cairn-default',
        'POST /v1/transit/decrypt/cairn-default',
        'POST /v1/transit/rewrap/cairn-default',
        'GET /v1/transit/keys?list=true',
        'GET /v1/transit/keys/cairn-default',
      ]),
    );
  });
});

describe('MeteredKms', () => {
  it('counts calls, errors by code and latency, and tracks health', async () => {
    let t = 0;
    const down = new MeteredKms(
      new VaultKms({ endpoint: `http://127.0.0.1:${closedPort}`, auth: { token: 'x' }, defaultKeyId: 'k', retries: 0 }),
      () => (t += 5),
    );
    const ok = new MeteredKms(BuiltinKms.fromSecretKey(secretKey()));
    const dk = await ok.generateDataKey(ok.defaultKeyId, CTX);
    await ok.decryptDataKey(ok.defaultKeyId, dk.ciphertext, CTX);
    await ok.decryptDataKey(ok.defaultKeyId, dk.ciphertext, { x: 'y' }).catch(() => {});
    const s = ok.kmsStats();
    expect(s.online).toBe(true);
    expect(s.ops.generateDataKey.calls).toBe(1);
    expect(s.ops.decryptDataKey).toMatchObject({ calls: 2, errors: 1, errorsByCode: { KmsDecryptFailed: 1 } });

    await down.generateDataKey('k', CTX).catch(() => {});
    const d = down.kmsStats();
    expect(d.online).toBe(false);
    expect(d.ops.generateDataKey.errorsByCode.KmsUnavailable).toBe(1);
    expect(d.ops.generateDataKey.lastMs).toBe(5);
    expect((await down.status()).online).toBe(false);
    expect(down.kmsStats().lastStatusAt).toBeTypeOf('number');
  });
});

describe('KMS configuration from the environment', () => {
  it('picks exactly one backend and validates its settings', async () => {
    const sk = secretKey();
    expect(kmsConfigFromEnv({})).toEqual({ backend: 'none' });
    expect(kmsConfigFromEnv({ CAIRN_KMS_SECRET_KEY: sk })).toEqual({ backend: 'builtin-env', secretKey: sk });
    expect(kmsConfigFromEnv({ CAIRN_KMS_KEY_FILE: '/k.json' })).toEqual({ backend: 'builtin-file', file: '/k.json' });
    expect(
      kmsConfigFromEnv({ CAIRN_KMS_VAULT_ENDPOINT: vault.url, CAIRN_KMS_VAULT_KEY_NAME: 'cairn-default', CAIRN_KMS_VAULT_APPROLE_ID: 'r', CAIRN_KMS_VAULT_APPROLE_SECRET: 's', CAIRN_KMS_VAULT_NAMESPACE: 'ns' }),
    ).toMatchObject({ backend: 'vault', vault: { endpoint: vault.url, defaultKeyId: 'cairn-default', namespace: 'ns', auth: { approle: { roleId: 'r', secretId: 's' } } } });
    for (const bad of [
      { CAIRN_KMS_SECRET_KEY: sk, CAIRN_KMS_KEY_FILE: '/k' },
      { CAIRN_KMS_VAULT_ENDPOINT: vault.url, CAIRN_KMS_VAULT_TOKEN: 't' },
      { CAIRN_KMS_VAULT_ENDPOINT: vault.url, CAIRN_KMS_VAULT_KEY_NAME: 'k' },
      { CAIRN_KMS_VAULT_ENDPOINT: vault.url, CAIRN_KMS_VAULT_KEY_NAME: 'k', CAIRN_KMS_VAULT_TOKEN: 't', CAIRN_KMS_VAULT_TIMEOUT_MS: '5s' },
    ]) {
      expect(() => kmsConfigFromEnv(bad), JSON.stringify(bad)).toThrow(/KMS|CAIRN_KMS/);
    }
    const kms = await createKms(kmsConfigFromEnv({ CAIRN_KMS_VAULT_ENDPOINT: vault.url, CAIRN_KMS_VAULT_KEY_NAME: 'cairn-default', CAIRN_KMS_VAULT_TOKEN: vault.rootToken }));
    const dk = await kms!.generateDataKey(kms!.defaultKeyId, CTX);
    expect((await kms!.decryptDataKey('cairn-default', dk.ciphertext, CTX)).equals(dk.plaintext)).toBe(true);
    expect(kms!.kmsStats().ops.generateDataKey.calls).toBe(1);
    expect(await createKms({ backend: 'none' })).toBeUndefined();
  });
});
