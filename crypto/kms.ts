/**
 * The key management service boundary. Object keys are sealed with data keys
 * the KMS generates (envelope encryption); the KMS's own master keys never
 * leave it. Backends: kms-builtin.ts (master keys from the environment or a key
 * file) and kms-vault.ts (HashiCorp Vault Transit). Every backend runs
 * kms.contract.ts.
 */
import { CryptoError, isCryptoError, type CryptoErrorCode } from './errors.js';

/**
 * Encryption context: authenticated, not secret. A data key only decrypts with
 * the context it was generated under. Cairn binds bucket and object name, and
 * SSE-KMS adds the client's x-amz-server-side-encryption-context.
 */
export type KmsContext = Readonly<Record<string, string>>;

export interface DataKey {
  /** 32 bytes; use, then drop. Never persisted. */
  readonly plaintext: Buffer;
  /** opaque, self-describing blob to persist (records the master key version) */
  readonly ciphertext: Buffer;
  readonly keyId: string;
  readonly keyVersion: number;
}

export interface KmsStatus {
  readonly online: boolean;
  readonly latencyMs: number;
  readonly backend: string;
  readonly error?: string;
}

export interface KmsKeyInfo {
  readonly keyId: string;
  readonly latestVersion: number;
}

export interface Kms {
  /** 'builtin' | 'vault' | … for logs, metrics and status */
  readonly backend: string;
  /** Key used for SSE-S3 and for SSE-KMS without a key id. */
  readonly defaultKeyId: string;
  generateDataKey(keyId: string, context: KmsContext): Promise<DataKey>;
  decryptDataKey(keyId: string, ciphertext: Buffer, context: KmsContext): Promise<Buffer>;
  /**
   * Re-seal a data key under the newest version of `keyId` without handing the
   * plaintext to the caller (rotation: `cairn admin kms rotate`).
   */
  rewrap(keyId: string, ciphertext: Buffer, context: KmsContext): Promise<{ ciphertext: Buffer; keyVersion: number }>;
  /** Never throws: an unreachable backend reports online: false. */
  status(): Promise<KmsStatus>;
  listKeys(): Promise<KmsKeyInfo[]>;
  createKey?(keyId: string): Promise<void>;
  /** Adds a new version of `keyId`; new data keys use it, old ciphertexts still open. Returns the new version. */
  rotateKey?(keyId: string): Promise<number>;
  close?(): Promise<void>;
}

/**
 * Canonical bytes of a context: keys sorted, JSON-encoded. Both backends and
 * the key-sealing AAD use it, so {b, a} and {a, b} are the same context.
 */
export function canonicalContext(ctx: KmsContext): Buffer {
  const keys = Object.keys(ctx).sort();
  const sorted: Record<string, string> = {};
  for (const k of keys) {
    const v = ctx[k];
    if (typeof v !== 'string') throw new CryptoError('KmsError', `context value for ${k} is not a string`);
    sorted[k] = v;
  }
  return Buffer.from(JSON.stringify(sorted), 'utf8');
}

type Op = 'generateDataKey' | 'decryptDataKey' | 'rewrap' | 'listKeys' | 'status' | 'createKey' | 'rotateKey';

export interface KmsOpStats {
  calls: number;
  errors: number;
  /** errors by CryptoError code ('other' for untyped) */
  errorsByCode: Partial<Record<CryptoErrorCode | 'other', number>>;
  totalMs: number;
  maxMs: number;
  lastMs: number;
}

export interface KmsStats {
  readonly backend: string;
  online: boolean;
  lastStatusAt: number | undefined;
  lastLatencyMs: number | undefined;
  lastError: string | undefined;
  readonly ops: Record<Op, KmsOpStats>;
}

const OPS: readonly Op[] = ['generateDataKey', 'decryptDataKey', 'rewrap', 'listKeys', 'status', 'createKey', 'rotateKey'];

/**
 * Wraps any Kms with counters and latency (an interceptor, not a subclass).
 * `kmsStats()` is what the metrics endpoint reads; prom-client wiring lives in
 * server/. Health is updated by every call: a KmsUnavailable marks the KMS
 * offline, any answer marks it online.
 */
export class MeteredKms implements Kms {
  private readonly stats: KmsStats;

  constructor(
    private readonly inner: Kms,
    private readonly now: () => number = () => performance.now(),
  ) {
    const ops = {} as Record<Op, KmsOpStats>;
    for (const op of OPS) ops[op] = { calls: 0, errors: 0, errorsByCode: {}, totalMs: 0, maxMs: 0, lastMs: 0 };
    this.stats = { backend: inner.backend, online: true, lastStatusAt: undefined, lastLatencyMs: undefined, lastError: undefined, ops };
    if (inner.createKey) this.createKey = (keyId) => this.measure('createKey', () => inner.createKey!(keyId));
    if (inner.rotateKey) this.rotateKey = (keyId) => this.measure('rotateKey', () => inner.rotateKey!(keyId));
  }

  get backend(): string {
    return this.inner.backend;
  }
  get defaultKeyId(): string {
    return this.inner.defaultKeyId;
  }

  createKey?: (keyId: string) => Promise<void>;
  rotateKey?: (keyId: string) => Promise<number>;

  /** A snapshot (deep copy) of the counters. */
  kmsStats(): KmsStats {
    return structuredClone(this.stats);
  }

  private async measure<T>(op: Op, fn: () => Promise<T>): Promise<T> {
    const s = this.stats.ops[op];
    s.calls++;
    const t0 = this.now();
    try {
      const r = await fn();
      this.stats.online = true;
      return r;
    } catch (err) {
      s.errors++;
      const code = isCryptoError(err) ? err.code : 'other';
      s.errorsByCode[code] = (s.errorsByCode[code] ?? 0) + 1;
      if (code === 'KmsUnavailable') this.stats.online = false;
      this.stats.lastError = err instanceof Error ? err.message : String(err);
      throw err;
    } finally {
      const ms = this.now() - t0;
      s.totalMs += ms;
      s.lastMs = ms;
      if (ms > s.maxMs) s.maxMs = ms;
    }
  }

  generateDataKey(keyId: string, context: KmsContext): Promise<DataKey> {
    return this.measure('generateDataKey', () => this.inner.generateDataKey(keyId, context));
  }
  decryptDataKey(keyId: string, ciphertext: Buffer, context: KmsContext): Promise<Buffer> {
    return this.measure('decryptDataKey', () => this.inner.decryptDataKey(keyId, ciphertext, context));
  }
  rewrap(keyId: string, ciphertext: Buffer, context: KmsContext): Promise<{ ciphertext: Buffer; keyVersion: number }> {
    return this.measure('rewrap', () => this.inner.rewrap(keyId, ciphertext, context));
  }
  listKeys(): Promise<KmsKeyInfo[]> {
    return this.measure('listKeys', () => this.inner.listKeys());
  }
  async status(): Promise<KmsStatus> {
    const st = await this.measure('status', () => this.inner.status());
    this.stats.online = st.online;
    this.stats.lastStatusAt = Date.now();
    this.stats.lastLatencyMs = st.latencyMs;
    if (st.error) this.stats.lastError = st.error;
    return st;
  }
  /** Probes status() every `intervalMs` so health stays current while idle (timer unref'd). Returns stop. */
  probeEvery(intervalMs: number): () => void {
    const t = setInterval(() => void this.status().catch(() => {}), intervalMs);
    t.unref();
    return () => clearInterval(t);
  }
  close(): Promise<void> {
    return this.inner.close?.() ?? Promise.resolve();
  }
}
