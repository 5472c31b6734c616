import { createHash, randomBytes } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalDrive } from '../storage/local-drive.js';
import { sameVersion } from '../storage/metadata-record.js';
import { rawRequest, signHeaders, type RawResponse } from './helpers/raw-s3.js';
import { startServer, type RunningServer } from './helpers/server.js';

/**
 * CAIRN_LMDB_COMMITTER=primary: the cluster primary runs every worker's
 * object-record commits (storage/commit-host.ts). Real processes, real drives:
 * writes through both workers land, read back through both, and every drive
 * agrees; the committer is the primary (its pid names a tmp dir on each drive,
 * made when it opened them). With one process the switch changes nothing.
 */

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');
const workerOf = (r: RawResponse) => String(r.headers['x-amz-request-id']).slice(0, 6);
const servers: RunningServer[] = [];

afterAll(async () => {
  for (const s of servers) {
    if (s.proc.exitCode === null) await s.stop();
    await rm(s.root, { recursive: true, force: true });
  }
});

async function start(workers: number): Promise<RunningServer> {
  const s = await startServer({ drives: 4, args: ['--workers', String(workers)], env: { CAIRN_LMDB_COMMITTER: 'primary' }, keepDrives: true });
  servers.push(s);
  return s;
}

function s3(server: RunningServer, method: string, path: string, body?: Buffer) {
  return signHeaders(server, { method, path }).then((headers) => rawRequest(server, { method, url: path, headers, ...(body ? { body } : {}) }));
}

/** Pids that own a tmp dir on `drive` (LocalDrive.open makes `.cairn/tmp/<pid>-<random>`). */
async function tmpOwners(drive: string): Promise<Set<number>> {
  const names = await readdir(join(drive, '.cairn', 'tmp')).catch(() => [] as string[]);
  return new Set(names.map((n) => Number(n.split('-')[0])));
}

describe('cairn server --workers 2 with CAIRN_LMDB_COMMITTER=primary', () => {
  it('commits through the primary: concurrent PUTs, overwrites and deletes from both workers read back everywhere', async () => {
    const server = await start(2);
    expect((await s3(server, 'PUT', '/bkt')).status).toBe(200);
    const bodies = Array.from({ length: 48 }, (_, i) => randomBytes(500 + i * 97));
    const puts = await Promise.all(bodies.map((b, i) => s3(server, 'PUT', `/bkt/k${i}`, b)));
    expect(puts.map((p) => p.status)).toEqual(bodies.map(() => 200));
    expect(new Set(puts.map(workerOf)).size).toBe(2);

    // The primary opened every drive to commit on it.
    for (const d of server.drives) expect(await tmpOwners(d)).toContain(server.proc.pid);

    for (let i = 0; i < bodies.length; i += 7) {
      const got = await s3(server, 'GET', `/bkt/k${i}`);
      expect(got.status).toBe(200);
      expect(got.headers['etag']).toBe(`"${md5(bodies[i]!)}"`);
    }
    const v2 = randomBytes(3000);
    expect((await s3(server, 'PUT', '/bkt/k1', v2)).status).toBe(200);
    expect((await s3(server, 'DELETE', '/bkt/k2')).status).toBe(204);
    const heads = await Promise.all(Array.from({ length: 6 }, () => s3(server, 'HEAD', '/bkt/k1')));
    expect(new Set(heads.map(workerOf)).size).toBe(2);
    for (const h of heads) expect(h.headers['etag']).toBe(`"${md5(v2)}"`);
    for (const h of await Promise.all(Array.from({ length: 4 }, () => s3(server, 'HEAD', '/bkt/k2')))) expect(h.status).toBe(404);

    expect(await server.stop('SIGTERM')).toBe(0);
    for (const key of ['k0', 'k1', 'k47']) {
      const records = [];
      for (const path of server.drives) {
        const d = await LocalDrive.open(path);
        records.push(d.getObject('bkt', key));
        await d.close();
      }
      expect(records[0]).toBeDefined();
      for (const r of records) expect(r && sameVersion(r, records[0]!)).toBe(true);
    }
    for (const path of server.drives) {
      const d = await LocalDrive.open(path);
      expect(d.getObject('bkt', 'k2')).toBeUndefined();
      await d.close();
    }
  }, 90_000);
});

describe('cairn server --workers 1 with CAIRN_LMDB_COMMITTER=primary', () => {
  it('commits locally as before: no committer process', async () => {
    const server = await start(1);
    expect((await s3(server, 'PUT', '/one')).status).toBe(200);
    const body = randomBytes(2000);
    expect((await s3(server, 'PUT', '/one/k', body)).status).toBe(200);
    const got = await s3(server, 'GET', '/one/k');
    expect(got.headers['etag']).toBe(`"${md5(body)}"`);
    for (const d of server.drives) expect([...(await tmpOwners(d))]).toEqual([server.proc.pid]);
  }, 60_000);
});
