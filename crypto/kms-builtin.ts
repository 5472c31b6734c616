/**
 * The built-in KMS: named master keys held by the Cairn process itself.
 *
 * Sources:
 * - `CAIRN_KMS_SECRET_KEY=<key-name>:<base64 of 32 bytes>` (the format of
 *   MinIO's MINIO_KMS_SECRET_KEY): one key, version 1, no rotation (there is
 *   nowhere to keep a new version).
 * - a key file (JSON, below) with named keys and versions; createKey and
 *   rotateKey write it back atomically (temp file, fsync, rename).
 *
 *   { "format": "cairn-kms-keys", "version": 1, "default": "my-key",
 *     "keys": { "my-key": { "1": "<base64 32 bytes>", "2": "<base64>" } } }
 *
 * Data-key ciphertext (binary, all integers big-endian):
 *   "CKMS" | 0x01 | key version u32 | salt(32) | iv(12) | encrypted data key | tag(16)
 * sealed with AES-256-GCM under HMAC-SHA256(master key version, "cairn-kms-builtin v1" | salt),
 * so every data key has its own sealing key and GCM's random-nonce limit never
 * applies to the master key. AAD = the 53 header bytes | key id | 0x00 | canonical context.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { CryptoError, kmsDecryptFailed, kmsKeyNotFound } from './errors.js';
import { canonicalContext, type DataKey, type Kms, type KmsContext, type KmsKeyInfo, type KmsStatus } from './kms.js';

const MAGIC = Buffer.from('CKMS', 'latin1');
const HEAD = 4 + 1 + 4 + 32 + 12; // 53
const TAG = 16;
const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface BuiltinKmsOptions {
  /** key id → version → 32-byte master key */
  readonly keys: ReadonlyMap<string, ReadonlyMap<number, Buffer>>;
  readonly defaultKeyId: string;
  /** where createKey/rotateKey persist; without it they are refused unless `ephemeral` */
  readonly file?: string;
  /** tests only: allow createKey/rotateKey in memory */
  readonly ephemeral?: boolean;
}

/** Parses `<key-name>:<base64 of 32 bytes>`. */
export function parseKmsSecretKey(value: string): { keyId: string; key: Buffer } {
  const i = value.indexOf(':');
  const keyId = i > 0 ? value.slice(0, i) : '';
  const b64 = value.slice(i + 1).trim();
  const key = Buffer.from(b64, 'base64');
  if (!KEY_NAME.test(keyId) || key.length !== 32 || !/^[A-Za-z0-9+/]{43}=?$/.test(b64)) {
    throw new CryptoError('KmsError', 'CAIRN_KMS_SECRET_KEY must be <key-name>:<base64 of 32 bytes>');
  }
  return { keyId, key };
}

export class BuiltinKms implements Kms {
  readonly backend = 'builtin';
  readonly defaultKeyId: string;
  private readonly keys: Map<string, Map<number, Buffer>>;
  private readonly file: string | undefined;
  private readonly mutable: boolean;
  /** serializes key-file writes */
  private writing: Promise<unknown> = Promise.resolve();

  constructor(opts: BuiltinKmsOptions) {
    this.keys = new Map([...opts.keys].map(([k, vs]) => [k, new Map(vs)]));
    for (const [k, vs] of this.keys) {
      if (!KEY_NAME.test(k)) throw new CryptoError('KmsError', `bad KMS key name: ${k}`);
      for (const [v, key] of vs) {
        if (!Number.isInteger(v) || v < 1 || key.length !== 32) throw new CryptoError('KmsError', `bad KMS key ${k} version ${v}`);
      }
    }
    if (!this.keys.has(opts.defaultKeyId)) throw new CryptoError('KmsError', `default KMS key ${opts.defaultKeyId} is not defined`);
    this.defaultKeyId = opts.defaultKeyId;
    this.file = opts.file;
    this.mutable = opts.file !== undefined || opts.ephemeral === true;
  }

  static fromSecretKey(value: string): BuiltinKms {
    const { keyId, key } = parseKmsSecretKey(value);
    return new BuiltinKms({ keys: new Map([[keyId, new Map([[1, key]])]]), defaultKeyId: keyId });
  }

  static async fromKeyFile(file: string): Promise<BuiltinKms> {
    let doc: unknown;
    try {
      doc = JSON.parse(await readFile(file, 'utf8'));
    } catch (err) {
      throw new CryptoError('KmsError', `cannot read KMS key file ${file}`, { cause: err });
    }
    const d = doc as { format?: unknown; version?: unknown; default?: unknown; keys?: unknown };
    if (d.format !== 'cairn-kms-keys' || d.version !== 1 || typeof d.default !== 'string' || typeof d.keys !== 'object' || !d.keys) {
      throw new CryptoError('KmsError', `${file} is not a cairn-kms-keys v1 file`);
    }
    const keys = new Map<string, Map<number, Buffer>>();
    for (const [name, versions] of Object.entries(d.keys as Record<string, Record<string, string>>)) {
      keys.set(name, new Map(Object.entries(versions).map(([v, b64]) => [Number(v), Buffer.from(b64, 'base64')])));
    }
    return new BuiltinKms({ keys, defaultKeyId: d.default, file });
  }

  private latest(keyId: string): { version: number; key: Buffer } {
    const vs = this.keys.get(keyId);
    if (!vs || vs.size === 0) throw kmsKeyNotFound(keyId);
    const version = Math.max(...vs.keys());
    return { version, key: vs.get(version)! };
  }

  private seal(keyId: string, version: number, master: Buffer, plaintext: Buffer, context: KmsContext): Buffer {
    const head = Buffer.alloc(HEAD);
    MAGIC.copy(head, 0);
    head[4] = 1;
    head.writeUInt32BE(version, 5);
    const salt = randomBytes(32);
    salt.copy(head, 9);
    randomBytes(12).copy(head, 41);
    const c = createCipheriv('aes-256-gcm', kek(master, salt), head.subarray(41, 53));
    c.setAAD(aad(head, keyId, context));
    return Buffer.concat([head, c.update(plaintext), c.final(), c.getAuthTag()]);
  }

  private open(keyId: string, blob: Buffer, context: KmsContext): Buffer {
    const vs = this.keys.get(keyId);
    if (!vs) throw kmsKeyNotFound(keyId);
    if (blob.length < HEAD + TAG || !blob.subarray(0, 4).equals(MAGIC) || blob[4] !== 1) {
      throw kmsDecryptFailed('not a builtin KMS ciphertext');
    }
    const version = blob.readUInt32BE(5);
    const master = vs.get(version);
    if (!master) throw new CryptoError('KmsKeyNotFound', `KMS key ${keyId} has no version ${version}`);
    const head = blob.subarray(0, HEAD);
    const d = createDecipheriv('aes-256-gcm', kek(master, blob.subarray(9, 41)), blob.subarray(41, 53));
    d.setAAD(aad(head, keyId, context));
    d.setAuthTag(blob.subarray(blob.length - TAG));
    try {
      return Buffer.concat([d.update(blob.subarray(HEAD, blob.length - TAG)), d.final()]);
    } catch {
      throw kmsDecryptFailed();
    }
  }

  async generateDataKey(keyId: string, context: KmsContext): Promise<DataKey> {
    const { version, key } = this.latest(keyId);
    const plaintext = randomBytes(32);
    return { plaintext, ciphertext: this.seal(keyId, version, key, plaintext, context), keyId, keyVersion: version };
  }

  async decryptDataKey(keyId: string, ciphertext: Buffer, context: KmsContext): Promise<Buffer> {
    return this.open(keyId, ciphertext, context);
  }

  async rewrap(keyId: string, ciphertext: Buffer, context: KmsContext): Promise<{ ciphertext: Buffer; keyVersion: number }> {
    const plain = this.open(keyId, ciphertext, context);
    try {
      const { version, key } = this.latest(keyId);
      return { ciphertext: this.seal(keyId, version, key, plain, context), keyVersion: version };
    } finally {
      plain.fill(0);
    }
  }

  async status(): Promise<KmsStatus> {
    return { online: true, latencyMs: 0, backend: this.backend };
  }

  async listKeys(): Promise<KmsKeyInfo[]> {
    return [...this.keys].map(([keyId, vs]) => ({ keyId, latestVersion: Math.max(...vs.keys()) }));
  }

  async createKey(keyId: string): Promise<void> {
    this.checkMutable();
    if (!KEY_NAME.test(keyId)) throw new CryptoError('KmsError', `bad KMS key name: ${keyId}`);
    if (this.keys.has(keyId)) throw new CryptoError('KmsKeyExists', `KMS key exists: ${keyId}`);
    this.keys.set(keyId, new Map([[1, randomBytes(32)]]));
    await this.persist(() => this.keys.delete(keyId));
  }

  async rotateKey(keyId: string): Promise<number> {
    this.checkMutable();
    const { version } = this.latest(keyId);
    const vs = this.keys.get(keyId)!;
    vs.set(version + 1, randomBytes(32));
    await this.persist(() => vs.delete(version + 1));
    return version + 1;
  }

  private checkMutable(): void {
    if (!this.mutable) {
      throw new CryptoError('KmsUnsupported', 'keys given by CAIRN_KMS_SECRET_KEY cannot be created or rotated; use a key file');
    }
  }

  /** Writes the key file; on failure undoes the in-memory change so memory never holds a key the file lacks. */
  private async persist(undo: () => void): Promise<void> {
    if (!this.file) return;
    const file = this.file;
    const doc = {
      format: 'cairn-kms-keys',
      version: 1,
      default: this.defaultKeyId,
      keys: Object.fromEntries([...this.keys].map(([k, vs]) => [k, Object.fromEntries([...vs].map(([v, key]) => [String(v), key.toString('base64')]))])),
    };
    const write = this.writing.then(async () => {
      const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
      const fh = await open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(JSON.stringify(doc, null, 2) + '\n');
        await fh.sync();
      } finally {
        await fh.close();
      }
      try {
        await rename(tmp, file);
      } catch (err) {
        await unlink(tmp).catch(() => {});
        throw err;
      }
    });
    this.writing = write.catch(() => {});
    try {
      await write;
    } catch (err) {
      undo();
      throw new CryptoError('KmsError', `cannot write KMS key file ${file}`, { cause: err });
    }
  }
}

function kek(master: Buffer, salt: Buffer): Buffer {
  return createHmac('sha256', master).update('cairn-kms-builtin v1').update(salt).digest();
}

function aad(head: Buffer, keyId: string, context: KmsContext): Buffer {
  return Buffer.concat([head, Buffer.from(keyId, 'utf8'), Buffer.from([0]), canonicalContext(context)]);
}
