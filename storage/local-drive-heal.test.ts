import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DataDirEntry } from './drive.js';
import { LocalDrive } from './local-drive.js';

let dir: string;
let d: LocalDrive;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cairn-drive-heal-'));
  d = await LocalDrive.open(dir);
});
afterEach(async () => {
  await d.close().catch(() => {});
  await rm(dir, { recursive: true, force: true });
});

const reopen = async () => {
  await d.close();
  d = await LocalDrive.open(dir);
};

describe('LocalDrive heal queue', () => {
  it('keeps hints in (bucket, key) byte order, limits, replaces, dequeues, and survives a reopen', async () => {
    await d.queueHeal([
      { bucket: 'b', key: 'z', reason: 'read', queuedAt: 1 },
      { bucket: 'a', key: 'k\u0000with-nul', reason: 'write', queuedAt: 2 },
      { bucket: 'b', key: 'é', reason: 'delete', queuedAt: 3 },
      { bucket: 'b', key: 'a/b', reason: 'scanner', queuedAt: 4 },
    ]);
    // A later hint for the same object replaces the earlier one.
    await d.queueHeal([{ bucket: 'b', key: 'z', reason: 'admin', queuedAt: 5 }]);
    expect(d.healQueueSize()).toBe(4);
    await reopen();
    expect(d.healQueueSize()).toBe(4);
    expect(d.healQueue(10)).toEqual([
      { bucket: 'a', key: 'k\u0000with-nul', reason: 'write', queuedAt: 2 },
      { bucket: 'b', key: 'a/b', reason: 'scanner', queuedAt: 4 },
      { bucket: 'b', key: 'z', reason: 'admin', queuedAt: 5 },
      { bucket: 'b', key: 'é', reason: 'delete', queuedAt: 3 },
    ]);
    expect(d.healQueue(2).map((i) => i.key)).toEqual(['k\u0000with-nul', 'a/b']);
    expect(d.healQueue(0)).toEqual([]);
    await d.dequeueHeal([
      { bucket: 'b', key: 'a/b' },
      { bucket: 'a', key: 'k\u0000with-nul' },
      { bucket: 'x', key: 'never queued' },
    ]);
    await reopen();
    expect(d.healQueue(10).map((i) => `${i.bucket}/${i.key}`)).toEqual(['b/z', 'b/é']);
    expect(d.healQueueSize()).toBe(2);
  });

  it('does not mix heal hints with object records', async () => {
    await d.queueHeal([{ bucket: 'b', key: 'k', reason: 'read', queuedAt: 1 }]);
    expect(d.getObject('b', 'k')).toBeUndefined();
    expect(d.bucketHasContent('b')).toBe(false);
  });
});

describe('LocalDrive sys files', () => {
  it('writes atomically, reads back after a reopen, replaces and removes', async () => {
    expect(await d.readSysFile('rebuild-0-1.json')).toBeUndefined();
    await d.writeSysFile('rebuild-0-1.json', Buffer.from('{"a":1}'));
    await d.writeSysFile('rebuild-0-1.json', Buffer.from('{"a":2}'));
    await reopen();
    expect((await d.readSysFile('rebuild-0-1.json'))?.toString()).toBe('{"a":2}');
    // Only the file itself in the sys dir: the temporary lived in the process's tmp dir and was renamed.
    expect(await readdir(join(dir, '.cairn', 'sys'))).toEqual(['rebuild-0-1.json']);
    expect(await readdir(join(dir, '.cairn', 'tmp'))).toHaveLength(1); // this process's (empty) tmp dir
    await d.writeSysFile('rebuild-0-1.json', undefined);
    expect(await d.readSysFile('rebuild-0-1.json')).toBeUndefined();
    await d.writeSysFile('never-written', undefined); // removing what is not there is fine
  });

  it('refuses names that could leave the sys dir', async () => {
    for (const bad of ['../format.json', 'a/b', '', '..', 'x y']) {
      await expect(d.writeSysFile(bad, Buffer.from('x'))).rejects.toThrow(/invalid system file name/);
      await expect(d.readSysFile(bad)).rejects.toThrow(/invalid system file name/);
    }
  });
});

describe('LocalDrive data dirs', () => {
  it('lists every committed data dir with its modification time, none in tmp', async () => {
    const dirs = ['0a1b2c3d-0000-4000-8000-000000000001', '0a1b2c3d-0000-4000-8000-000000000002', 'ff000000-0000-4000-8000-000000000003'];
    for (const dd of dirs) {
      const w = d.createShardWriter(`t-${dd}`, 'part.1');
      await w.write(Buffer.from('shard'));
      await w.finish();
      await d.commitTmp(`t-${dd}`, dd);
    }
    // In flight (not committed): not a data dir yet.
    const w = d.createShardWriter('pending', 'part.1');
    await w.write(Buffer.from('x'));
    await w.finish();
    const seen: DataDirEntry[] = [];
    for await (const e of d.listDataDirs()) seen.push(e);
    expect(seen.map((e) => e.dataDir).sort()).toEqual(dirs);
    for (const e of seen) {
      const st = await stat(join(dir, 'data', e.dataDir.slice(0, 2), e.dataDir));
      expect(e.modifiedMs).toBe(st.mtimeMs);
    }
    await d.removeDataDir(dirs[0]!);
    const after: string[] = [];
    for await (const e of d.listDataDirs()) after.push(e.dataDir);
    expect(after.sort()).toEqual(dirs.slice(1));
  });
});
