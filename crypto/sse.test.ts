import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { isCryptoError, type CryptoErrorCode } from './errors.js';
import { BuiltinKms } from './kms-builtin.js';
import { createDecryptStream, createEncryptStream } from './package-stream.js';
import { customerKeyMd5, parseKmsContextHeader, parseSseCustomerHeaders, parseSseHeader } from './sse-headers.js';
import {
  newSealedObjectKey,
  parseSealedObjectKey,
  resealObjectKey,
  rotateSealedKey,
  sealObjectKey,
  streamKey,
  unsealObjectKey,
  type SealedObjectKey,
} from './sse.js';

const A = { bucket: 'bkt', key: 'dir/obj' };
const B = { bucket: 'bkt', key: 'dir/other' };

async function code(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    return isCryptoError(e) ? e.code : `untyped: ${String(e)}`;
  }
  return 'no error';
}

const kms = () => new BuiltinKms({ keys: new Map([['cairn-default', new Map([[1, randomBytes(32)]])], ['tenant', new Map([[1, randomBytes(32)]])]]), defaultKeyId: 'cairn-default', ephemeral: true });
/** survives JSON, as storage will keep it */
const persist = (s: SealedObjectKey) => JSON.parse(JSON.stringify(s)) as SealedObjectKey;

describe('sealed object keys', () => {
  it('SSE-S3: seals with the default KMS key; opens after a JSON round trip; stores no plaintext key', async () => {
    const k = kms();
    const { objectKey, sealed } = await newSealedObjectKey({ type: 'SSE-S3', kms: k }, A);
    expect(sealed).toMatchObject({ v: 1, type: 'SSE-S3', kmsKeyId: 'cairn-default', kmsKeyVersion: 1 });
    expect(JSON.stringify(sealed)).not.toContain(objectKey.toString('base64'));
    expect((await unsealObjectKey(persist(sealed), A, { kms: k })).equals(objectKey)).toBe(true);
  });

  it('SSE-KMS: named key and client context are recorded and required', async () => {
    const k = kms();
    const { objectKey, sealed } = await newSealedObjectKey({ type: 'SSE-KMS', kms: k, keyId: 'tenant', context: { project: 'x' } }, A);
    expect(sealed).toMatchObject({ type: 'SSE-KMS', kmsKeyId: 'tenant', kmsContext: { project: 'x' } });
    expect((await unsealObjectKey(persist(sealed), A, { kms: k })).equals(objectKey)).toBe(true);
    // the context is part of the KMS call: an edited record does not open
    expect(await code(unsealObjectKey({ ...sealed, kmsContext: { project: 'y' } }, A, { kms: k }))).toBe('KmsDecryptFailed');
    expect(await code(newSealedObjectKey({ type: 'SSE-KMS', kms: k, keyId: 'missing' }, A))).toBe('KmsKeyNotFound');
  });

  it('a record moved to another object does not open (bucket/key bound)', async () => {
    const k = kms();
    const { sealed } = await newSealedObjectKey({ type: 'SSE-S3', kms: k }, A);
    expect(await code(unsealObjectKey(sealed, B, { kms: k }))).toBe('KmsDecryptFailed');
    const ck = randomBytes(32);
    const c = await newSealedObjectKey({ type: 'SSE-C', customerKey: ck }, A);
    expect(await code(unsealObjectKey(c.sealed, B, { customerKey: ck }))).toBe('UnsealFailed');
    expect((await unsealObjectKey(c.sealed, A, { customerKey: ck })).equals(c.objectKey)).toBe(true);
  });

  it('SSE-C: the right key opens; wrong, missing or short keys give typed errors, never a key', async () => {
    const ck = randomBytes(32);
    const { objectKey, sealed } = await newSealedObjectKey({ type: 'SSE-C', customerKey: ck }, A);
    expect(sealed.kmsKeyId).toBeUndefined();
    expect(JSON.stringify(sealed)).not.toContain(ck.toString('base64'));
    expect(JSON.stringify(sealed)).not.toContain(customerKeyMd5(ck));
    expect((await unsealObjectKey(persist(sealed), A, { customerKey: ck })).equals(objectKey)).toBe(true);
    expect(await code(unsealObjectKey(sealed, A, { customerKey: randomBytes(32) }))).toBe('SSECustomerKeyMismatch');
    expect(await code(unsealObjectKey(sealed, A, {}))).toBe('SSECustomerKeyMissing');
    expect(await code(unsealObjectKey(sealed, A, { customerKey: randomBytes(16) }))).toBe('InvalidSSECustomerKey');
    // a damaged sealed key with the right customer key: UnsealFailed, not garbage
    const raw = Buffer.from(sealed.sealedKey, 'base64');
    raw[3]! ^= 1;
    expect(await code(unsealObjectKey({ ...sealed, sealedKey: raw.toString('base64') }, A, { customerKey: ck }))).toBe('UnsealFailed');
  });

  it('a customer key for a KMS object, or no KMS, is refused', async () => {
    const k = kms();
    const { sealed } = await newSealedObjectKey({ type: 'SSE-S3', kms: k }, A);
    expect(await code(unsealObjectKey(sealed, A, { kms: k, customerKey: randomBytes(32) }))).toBe('SSECustomerKeyNotExpected');
    expect(await code(unsealObjectKey(sealed, A, {}))).toBe('KmsUnavailable');
  });

  it('rotation rewraps the data key under the newest version; the object key is unchanged; old versions stay readable', async () => {
    const k = kms();
    const { objectKey, sealed } = await newSealedObjectKey({ type: 'SSE-KMS', kms: k, context: { a: 'b' } }, A);
    await k.rotateKey('cairn-default');
    const rotated = await rotateSealedKey(persist(sealed), A, k);
    expect(rotated.kmsKeyVersion).toBe(2);
    expect(rotated.encryptedDataKey).not.toBe(sealed.encryptedDataKey);
    expect(rotated.sealedKey).toBe(sealed.sealedKey); // data and sealed key untouched
    expect((await unsealObjectKey(rotated, A, { kms: k })).equals(objectKey)).toBe(true);
    expect((await unsealObjectKey(sealed, A, { kms: k })).equals(objectKey)).toBe(true);
    expect(await rotateSealedKey(rotated, A, k)).toEqual(rotated);
    const c = await newSealedObjectKey({ type: 'SSE-C', customerKey: randomBytes(32) }, A);
    expect(await rotateSealedKey(c.sealed, A, k)).toBe(c.sealed);
  });

  it('copy re-seals the same object key for the destination, across SSE types', async () => {
    const k = kms();
    const src = randomBytes(32);
    const dst = randomBytes(32);
    const { objectKey, sealed } = await newSealedObjectKey({ type: 'SSE-C', customerKey: src }, A);
    const copied = await resealObjectKey(sealed, A, { customerKey: src }, { type: 'SSE-C', customerKey: dst }, B);
    expect((await unsealObjectKey(copied, B, { customerKey: dst })).equals(objectKey)).toBe(true);
    expect(await code(unsealObjectKey(copied, B, { customerKey: src }))).toBe('SSECustomerKeyMismatch');
    const toKms = await resealObjectKey(copied, B, { customerKey: dst }, { type: 'SSE-S3', kms: k }, A);
    expect((await unsealObjectKey(toKms, A, { kms: k })).equals(objectKey)).toBe(true);
    expect(await code(resealObjectKey(sealed, A, { customerKey: dst }, { type: 'SSE-S3', kms: k }, B))).toBe('SSECustomerKeyMismatch');
  });

  it('stream keys: distinct per part, deterministic, and an object round trips through them', async () => {
    const ok = randomBytes(32);
    const keys = [0, 1, 2, 10000].map((n) => streamKey(ok, n).toString('hex'));
    expect(new Set(keys).size).toBe(4);
    expect(streamKey(ok, 1).equals(streamKey(ok, 1))).toBe(true);
    expect(() => streamKey(ok, -1)).toThrow(RangeError);
    const plain = randomBytes(100_000);
    const enc = createEncryptStream(streamKey(ok, 3));
    const ct: Buffer[] = [];
    await pipeline(Readable.from([plain]), enc, new Writable({ write(c: Buffer, _e, cb) { ct.push(c); cb(); } }));
    const out: Buffer[] = [];
    await pipeline(Readable.from([Buffer.concat(ct)]), createDecryptStream(streamKey(ok, 3), { params: enc.params }), new Writable({ write(c: Buffer, _e, cb) { out.push(c); cb(); } }));
    expect(Buffer.concat(out).equals(plain)).toBe(true);
    const err = await pipeline(Readable.from([Buffer.concat(ct)]), createDecryptStream(streamKey(ok, 4)), new Writable({ write(_c, _e, cb) { cb(); } })).then(() => null, (e: unknown) => e);
    expect(isCryptoError(err, 'CorruptCiphertext')).toBe(true);
  });

  it('records from storage are validated', () => {
    for (const bad of [null, 'x', { v: 2 }, { v: 1, type: 'SSE-X' }, { v: 1, type: 'SSE-S3', sealAlgorithm: 'AES-256-GCM', iv: 'a', sealedKey: 'b' }]) {
      expect(() => parseSealedObjectKey(bad)).toThrow(/sealed object key record/);
    }
  });

  it('sealObjectKey refuses a key that is not 32 bytes', async () => {
    expect(await code(sealObjectKey({ type: 'SSE-C', customerKey: randomBytes(32) }, randomBytes(16), A))).toBe('InvalidSealedKey');
  });
});

describe('SSE request headers', () => {
  const key = randomBytes(32);
  const good = { algorithm: 'AES256', key: key.toString('base64'), keyMd5: createHash('md5').update(key).digest('base64') };
  const cases: [string, Parameters<typeof parseSseCustomerHeaders>[0], CryptoErrorCode][] = [
    ['algorithm missing', { ...good, algorithm: undefined }, 'InvalidSSECustomerKey'],
    ['algorithm not AES256', { ...good, algorithm: 'AES128' }, 'InvalidEncryptionAlgorithm'],
    ['key missing', { ...good, key: undefined }, 'InvalidSSECustomerKey'],
    ['key 16 bytes', { ...good, key: randomBytes(16).toString('base64') }, 'InvalidSSECustomerKey'],
    ['key not base64', { ...good, key: '!'.repeat(44) }, 'InvalidSSECustomerKey'],
    ['MD5 missing', { ...good, keyMd5: undefined }, 'InvalidSSECustomerKey'],
    ['MD5 wrong', { ...good, keyMd5: 'AAAAAAAAAAAAAAAAAAAAAA==' }, 'SSECustomerKeyMd5Mismatch'],
    ['MD5 garbage', { ...good, keyMd5: 'xyz' }, 'SSECustomerKeyMd5Mismatch'],
  ];
  for (const [name, h, expected] of cases) {
    it(`SSE-C: ${name} → ${expected}`, async () => {
      expect(await code(() => parseSseCustomerHeaders(h))).toBe(expected);
    });
  }

  it('SSE-C: a valid trio yields the key; no headers yield undefined', () => {
    expect(parseSseCustomerHeaders(good)?.equals(key)).toBe(true);
    expect(parseSseCustomerHeaders({})).toBeUndefined();
    expect(customerKeyMd5(key)).toBe(good.keyMd5);
  });

  it('x-amz-server-side-encryption and the KMS context header', async () => {
    expect(parseSseHeader('AES256')).toBe('SSE-S3');
    expect(parseSseHeader('aws:kms')).toBe('SSE-KMS');
    expect(parseSseHeader(undefined)).toBeUndefined();
    expect(await code(() => parseSseHeader('aes256'))).toBe('InvalidEncryptionAlgorithm');
    const ctx = { dept: 'eng', 'n°': 'ü' };
    expect(parseKmsContextHeader(Buffer.from(JSON.stringify(ctx)).toString('base64'))).toEqual(ctx);
    for (const bad of ['%%%', Buffer.from('[1]').toString('base64'), Buffer.from('{"a":1}').toString('base64'), Buffer.from('{"cairn:bucket":"x"}').toString('base64'), Buffer.from('{').toString('base64')]) {
      expect(await code(() => parseKmsContextHeader(bad)), bad).toBe('InvalidEncryptionContext');
    }
  });
});
