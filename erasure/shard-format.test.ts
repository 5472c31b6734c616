import { describe, expect, it } from 'vitest';
import { bitrotHash, bitrotHashSize, bitrotVerify } from './bitrot.js';
import { ErasureError } from './errors.js';
import {
  blockCount,
  blockFrameLength,
  blockFrameOffset,
  checkShardHeader,
  encodeShardHeader,
  parseShardHeader,
  SHARD_HEADER_SIZE,
  shardBlockSize,
  shardFileSize,
  shardLengthFor,
} from './shard-format.js';
import { layoutOf } from './test-helpers.js';

describe('shard geometry', () => {
  it('pads shard blocks to 8 bytes when small, 64 when large', () => {
    const l = layoutOf(4, 2, 1048576);
    expect(shardBlockSize(l)).toBe(262144);
    expect(shardLengthFor(l, 1)).toBe(8);
    expect(shardLengthFor(l, 33)).toBe(16);
    expect(shardLengthFor(layoutOf(6, 3, 1048576), 1048576)).toBe(174784);
    expect(shardLengthFor(l, 0)).toBe(0);
  });

  it('sizes shard files and locates frames', () => {
    const l = layoutOf(4, 2, 4096);
    const size = 10 * 4096 + 7;
    expect(blockCount(l, size)).toBe(11);
    expect(blockCount(l, 0)).toBe(0);
    expect(blockFrameOffset(l, 0)).toBe(SHARD_HEADER_SIZE);
    expect(blockFrameOffset(l, 3)).toBe(SHARD_HEADER_SIZE + 3 * (4 + 1024));
    expect(blockFrameLength(l, size, 10)).toBe(4 + 8);
    expect(shardFileSize(l, size)).toBe(SHARD_HEADER_SIZE + 10 * 1028 + 12);
    expect(shardFileSize(l, 0)).toBe(SHARD_HEADER_SIZE);
    expect(shardFileSize(layoutOf(4, 2, 4096, { bitrot: 'sha256' }), 4096)).toBe(SHARD_HEADER_SIZE + 32 + 1024);
  });
});

describe('shard header', () => {
  it('round-trips and is 32 bytes starting with the magic', () => {
    const l = layoutOf(8, 4, 1048576, { bitrot: 'sha256', codec: 'wasm' });
    const h = encodeShardHeader(l, 11);
    expect(h.length).toBe(32);
    expect(h.subarray(0, 8).toString('latin1')).toBe('CAIRNSHD');
    expect(parseShardHeader(h)).toEqual({ version: 1, dataShards: 8, parityShards: 4, shardIndex: 11, bitrot: 'sha256', codec: 'wasm', blockSize: 1048576 });
    expect(() => checkShardHeader(h, l, 11)).not.toThrow();
  });

  it('rejects a header of another shard, another layout, or a damaged one', () => {
    const l = layoutOf(4, 2, 4096);
    const h = encodeShardHeader(l, 1);
    expect(() => checkShardHeader(h, l, 2)).toThrow(ErasureError);
    expect(() => checkShardHeader(h, layoutOf(4, 2, 8192), 1)).toThrow(/does not match/);
    const bad = Buffer.from(h);
    bad[17]! ^= 1;
    expect(() => parseShardHeader(bad)).toThrow(/checksum/);
    expect(() => parseShardHeader(Buffer.alloc(32))).toThrow(/magic/);
  });
});

describe('bitrot hashes', () => {
  for (const alg of ['crc32c', 'sha256'] as const) {
    it(`${alg}: verifies good data and catches a flipped bit`, () => {
      const data = Buffer.from('the quick brown fox');
      const h = bitrotHash(alg, data);
      expect(h.length).toBe(bitrotHashSize(alg));
      expect(bitrotVerify(alg, data, h)).toBe(true);
      data[3]! ^= 0x10;
      expect(bitrotVerify(alg, data, h)).toBe(false);
    });
  }

  it('crc32c matches the standard check value', () => {
    expect(bitrotHash('crc32c', Buffer.from('123456789')).toString('hex')).toBe('e3069283');
  });
});
