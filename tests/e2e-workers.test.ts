import { createHash, randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalDrive } from '../storage/local-drive.js';
import { sameVersion } from '../storage/metadata-record.js';
import { rawRequest, signHeaders, type RawResponse } from './helpers/raw-s3.js';
import { startServer, type RunningServer } from './helpers/server.js';

/**
 * `cairn server --workers 2`: two processes on one port over the same drives
 * (LMDB shared between them). Every request goes on its own connection
 * (agent: false, no keep-alive), so the primary's round-robin spreads them
 * over both workers; the request id's prefix is per process, which tells us
 * which worker answered.
 */

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({ drives: 4, args: ['--workers', '2'], keepDrives: true });
  expect((await s3('PUT', '/bkt')).status).toBe(200);
}, 60_000);

afterAll(async () => {
  if (server && server.proc.exitCode === null) await server.stop();
  if (server) await rm(server.root, { recursive: true, force: true });
});

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
/** The per-process part of an x-amz-request-id (server/app.ts requestIdGenerator). */
const workerOf = (r: RawResponse) => String(r.headers['x-amz-request-id']).slice(0, 6);

async function s3(method: string, path: string, body?: Buffer, query?: Record<string, string>): Promise<RawResponse> {
  const headers = await signHeaders(server, { method, path, ...(query ? { query } : {}) });
  const qs = query ? '?' + new URLSearchParams(query).toString() : '';
  return rawRequest(server, { method, url: path + qs, headers, ...(body ? { body } : {}) });
}

/** GET with the body as bytes (rawRequest decodes to a string). */
async function getBytes(path: string): Promise<{ status: number; body: Buffer; worker: string }> {
  const headers = await signHeaders(server, { method: 'GET', path });
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: server.port, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), worker: String(res.headers['x-amz-request-id']).slice(0, 6) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Worker pids: the primary's children. */
async function workerPids(): Promise<number[]> {
  const pid = server.proc.pid!;
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
  return text.trim().split(/\s+/).filter(Boolean).map(Number);
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, tries = 100): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('cairn server --workers 2', () => {
  it('listens with two worker processes on one port and prints the readiness line once', async () => {
    expect(await workerPids()).toHaveLength(2);
    expect(server.output().match(/Cairn listening on /g)).toHaveLength(1);
    expect(server.output()).toContain('Workers:   2 processes sharing the port');
  });

  it('reads through one worker what was just written through the other', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const body = randomBytes(1000 + i * 700);
      const put = await s3('PUT', `/bkt/raw-${i}`, body);
      expect(put.status).toBe(200);
      const got = await getBytes(`/bkt/raw-${i}`);
      expect(got.status).toBe(200);
      expect(md5(got.body)).toBe(md5(body));
      seen.add(workerOf(put)).add(got.worker);
    }
    // Round-robin over two workers: both took part.
    expect(seen.size).toBe(2);
  });

  it('lists the same keys through either worker', async () => {
    const keys = Array.from({ length: 30 }, (_, i) => `list/${String(i).padStart(2, '0')}`);
    await Promise.all(keys.map((k) => s3('PUT', `/bkt/${k}`, Buffer.from(k)).then((r) => expect(r.status).toBe(200))));
    const listings = await Promise.all(
      Array.from({ length: 6 }, () => s3('GET', '/bkt', undefined, { 'list-type': '2', prefix: 'list/' })),
    );
    expect(new Set(listings.map(workerOf)).size).toBe(2);
    for (const l of listings) {
      expect(l.status).toBe(200);
      expect([...l.body.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1])).toEqual(keys);
    }
  });

  it('converges on one version on every drive when many clients PUT the same key at once', async () => {
    const bodies = Array.from({ length: 24 }, (_, i) => Buffer.alloc(20_000 + i * 4099, i + 1));
    const puts = await Promise.all(bodies.map((b) => s3('PUT', '/bkt/race', b)));
    expect(puts.map((p) => p.status)).toEqual(bodies.map(() => 200));
    expect(new Set(puts.map(workerOf)).size).toBe(2);
    // Every worker serves the same winner, and it is one of the bodies, whole.
    const gets = await Promise.all(Array.from({ length: 6 }, () => getBytes('/bkt/race')));
    expect(new Set(gets.map((g) => g.worker)).size).toBe(2);
    const winner = md5(gets[0]!.body);
    expect(bodies.map(md5)).toContain(winner);
    for (const g of gets) expect(md5(g.body)).toBe(winner);
  });

  it('restarts a worker killed with SIGKILL mid-upload, and nothing partial becomes visible', async () => {
    const v1 = randomBytes(50_000);
    expect((await s3('PUT', '/bkt/victim', v1)).status).toBe(200);
    const before = await workerPids();
    const [victim] = before;

    // Four slow uploads replacing `victim`, on four connections: two land on each worker.
    const size = 8 << 20;
    const chunk = Buffer.alloc(64 * 1024, 0x5a);
    const uploads = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const headers = await signHeaders(server, { method: 'PUT', path: '/bkt/victim', headers: { 'content-length': String(size) } });
        const req = httpRequest({ host: '127.0.0.1', port: server.port, method: 'PUT', path: '/bkt/victim', headers, agent: false });
        const outcome = new Promise<string>((resolve) => {
          req.on('response', (res) => {
            res.resume();
            resolve(`status ${res.statusCode}`);
          });
          req.on('error', (err: NodeJS.ErrnoException) => resolve(`error ${err.code ?? err.message}`));
        });
        let sent = 0;
        // Half the body now, the rest only after the kill.
        while (sent < size / 2) {
          req.write(chunk);
          sent += chunk.length;
        }
        return { req, outcome, finish: () => { while (sent < size) { req.write(chunk); sent += chunk.length; } req.end(); } };
      }),
    );
    await new Promise((r) => setTimeout(r, 500));
    process.kill(victim!, 'SIGKILL');
    for (const u of uploads) if (!u.req.destroyed) u.finish();
    const outcomes = await Promise.all(uploads.map((u) => u.outcome));
    // Those on the killed worker broke; the others completed.
    expect(outcomes.filter((o) => o.startsWith('error')).length).toBeGreaterThan(0);
    for (const o of outcomes) expect(o === 'status 200' || o.startsWith('error')).toBe(true);
    const completed = outcomes.filter((o) => o === 'status 200').length;

    // The primary forks a replacement.
    const after = await until('a replacement worker', async () => {
      const pids = await workerPids();
      return pids.length === 2 && !pids.includes(victim!) ? pids : undefined;
    });
    expect(after).not.toContain(victim);
    await until('both workers answering', async () => {
      const ids = new Set<string>();
      for (let i = 0; i < 6; i++) ids.add(workerOf(await s3('HEAD', '/bkt/victim')));
      return ids.size === 2 ? true : undefined;
    });

    // Through every worker: the whole old body, or the whole new one — never a mix or a fragment.
    const expected = completed > 0 ? md5(Buffer.alloc(size, 0x5a)) : md5(v1);
    const gets = await Promise.all(Array.from({ length: 6 }, () => getBytes('/bkt/victim')));
    for (const g of gets) {
      expect(g.status).toBe(200);
      expect(md5(g.body)).toBe(expected);
    }
  }, 120_000);

  it('drains on SIGTERM, exits 0, and leaves every drive agreeing on each record', async () => {
    const code = await server.stop('SIGTERM');
    expect(code).toBe(0);
    for (const key of ['race', 'victim', 'raw-0']) {
      const records = [];
      for (const path of server.drives) {
        const d = await LocalDrive.open(path);
        records.push(d.getObject('bkt', key));
        await d.close();
      }
      const first = records[0];
      expect(first).toBeDefined();
      for (const r of records) expect(r && sameVersion(r, first!)).toBe(true);
    }
  });
});

describe('cairn server --workers 2 that cannot start', () => {
  it('exits 1 with the reason instead of restarting workers forever', async () => {
    // The port is taken: every worker's listen fails.
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const { port } = blocker.address() as AddressInfo;
    try {
      const err = await startServer({ drives: 4, args: ['--workers', '2', '--address', `127.0.0.1:${port}`] }).then(
        async (s) => {
          await s.stop();
          return undefined;
        },
        (e: unknown) => e as Error,
      );
      expect(err?.message).toMatch(/exited with 1 before ready/);
      expect(err?.message).toMatch(/cannot start/);
    } finally {
      blocker.close();
    }
  }, 60_000);
});
