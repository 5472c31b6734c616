import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { driveContract } from './drive.contract.js';
import { LocalDrive } from './local-drive.js';

driveContract('LocalDrive', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-drive-'));
  return { drive: await LocalDrive.open(dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

describe('LocalDrive shard files: vectored I/O', () => {
  it('writev appends all chunks in order; readv scatters a run into the targets; a short file rejects', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cairn-drive-'));
    const d = await LocalDrive.open(dir);
    try {
      const w = d.createShardWriter('t1', 'part.1');
      await w.writev!([Buffer.from('head'), Buffer.alloc(0), Buffer.from('-one-')]);
      await w.write(Buffer.from('two'));
      await w.writev!([Buffer.from('-three')]);
      await w.finish();
      await d.commitTmp('t1', 'abcdef0123456789');
      const r = await d.openShardReader('abcdef0123456789', 'part.1');
      const a = Buffer.alloc(3);
      const b = Buffer.alloc(0);
      const c = Buffer.alloc(4);
      await r.readv!(5, [a, b, c]);
      expect(a.toString() + c.toString()).toBe('one-two');
      expect((await r.readAt(0, 18)).toString()).toBe('head-one-two-three');
      await expect(r.readv!(15, [Buffer.alloc(2), Buffer.alloc(5)])).rejects.toThrow(/truncated/);
      await r.close();
    } finally {
      await d.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
