import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gcm } from '@noble/ciphers/aes.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { describe, expect, it } from 'vitest';
import { isCryptoError } from './errors.js';
import {
  HEADER_SIZE,
  TAG_SIZE,
  ciphertextRangeFor,
  decodeHeader,
  decryptedSize,
  encodeHeader,
  encryptedSize,
  newStreamParams,
  packageCount,
  type StreamCipher,
  type StreamParams,
} from './package-format.js';
import { createDecryptStream, createEncryptStream, type DecryptOptions } from './package-stream.js';

const P = 64 * 1024;
const CIPHERS: StreamCipher[] = ['AES-256-GCM', 'CHACHA20-POLY1305'];

/** Feeds `data` in irregular chunk sizes so package boundaries fall inside chunks. */
function chunked(data: Buffer, seed = 7): Readable {
  const parts: Buffer[] = [];
  let off = 0;
  let s = seed;
  while (off < data.length) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const n = Math.min(data.length - off, 1 + (s % (3 * P)));
    parts.push(data.subarray(off, off + n));
    off += n;
  }
  return Readable.from(parts, { objectMode: false });
}

async function collect(src: Readable, t: NodeJS.ReadWriteStream): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(src, t, new Writable({ write(c: Buffer, _e, cb) { out.push(c); cb(); } }));
  return Buffer.concat(out);
}

async function encrypt(key: Buffer, plain: Buffer, cipher: StreamCipher = 'AES-256-GCM'): Promise<{ ct: Buffer; params: StreamParams }> {
  const e = createEncryptStream(key, newStreamParams(cipher));
  const ct = await collect(chunked(plain), e);
  return { ct, params: e.params };
}

const decrypt = (key: Buffer, ct: Buffer, opts?: DecryptOptions, seed?: number) => collect(chunked(ct, seed), createDecryptStream(key, opts));

async function expectCorrupt(p: Promise<unknown>): Promise<void> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(isCryptoError(err, 'CorruptCiphertext') || isCryptoError(err, 'InvalidStreamHeader'), String(err)).toBe(true);
}

describe('package stream format', () => {
  it('header encodes and decodes the params, and rejects unknown magic, version and cipher', () => {
    const p = newStreamParams('CHACHA20-POLY1305');
    const h = encodeHeader(p);
    expect(h.length).toBe(HEADER_SIZE);
    expect(h.subarray(0, 4).toString('latin1')).toBe('CRNE');
    expect(decodeHeader(h)).toEqual(p);
    for (const [i, v] of [[0, 0x41], [4, 2], [5, 9], [6, 40], [7, 1]] as const) {
      const bad = Buffer.from(h);
      bad[i] = v;
      expect(() => decodeHeader(bad)).toThrow(/./);
    }
  });

  it('sizes: one package per P bytes plus a short final one', () => {
    expect(packageCount(0)).toBe(1);
    expect(packageCount(P - 1)).toBe(1);
    expect(packageCount(P)).toBe(2);
    expect(encryptedSize(0)).toBe(HEADER_SIZE + TAG_SIZE);
    expect(encryptedSize(P)).toBe(HEADER_SIZE + P + 2 * TAG_SIZE);
    for (const n of [0, 1, P - 1, P, P + 1, 5 * P + 3]) expect(decryptedSize(encryptedSize(n))).toBe(n);
    expect(() => decryptedSize(HEADER_SIZE + 3)).toThrow(/./);
  });

  for (const cipher of CIPHERS) {
    describe(cipher, () => {
      const key = randomBytes(32);
      for (const size of [0, 1, P - 1, P, P + 1, 3 * P, 7 * P + 12345]) {
        it(`round trip of ${size} bytes; ciphertext is encryptedSize and not the plaintext`, async () => {
          const plain = randomBytes(size);
          const { ct, params } = await encrypt(key, plain, cipher);
          expect(ct.length).toBe(encryptedSize(size));
          expect(decodeHeader(ct)).toEqual(params);
          if (size >= 16) expect(ct.includes(plain.subarray(0, 16))).toBe(false);
          expect((await decrypt(key, ct)).equals(plain)).toBe(true);
          // header checked against metadata params
          expect((await decrypt(key, ct, { params })).equals(plain)).toBe(true);
        });
      }

      it('a different key, or params that disagree with the header, fail', async () => {
        const { ct, params } = await encrypt(key, randomBytes(1000), cipher);
        await expectCorrupt(decrypt(randomBytes(32), ct));
        await expectCorrupt(decrypt(key, ct, { params: newStreamParams(cipher) }));
        expect(params.cipher).toBe(cipher);
      });

      describe('tampering is detected', () => {
        const size = 4 * P + 100; // packages 0..3 full, 4 short final
        const plain = randomBytes(size);
        const ready = encrypt(key, plain, cipher);
        const pkg = (ct: Buffer, i: number) => ct.subarray(HEADER_SIZE + i * (P + TAG_SIZE), HEADER_SIZE + (i + 1) * (P + TAG_SIZE));
        const cases: [string, (ct: Buffer) => Buffer][] = [
          ['flip a ciphertext byte', (ct) => { const b = Buffer.from(ct); b[HEADER_SIZE + P + 5]! ^= 1; return b; }],
          ['flip a tag byte', (ct) => { const b = Buffer.from(ct); b[HEADER_SIZE + P]! ^= 0x80; return b; }],
          ['flip a nonce-prefix byte in the header', (ct) => { const b = Buffer.from(ct); b[12]! ^= 1; return b; }],
          ['switch the cipher id', (ct) => { const b = Buffer.from(ct); b[5] = b[5] === 1 ? 2 : 1; return b; }],
          ['drop a middle package', (ct) => Buffer.concat([ct.subarray(0, HEADER_SIZE), pkg(ct, 0), pkg(ct, 2), pkg(ct, 3), ct.subarray(HEADER_SIZE + 4 * (P + TAG_SIZE))])],
          ['swap two packages', (ct) => Buffer.concat([ct.subarray(0, HEADER_SIZE), pkg(ct, 1), pkg(ct, 0), ct.subarray(HEADER_SIZE + 2 * (P + TAG_SIZE))])],
          ['drop the final package (truncate on a boundary)', (ct) => ct.subarray(0, HEADER_SIZE + 4 * (P + TAG_SIZE))],
          ['truncate the last package', (ct) => ct.subarray(0, ct.length - 1)],
          ['truncate inside a package', (ct) => ct.subarray(0, HEADER_SIZE + P + 77)],
          ['append a copy of a package', (ct) => Buffer.concat([ct, pkg(ct, 1)])],
          ['append one byte', (ct) => Buffer.concat([ct, Buffer.from([0])])],
          ['only the header', (ct) => ct.subarray(0, HEADER_SIZE)],
          ['half a header', (ct) => ct.subarray(0, 7)],
        ];
        for (const [name, mutate] of cases) {
          it(name, async () => {
            const { ct } = await ready;
            await expectCorrupt(decrypt(key, mutate(ct)));
          });
        }

        it('a package moved between two streams of the same key fails (random prefix)', async () => {
          const { ct } = await ready;
          const other = await encrypt(key, plain, cipher);
          const mixed = Buffer.concat([ct.subarray(0, HEADER_SIZE), pkg(ct, 0), pkg(other.ct, 1), ct.subarray(HEADER_SIZE + 2 * (P + TAG_SIZE))]);
          await expectCorrupt(decrypt(key, mixed));
        });

        it('nothing of a failing package is released', async () => {
          const { ct } = await ready;
          const b = Buffer.from(ct);
          b[HEADER_SIZE + 2 * (P + TAG_SIZE) + 9]! ^= 1; // package 2
          const got: Buffer[] = [];
          const d = createDecryptStream(key);
          const err = await pipeline(chunked(b), d, new Writable({ write(c: Buffer, _e, cb) { got.push(c); cb(); } })).then(() => null, (e: unknown) => e);
          expect(isCryptoError(err, 'CorruptCiphertext')).toBe(true);
          expect(Buffer.concat(got).length).toBeLessThanOrEqual(2 * P);
          expect(Buffer.concat(got).equals(plain.subarray(0, Buffer.concat(got).length))).toBe(true);
        });
      });

      describe('ranges decrypt only the packages they cover', () => {
        for (const size of [3 * P, 3 * P + 1000]) {
          const plain = randomBytes(size);
          const ready = encrypt(key, plain, cipher);
          const ranges: [string, number, number][] = [
            ['first byte', 0, 1],
            ['inside one package', 100, 200],
            ['exactly package 1', P, 2 * P],
            ['last byte of package 0 and first of 1', P - 1, P + 1],
            ['across three packages', P - 5, 2 * P + 5],
            ['suffix (to the end)', size - 10, size],
            ['the whole object', 0, size],
            ['from a boundary to the end', 2 * P, size],
            ['empty at start', 0, 0],
            ['empty at end', size, size],
          ];
          for (const [name, s, e] of ranges) {
            it(`${name} of ${size} bytes`, async () => {
              const { ct, params } = await ready;
              const r = ciphertextRangeFor(s, e, size);
              expect(r.firstPackage).toBe(Math.floor(s / P));
              expect(r.lastPackage).toBe(e > s ? Math.floor((e - 1) / P) : r.firstPackage);
              expect(r.cipherStart).toBe(HEADER_SIZE + r.firstPackage * (P + TAG_SIZE));
              expect(r.cipherEnd - r.cipherStart).toBeLessThanOrEqual((r.lastPackage - r.firstPackage + 1) * (P + TAG_SIZE));
              expect(r.cipherEnd).toBeLessThanOrEqual(ct.length);
              const got = await decrypt(key, ct.subarray(r.cipherStart, r.cipherEnd), { params, range: r }, s + 3);
              expect(got.equals(plain.subarray(s, e))).toBe(true);
            });
          }

          it(`a ranged read of ${size} bytes with a flipped byte, or one package short, fails`, async () => {
            const { ct, params } = await ready;
            const r = ciphertextRangeFor(P + 3, 2 * P + 3, size);
            const slice = Buffer.from(ct.subarray(r.cipherStart, r.cipherEnd));
            slice[slice.length - 20]! ^= 1;
            await expectCorrupt(decrypt(key, slice, { params, range: r }));
            await expectCorrupt(decrypt(key, ct.subarray(r.cipherStart, r.cipherEnd - P), { params, range: r }));
            await expectCorrupt(decrypt(key, ct.subarray(r.cipherStart, r.cipherEnd + 5), { params, range: r }));
            // the same bytes offered as another package position fail (sequence number in the nonce)
            const shifted = { ...r, firstPackage: r.firstPackage - 1, lastPackage: r.lastPackage - 1 };
            await expectCorrupt(decrypt(key, ct.subarray(r.cipherStart, r.cipherEnd), { params, range: shifted }));
          });
        }
      });
    });
  }

  it('bad ranges are refused', () => {
    expect(() => ciphertextRangeFor(5, 4, 10)).toThrow(RangeError);
    expect(() => ciphertextRangeFor(0, 11, 10)).toThrow(RangeError);
  });

  describe('independent reference: @noble/ciphers opens a package as crypto/README.md describes', () => {
    for (const cipher of CIPHERS) {
      it(cipher, async () => {
        const key = randomBytes(32);
        const plain = randomBytes(2 * P + 33);
        const { ct } = await encrypt(key, plain, cipher);
        // Read only the documented layout: 16-byte header, then (P + 16)-byte packages.
        const header = ct.subarray(0, 16);
        expect(header.subarray(0, 4).toString('latin1')).toBe('CRNE');
        expect(header[4]).toBe(1);
        expect(header[5]).toBe(cipher === 'AES-256-GCM' ? 1 : 2);
        const log2 = header[6]!;
        const size = 2 ** log2;
        const prefix = header.subarray(9, 16);
        const nonce = (seq: number, final: boolean) => {
          const n = new Uint8Array(12);
          n.set(prefix, 0);
          n[7] = final ? 1 : 0;
          new DataView(n.buffer).setUint32(8, seq, false);
          return n;
        };
        const aead = cipher === 'AES-256-GCM' ? gcm : chacha20poly1305;
        const seq1 = ct.subarray(16 + (size + 16), 16 + 2 * (size + 16));
        expect(Buffer.from(aead(key, nonce(1, false), header).decrypt(seq1)).equals(plain.subarray(size, 2 * size))).toBe(true);
        const last = ct.subarray(16 + 2 * (size + 16));
        expect(Buffer.from(aead(key, nonce(2, true), header).decrypt(last)).equals(plain.subarray(2 * size))).toBe(true);
        // and the final flag matters
        expect(() => aead(key, nonce(2, false), header).decrypt(last)).toThrow();
      });
    }
  });
});
