import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openObjectLayer } from './index.js';
import { LocalDrive } from './local-drive.js';
import { sameVersion } from './metadata-record.js';
import { bodyOf, md5Of, pattern, readAll, tempDrives } from './test-support.js';

/**
 * Several processes over the same drives. The children run the compiled tree
 * (dist/storage/process-child.js; `npm test` builds it first).
 */
const CHILD = resolve(import.meta.dirname, '../dist/storage/process-child.js');

let ctx: Awaited<ReturnType<typeof tempDrives>>;
beforeEach(async () => {
  if (!existsSync(CHILD)) throw new Error('dist/storage/process-child.js missing: run `npm run build` (npm test does it)');
  ctx = await tempDrives(4);
});
afterEach(() => ctx.cleanup());

function run(args: string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((res, rej) => {
    const p = fork(CHILD, args, { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    let stdout = '';
    p.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    p.on('error', rej);
    p.on('exit', (code) => res({ code, stdout }));
  });
}

async function dataDirs(drive: string): Promise<string[]> {
  const out: string[] = [];
  for (const a of await readdir(join(drive, 'data')).catch(() => [])) out.push(...(await readdir(join(drive, 'data', a))));
  return out;
}

describe('several processes on the same drives', () => {
  it('agree on one deployment when starting on blank drives at once', async () => {
    const rs = await Promise.all([0, 1, 2].map(() => run(['open', JSON.stringify(ctx.drives)])));
    expect(rs.map((r) => r.code)).toEqual([0, 0, 0]);
    const ids = new Set(rs.map((r) => r.stdout.trim()));
    expect(ids.size).toBe(1);
  });

  it('converge on one winner on every drive when racing on one key', async () => {
    const ol = await openObjectLayer({ drives: ctx.drives });
    await ol.makeBucket('bkt');
    await ol.close();
    const rs = await Promise.all([1, 2].map((id) => run(['race', JSON.stringify(ctx.drives), String(id), '15'])));
    expect(rs.map((r) => r.code)).toEqual([0, 0]);
    const records = [];
    for (const path of ctx.drives) {
      const d = await LocalDrive.open(path);
      records.push(d.getObject('bkt', 'race'));
      await d.close();
    }
    const first = records[0]!;
    for (const r of records) expect(r && sameVersion(r, first)).toBe(true);
    // Losers' data dirs are gone: only the winner's remains on each drive.
    for (const path of ctx.drives) expect(await dataDirs(path)).toEqual([first.dataDir]);
    const ol2 = await openObjectLayer({ drives: ctx.drives });
    const got = await md5Of((await ol2.getObject('bkt', 'race')).stream);
    expect(got.md5).toBe(first.etag);
    await ol2.close();
  });

  it('leaves nothing partial after a writer is killed mid-object', async () => {
    const ol = await openObjectLayer({ drives: ctx.drives, blockSize: 64 * 1024 });
    await ol.makeBucket('bkt');
    const v1 = pattern(300_000, 21);
    await ol.putObject('bkt', 'k', bodyOf(v1));
    await ol.close();

    const child = fork(CHILD, ['slow', JSON.stringify(ctx.drives), String(64 * 1024 * 1024)], { stdio: 'inherit' });
    await new Promise<void>((res, rej) => {
      child.once('message', () => res());
      child.once('exit', (code) => rej(new Error(`child exited early with ${code}`)));
    });
    const tmpBefore = await readdir(join(ctx.drives[0]!, '.cairn', 'tmp'));
    expect(tmpBefore.some((n) => n.startsWith(`${child.pid}-`))).toBe(true);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    const ol2 = await openObjectLayer({ drives: ctx.drives, blockSize: 64 * 1024 });
    try {
      for (const d of ctx.drives) {
        const left = await readdir(join(d, '.cairn', 'tmp'));
        expect(left.filter((n) => !n.startsWith(`${process.pid}-`))).toEqual([]);
        expect(await dataDirs(d)).toHaveLength(1);
      }
      expect((await readAll((await ol2.getObject('bkt', 'k')).stream)).equals(v1)).toBe(true);
      expect((await ol2.listObjects('bkt')).objects.map((o) => [o.key, o.size])).toEqual([['k', v1.length]]);
    } finally {
      await ol2.close();
    }
  });
});
