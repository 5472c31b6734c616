import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { memoryBodyOf, MemoryBody } from './memory-body.js';

async function readAll(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('MemoryBody', () => {
  it('streams its one buffer', async () => {
    const b = Buffer.from('hello, small object');
    expect((await readAll(new MemoryBody(b))).equals(b)).toBe(true);
    expect((await readAll(new MemoryBody(Buffer.alloc(0)))).length).toBe(0);
  });

  it('hands out the buffer only while nobody read or destroyed the stream', async () => {
    const b = Buffer.from('abc');
    const fresh = new MemoryBody(b);
    expect(memoryBodyOf(fresh)).toBe(b);

    const read = new MemoryBody(b);
    await readAll(read);
    expect(memoryBodyOf(read)).toBeUndefined();

    const destroyed = new MemoryBody(b);
    destroyed.destroy();
    expect(memoryBodyOf(destroyed)).toBeUndefined();
  });

  it('says nothing about other streams', () => {
    expect(memoryBodyOf(Readable.from([Buffer.from('x')]))).toBeUndefined();
  });
});
