/**
 * Kms backed by HashiCorp Vault's Transit secrets engine, over its documented
 * HTTP API (no Vault SDK):
 *
 *   POST /v1/transit/datakey/plaintext/:name   generate a data key
 *   POST /v1/transit/decrypt/:name             open one
 *   POST /v1/transit/rewrap/:name              re-seal under the newest key version
 *   POST /v1/transit/keys/:name                create (type aes256-gcm96, derived)
 *   POST /v1/transit/keys/:name/rotate         add a key version
 *   GET  /v1/transit/keys/:name                latest_version
 *   LIST /v1/transit/keys (sent as GET ?list=true) key names
 *   GET  /v1/sys/health                        status
 *   POST /v1/auth/approle/login, /v1/auth/token/renew-self
 *
 * Keys are derived keys: every call sends the canonical context as base64, so
 * a data key only opens with the context it was made under (Vault's "context
 * for key derivation"). Keys created outside Cairn must be created with
 * derived=true. Ciphertexts are Vault's own strings ("vault:v2:…", the version
 * is Vault's key version), kept as UTF-8 bytes.
 *
 * Not tested against a real Vault (none can be installed here): tests run
 * against vault-transit-fake.ts, which implements this subset of the API.
 */
import { CryptoError, kmsDecryptFailed, kmsKeyNotFound, kmsUnavailable } from './errors.js';
import { canonicalContext, type DataKey, type Kms, type KmsContext, type KmsKeyInfo, type KmsStatus } from './kms.js';

export type VaultAuth =
  | { readonly token: string }
  | { readonly approle: { readonly roleId: string; readonly secretId: string; readonly mount?: string } };

export interface VaultKmsOptions {
  /** e.g. https://vault.example:8200 */
  readonly endpoint: string;
  readonly auth: VaultAuth;
  readonly defaultKeyId: string;
  /** Transit mount path, default "transit" */
  readonly mount?: string;
  /** Vault Enterprise namespace (X-Vault-Namespace) */
  readonly namespace?: string;
  /** per attempt, default 5000 ms */
  readonly timeoutMs?: number;
  /** extra attempts on network errors, timeouts, 5xx and 429; default 2 */
  readonly retries?: number;
  /** first back-off, doubled per attempt; default 100 ms */
  readonly retryDelayMs?: number;
  /** renew an AppRole token when less than this fraction of its lease is left; default 1/3 */
  readonly renewFraction?: number;
  /** clock, for tests of token renewal */
  readonly now?: () => number;
}

interface VaultAnswer {
  status: number;
  body: { data?: Record<string, unknown>; auth?: Record<string, unknown>; errors?: string[] } | undefined;
}

/** Failures worth another attempt. */
class Retryable extends Error {}

const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export class VaultKms implements Kms {
  readonly backend = 'vault';
  readonly defaultKeyId: string;
  private readonly base: string;
  private readonly mount: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly now: () => number;
  private token: string | undefined;
  /** when the AppRole token should be renewed / when it expires (ms, this.now clock) */
  private renewAt = Infinity;
  private expiresAt = Infinity;
  private renewable = false;
  private authInFlight: Promise<void> | undefined;

  constructor(private readonly opts: VaultKmsOptions) {
    this.base = opts.endpoint.replace(/\/+$/, '');
    this.mount = (opts.mount ?? 'transit').replace(/^\/+|\/+$/g, '');
    this.defaultKeyId = opts.defaultKeyId;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.retries = opts.retries ?? 2;
    this.retryDelayMs = opts.retryDelayMs ?? 100;
    this.now = opts.now ?? Date.now;
    if ('token' in opts.auth) this.token = opts.auth.token;
  }

  // ---- HTTP ----

  /** One HTTP exchange with retries; maps transport failures to KmsUnavailable. */
  private async call(method: string, path: string, body?: unknown, auth: 'token' | 'none' | { token: string } = 'token'): Promise<VaultAnswer> {
    let lastErr: unknown;
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      if (attempt > 0) await sleep(this.retryDelayMs * 2 ** (attempt - 1));
      try {
        const headers: Record<string, string> = { accept: 'application/json' };
        if (body !== undefined) headers['content-type'] = 'application/json';
        if (this.opts.namespace) headers['x-vault-namespace'] = this.opts.namespace;
        if (auth !== 'none') headers['x-vault-token'] = auth === 'token' ? await this.currentToken() : auth.token;
        let res: Response;
        try {
          res = await fetch(`${this.base}${path}`, {
            method,
            headers,
            body: body === undefined ? undefined : JSON.stringify(body),
            signal: AbortSignal.timeout(this.timeoutMs),
          });
        } catch (err) {
          throw new Retryable(errMessage(err), { cause: err });
        }
        let text: string;
        try {
          text = await res.text();
        } catch (err) {
          throw new Retryable(errMessage(err), { cause: err });
        }
        if (res.status >= 500 || res.status === 429) {
          throw new Retryable(`HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ''}`);
        }
        let parsed: VaultAnswer['body'];
        try {
          parsed = text ? (JSON.parse(text) as VaultAnswer['body']) : undefined;
        } catch {
          throw new CryptoError('KmsError', `Vault answered HTTP ${res.status} with a body that is not JSON`);
        }
        return { status: res.status, body: parsed };
      } catch (err) {
        if (!(err instanceof Retryable)) throw err;
        lastErr = err;
      }
    }
    throw kmsUnavailable(this.backend, errMessage(lastErr), lastErr);
  }

  /** A call whose non-2xx answers become typed errors; re-authenticates once on 403 with AppRole. */
  private async ok(method: string, path: string, body?: unknown, keyId?: string): Promise<VaultAnswer> {
    let r = await this.call(method, path, body);
    if (r.status === 403 && 'approle' in this.opts.auth) {
      this.token = undefined; // token revoked or expired under us: log in again
      r = await this.call(method, path, body);
    }
    if (r.status >= 200 && r.status < 300) return r;
    const msg = (r.body?.errors ?? []).join('; ');
    if (r.status === 403) throw new CryptoError('KmsAccessDenied', `Vault denied ${method} ${path}: ${msg || 'permission denied'}`);
    if (r.status === 404 || /encryption key not found|no existing key named/i.test(msg)) throw kmsKeyNotFound(keyId ?? path);
    if (r.status === 400 && /message authentication failed|invalid ciphertext|unable to decode|context|decrypt/i.test(msg)) {
      throw kmsDecryptFailed(`Vault: ${msg}`);
    }
    throw new CryptoError('KmsError', `Vault ${method} ${path}: HTTP ${r.status} ${msg}`);
  }

  // ---- auth ----

  private async currentToken(): Promise<string> {
    if ('token' in this.opts.auth) return this.opts.auth.token;
    const t = this.now();
    if (this.token && t < this.renewAt) return this.token;
    this.authInFlight ??= (this.token && this.renewable && t < this.expiresAt ? this.renew() : this.login()).finally(() => {
      this.authInFlight = undefined;
    });
    await this.authInFlight;
    return this.token!;
  }

  private adopt(auth: Record<string, unknown> | undefined, what: string): void {
    const token = auth?.client_token;
    if (typeof token !== 'string' || !token) throw new CryptoError('KmsAccessDenied', `Vault ${what} returned no token`);
    const lease = typeof auth?.lease_duration === 'number' ? auth.lease_duration : 0;
    const t = this.now();
    this.token = token;
    this.renewable = auth?.renewable === true;
    this.expiresAt = lease > 0 ? t + lease * 1000 : Infinity;
    this.renewAt = lease > 0 ? t + lease * 1000 * (1 - (this.opts.renewFraction ?? 1 / 3)) : Infinity;
  }

  private async login(): Promise<void> {
    if (!('approle' in this.opts.auth)) return;
    const { roleId, secretId, mount } = this.opts.auth.approle;
    const r = await this.call('POST', `/v1/auth/${mount ?? 'approle'}/login`, { role_id: roleId, secret_id: secretId }, 'none');
    if (r.status < 200 || r.status >= 300) {
      throw new CryptoError('KmsAccessDenied', `Vault AppRole login failed: HTTP ${r.status} ${(r.body?.errors ?? []).join('; ')}`);
    }
    this.adopt(r.body?.auth, 'AppRole login');
  }

  private async renew(): Promise<void> {
    // Renewal sends the token being renewed, which currentToken() would not hand out now.
    const r = await this.call('POST', '/v1/auth/token/renew-self', {}, { token: this.token! });
    if (r.status >= 200 && r.status < 300 && r.body?.auth) {
      this.adopt(r.body.auth, 'token renewal');
      // A renewal that no longer extends the lease (max TTL reached) is as good as none.
      if (this.renewAt <= this.now()) await this.login();
      return;
    }
    await this.login();
  }

  // ---- Kms ----

  private keyPath(op: string, keyId: string): string {
    if (!KEY_NAME.test(keyId)) throw kmsKeyNotFound(keyId);
    return `/v1/${this.mount}/${op}/${encodeURIComponent(keyId)}`;
  }

  async generateDataKey(keyId: string, context: KmsContext): Promise<DataKey> {
    const r = await this.ok('POST', this.keyPath('datakey/plaintext', keyId), { context: ctx64(context), bits: 256 }, keyId);
    const d = r.body?.data ?? {};
    const plaintext = Buffer.from(String(d.plaintext ?? ''), 'base64');
    const ciphertext = String(d.ciphertext ?? '');
    if (plaintext.length !== 32 || !ciphertext.startsWith('vault:v')) throw new CryptoError('KmsError', 'Vault datakey answer is malformed');
    return { plaintext, ciphertext: Buffer.from(ciphertext, 'utf8'), keyId, keyVersion: Number(d.key_version ?? versionOf(ciphertext)) };
  }

  async decryptDataKey(keyId: string, ciphertext: Buffer, context: KmsContext): Promise<Buffer> {
    const r = await this.ok('POST', this.keyPath('decrypt', keyId), { ciphertext: vaultCiphertext(ciphertext), context: ctx64(context) }, keyId);
    const plain = Buffer.from(String(r.body?.data?.plaintext ?? ''), 'base64');
    if (plain.length === 0) throw new CryptoError('KmsError', 'Vault decrypt answer is malformed');
    return plain;
  }

  async rewrap(keyId: string, ciphertext: Buffer, context: KmsContext): Promise<{ ciphertext: Buffer; keyVersion: number }> {
    const r = await this.ok('POST', this.keyPath('rewrap', keyId), { ciphertext: vaultCiphertext(ciphertext), context: ctx64(context) }, keyId);
    const ct = String(r.body?.data?.ciphertext ?? '');
    if (!ct.startsWith('vault:v')) throw new CryptoError('KmsError', 'Vault rewrap answer is malformed');
    return { ciphertext: Buffer.from(ct, 'utf8'), keyVersion: Number(r.body?.data?.key_version ?? versionOf(ct)) };
  }

  async status(): Promise<KmsStatus> {
    const t0 = performance.now();
    try {
      // standbyok: a standby node still serves Transit (forwarded); sealed → 503.
      const r = await this.call('GET', '/v1/sys/health?standbyok=true&perfstandbyok=true', undefined, 'none');
      const latencyMs = performance.now() - t0;
      const sealed = r.body && (r.body as Record<string, unknown>).sealed === true;
      if (r.status === 200 && !sealed) return { online: true, latencyMs, backend: this.backend };
      return { online: false, latencyMs, backend: this.backend, error: `health: HTTP ${r.status}` };
    } catch (err) {
      return { online: false, latencyMs: performance.now() - t0, backend: this.backend, error: errMessage(err) };
    }
  }

  async listKeys(): Promise<KmsKeyInfo[]> {
    // Vault documents GET ?list=true as equal to the LIST verb; GET passes every proxy and HTTP stack.
    const r = await this.call('GET', `/v1/${this.mount}/keys?list=true`);
    if (r.status === 404) return []; // Vault answers 404 to a LIST with no entries
    if (r.status < 200 || r.status >= 300) throw new CryptoError(r.status === 403 ? 'KmsAccessDenied' : 'KmsError', `Vault LIST keys: HTTP ${r.status}`);
    const names = (r.body?.data?.keys ?? []) as unknown[];
    const out: KmsKeyInfo[] = [];
    for (const n of names) if (typeof n === 'string') out.push({ keyId: n, latestVersion: await this.latestVersion(n) });
    return out;
  }

  private async latestVersion(keyId: string): Promise<number> {
    const r = await this.ok('GET', this.keyPath('keys', keyId), undefined, keyId);
    return Number(r.body?.data?.latest_version ?? 0);
  }

  async createKey(keyId: string): Promise<void> {
    const r = await this.call('GET', this.keyPath('keys', keyId));
    if (r.status === 200) throw new CryptoError('KmsKeyExists', `KMS key exists: ${keyId}`);
    await this.ok('POST', this.keyPath('keys', keyId), { type: 'aes256-gcm96', derived: true }, keyId);
  }

  async rotateKey(keyId: string): Promise<number> {
    await this.ok('POST', `${this.keyPath('keys', keyId)}/rotate`, {}, keyId);
    return this.latestVersion(keyId);
  }
}

function ctx64(ctx: KmsContext): string {
  return canonicalContext(ctx).toString('base64');
}

function vaultCiphertext(b: Buffer): string {
  const s = b.toString('utf8');
  if (!/^vault:v\d+:[A-Za-z0-9+/=]+$/.test(s)) throw kmsDecryptFailed('not a Vault Transit ciphertext');
  return s;
}

function versionOf(ct: string): number {
  return Number(/^vault:v(\d+):/.exec(ct)?.[1] ?? 0);
}

function errMessage(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? ` (${err.cause.message})` : '';
    return `${err.message}${cause}`;
  }
  return String(err);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
