import { describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { crc32 as zlibCrc32 } from 'node:zlib';
import {
  checksumHeaderName,
  combineCrc,
  createChecksum,
  isValidChecksumValue,
  parseChecksumAlgorithm,
  type ChecksumAlgorithm,
} from './checksums.js';

const CHECK = Buffer.from('123456789');
const digest = (alg: ChecksumAlgorithm, ...parts: Buffer[]) => {
  const c = createChecksum(alg);
  for (const p of parts) c.update(p);
  return c.digest();
};

describe('createChecksum', () => {
  it('matches the catalogue check values of "123456789"', () => {
    expect(digest('CRC32', CHECK).toString('hex')).toBe('cbf43926');
    expect(digest('CRC32', CHECK).toString('base64')).toBe('y/Q5Jg==');
    expect(digest('CRC32C', CHECK).toString('hex')).toBe('e3069283');
    expect(digest('CRC64NVME', CHECK).toString('hex')).toBe('ae8b14860a799888');
    expect(digest('SHA1', CHECK).toString('hex')).toBe(createHash('sha1').update(CHECK).digest('hex'));
    expect(digest('SHA256', CHECK).toString('hex')).toBe(createHash('sha256').update(CHECK).digest('hex'));
  });

  it('gives the empty-input values S3 shows for zero-byte objects', () => {
    expect(digest('CRC32').toString('base64')).toBe('AAAAAA==');
    expect(digest('CRC64NVME').toString('base64')).toBe('AAAAAAAAAAA=');
  });

  it('is independent of how the input is split, for every length mod 8', () => {
    const data = randomBytes(4099);
    for (const alg of ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const) {
      const whole = digest(alg, data);
      for (const cut of [0, 1, 3, 7, 8, 9, 1000, 4098]) {
        expect(digest(alg, data.subarray(0, cut), data.subarray(cut)).equals(whole)).toBe(true);
      }
    }
    expect(digest('CRC32', data).readUInt32BE(0)).toBe(zlibCrc32(data));
  });

  it('CRC64NVME agrees with the AWS SDK implementation', async () => {
    const mod = (await import('@aws-sdk/checksums/crc').catch(() => undefined)) as
      | { Crc64NvmeJs?: new () => { update(b: Uint8Array): void; digest(): Promise<Uint8Array> } }
      | undefined;
    if (!mod?.Crc64NvmeJs) return expect.fail('@aws-sdk/checksums/crc has no Crc64NvmeJs');
    for (const len of [0, 1, 7, 8, 15, 1024 * 64 + 5]) {
      const data = randomBytes(len);
      const ref = new mod.Crc64NvmeJs();
      ref.update(data);
      expect(Buffer.from(await ref.digest()).toString('hex')).toBe(digest('CRC64NVME', data).toString('hex'));
    }
  });
});

describe('helpers', () => {
  it('parses algorithm names case-insensitively', () => {
    expect(parseChecksumAlgorithm('crc64nvme')).toBe('CRC64NVME');
    expect(parseChecksumAlgorithm('Sha256')).toBe('SHA256');
    expect(parseChecksumAlgorithm('md5')).toBeUndefined();
  });
  it('names headers', () => {
    expect(checksumHeaderName('CRC32C')).toBe('x-amz-checksum-crc32c');
  });
  it('validates decoded lengths and base64 shape', () => {
    expect(isValidChecksumValue('CRC32', 'y/Q5Jg==')).toBe(true);
    expect(isValidChecksumValue('CRC32', 'y/Q5Jg')).toBe(false);
    expect(isValidChecksumValue('CRC32', 'y/Q5Jh==')).toBe(false); // non-canonical trailing bits
    expect(isValidChecksumValue('CRC64NVME', 'y/Q5Jg==')).toBe(false);
    expect(isValidChecksumValue('SHA256', createHash('sha256').digest('base64'))).toBe(true);
    expect(isValidChecksumValue('SHA1', '!!!!')).toBe(false);
  });
});

describe('combineCrc', () => {
  it('gives crc(A‖B) for each CRC and assorted lengths', () => {
    for (const alg of ['CRC32', 'CRC32C', 'CRC64NVME'] as const) {
      for (const [la, lb] of [[0, 5], [5, 0], [1, 1], [100, 333], [4096, 8191], [17, 70000]] as const) {
        const a = randomBytes(la);
        const b = randomBytes(lb);
        expect(combineCrc(alg, digest(alg, a), digest(alg, b), lb).toString('hex')).toBe(digest(alg, a, b).toString('hex'));
      }
    }
  });
  it('reproduces the check value from "1234" and "56789"', () => {
    const a = Buffer.from('1234');
    const b = Buffer.from('56789');
    expect(combineCrc('CRC64NVME', digest('CRC64NVME', a), digest('CRC64NVME', b), 5).toString('hex')).toBe('ae8b14860a799888');
    expect(combineCrc('CRC32', digest('CRC32', a), digest('CRC32', b), 5).toString('hex')).toBe('cbf43926');
  });
  it('handles multi-GiB lengths and rejects non-CRCs', () => {
    // Appending 2^33 bytes whose own CRC is 0 must equal appending 2^32 such bytes twice:
    // exercises the x^(8n) exponentiation far beyond 32-bit lengths.
    const zeros = (n: number) => Buffer.alloc(n);
    const z = digest('CRC32C', zeros(0));
    const a = digest('CRC32C', CHECK);
    expect(z.toString('hex')).toBe('00000000');
    const once = combineCrc('CRC32C', a, z, 2 ** 33);
    const twice = combineCrc('CRC32C', combineCrc('CRC32C', a, z, 2 ** 32), z, 2 ** 32);
    expect(once.equals(twice)).toBe(true);
    expect(() => combineCrc('SHA1', z, z, 1)).toThrow(TypeError);
  });
});
