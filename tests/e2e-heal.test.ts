import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DrivesView, HealView } from '../server/admin-heal.js';
import type { HealSweepStatus } from '../storage/heal/types.js';
import { eventually, freePort, httpGet } from './helpers/ops.js';
import { rawRequest, signHeaders } from './helpers/raw-s3.js';
import { sdkClient } from './helpers/sdk.js';
import { startServer, type RunningServer } from './helpers/server.js';

/**
 * Issue 5 items 3 and 4: what healing looks like from outside. The admin API
 * (GET/POST /cairn/admin/v1/heal, GET /cairn/admin/v1/drives), `cairn admin
 * heal|drives`, the heal metrics, and real heals: a replaced (wiped) drive
 * rebuilt byte for byte, and a shard file deleted behind the server's back
 * restored by an admin sweep.
 */

const ROOT = resolve(import.meta.dirname, '..');
const CLI = join(ROOT, 'bin/cairn.js');
const run = promisify(execFile);


async function admin<T>(server: RunningServer, method: 'GET' | 'POST', path: string, query: Record<string, string> = {}, secretKey?: string): Promise<{ status: number; body: T; text: string }> {
  const headers = await signHeaders(server, { method, path, query, ...(secretKey ? { secretKey } : {}) });
  const qs = new URLSearchParams(query).toString();
  const res = await rawRequest(server, { method, url: qs ? `${path}?${qs}` : path, headers });
  let body: T;
  try {
    body = JSON.parse(res.body) as T;
  } catch {
    body = undefined as T;
  }
  return { status: res.status, body, text: res.body };
}

const healStatus = async (server: RunningServer) => {
  const r = await admin<HealView>(server, 'GET', '/cairn/admin/v1/heal');
  if (r.status !== 200) throw new Error(`GET heal: ${r.status} ${r.text}`);
  return r.body;
};

/** `node bin/cairn.js admin ...` against the server; resolves with exit code and output, never rejects on a non-zero exit. */
async function cli(server: Pick<RunningServer, 'endpoint' | 'accessKey' | 'secretKey'>, args: string[], creds = true): Promise<{ code: number; stdout: string; stderr: string }> {
  const full = ['admin', ...args, '--endpoint', server.endpoint, ...(creds ? ['--access-key', server.accessKey, '--secret-key', server.secretKey] : [])];
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...full], { env: { ...process.env, CAIRN_ROOT_USER: '', CAIRN_ROOT_PASSWORD: '' }, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** Every file under `dir`, relative path → sha256. */
async function fileHashes(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out.set(relative(dir, p), createHash('sha256').update(await readFile(p)).digest('hex'));
    }
  };
  await walk(dir);
  return out;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** Deterministic, incompressible-looking content. */
function content(seed: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash('sha256').update(seed).digest();
  for (let off = 0; off < size; off += block.length) {
    block.copy(out, off);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

describe('admin API and CLI (shape, auth, a bucket named cairn)', () => {
  let server: RunningServer;
  let s3: S3Client;
  beforeAll(async () => {
    server = await startServer({ env: { CAIRN_WORKERS: '2' } });
    s3 = sdkClient(server);
  });
  afterAll(async () => {
    s3?.destroy();
    await server?.stop();
  });

  it('GET /cairn/admin/v1/heal: heal status plus every set with its drives and quorum', async () => {
    const view = await healStatus(server);
    expect(view.queue).toEqual({ length: expect.any(Number), dropped: expect.any(Number) });
    expect(Array.isArray(view.rebuilds)).toBe(true);
    expect(Array.isArray(view.sweeps)).toBe(true);
    expect(view.totals).toMatchObject({ objectsHealed: expect.any(Number), bytesHealed: expect.any(Number), failures: expect.any(Number) });
    expect(view.sets).toHaveLength(1);
    expect(view.sets[0]).toMatchObject({ set: 1, online: 4, total: 4, readQuorum: 2, writeQuorum: 3, readable: true, writable: true, quorum: 'ok' });
    expect(view.sets[0]!.drives.map((d) => d.path)).toEqual(server.drives);
    expect(view.sets[0]!.drives.every((d) => d.state === 'online')).toBe(true);
  });

  it('GET /cairn/admin/v1/drives: the drive table', async () => {
    const r = await admin<DrivesView>(server, 'GET', '/cairn/admin/v1/drives');
    expect(r.status).toBe(200);
    expect(r.body.drives.map((d) => [d.set, d.slot, d.path, d.state])).toEqual(server.drives.map((p, i) => [1, i + 1, p, 'online']));
    expect(r.body.drives[0]!.totalBytes).toBeGreaterThan(0);
    expect(r.body.drives[0]!.freeBytes).toBeGreaterThan(0);
  });

  it('root credentials only: anonymous and wrong secrets are refused', async () => {
    for (const path of ['/cairn/admin/v1/heal', '/cairn/admin/v1/drives']) {
      expect((await rawRequest(server, { method: 'GET', url: path })).status).toBe(403);
      expect((await admin(server, 'GET', path, {}, 'not-the-secret')).status).toBe(403);
    }
    expect((await admin(server, 'POST', '/cairn/admin/v1/heal', {}, 'not-the-secret')).status).toBe(403);
    // A prefix names nothing without its bucket.
    const bad = await admin(server, 'POST', '/cairn/admin/v1/heal', { prefix: 'p/' });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('<Code>InvalidArgument</Code>');
  });

  it('a bucket named cairn keeps working for S3 (only plain GET/POST of the admin paths are taken)', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'cairn' }));
    const body = content('cairn-bucket', 6 * 1024 * 1024);
    // PUT, a multipart upload (POST ?uploads, ?uploadId) and DELETE of the admin keys are S3's.
    await s3.send(new PutObjectCommand({ Bucket: 'cairn', Key: 'admin/v1/drives', Body: 'plain object' }));
    const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'cairn', Key: 'admin/v1/heal' }));
    const p1 = await s3.send(new UploadPartCommand({ Bucket: 'cairn', Key: 'admin/v1/heal', UploadId: up.UploadId!, PartNumber: 1, Body: body.subarray(0, 5 * 1024 * 1024) }));
    const p2 = await s3.send(new UploadPartCommand({ Bucket: 'cairn', Key: 'admin/v1/heal', UploadId: up.UploadId!, PartNumber: 2, Body: body.subarray(5 * 1024 * 1024) }));
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'cairn',
        Key: 'admin/v1/heal',
        UploadId: up.UploadId!,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag! }, { PartNumber: 2, ETag: p2.ETag! }] },
      }),
    );
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'cairn' }));
    expect(listed.Contents?.map((c) => [c.Key, c.Size])).toEqual([
      ['admin/v1/drives', 12],
      ['admin/v1/heal', body.length],
    ]);
    // A GET with any S3 parameter reaches the object.
    const part2 = await s3.send(new GetObjectCommand({ Bucket: 'cairn', Key: 'admin/v1/heal', PartNumber: 2 }));
    expect(sha(await part2.Body!.transformToByteArray())).toBe(sha(body.subarray(5 * 1024 * 1024)));
    await s3.send(new DeleteObjectCommand({ Bucket: 'cairn', Key: 'admin/v1/heal' }));
    await s3.send(new DeleteObjectCommand({ Bucket: 'cairn', Key: 'admin/v1/drives' }));
    expect((await s3.send(new ListObjectsV2Command({ Bucket: 'cairn' }))).KeyCount).toBe(0);
    // And the admin API still answers on the same paths.
    expect((await admin(server, 'GET', '/cairn/admin/v1/heal')).status).toBe(200);
  });

  it('cairn admin heal status / drives print tables; --json prints the server JSON', async () => {
    const status = await cli(server, ['heal', 'status']);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^Healer: /);
    expect(status.stdout).toMatch(/SET\s+ONLINE\s+READ QUORUM\s+WRITE QUORUM\s+STATE\n\s+1\s+4\/4\s+2\s+3\s+ok/);
    for (const d of server.drives) expect(status.stdout).toMatch(new RegExp(`online\\s+${d.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`));
    expect(status.stdout).toContain('Queue: ');
    expect(status.stdout).toContain('Healed since start: ');

    const bare = await cli(server, ['heal', '--json']);
    expect(bare.code, bare.stderr).toBe(0);
    expect((JSON.parse(bare.stdout) as HealView).sets[0]!.online).toBe(4);

    const drives = await cli(server, ['drives']);
    expect(drives.code, drives.stderr).toBe(0);
    expect(drives.stdout).toMatch(/SET\s+SLOT\s+STATE\s+OPS\s+ERRORS\s+MEAN\s+FREE\s+TOTAL\s+PATH/);
    expect(drives.stdout).toContain('set 1: 4/4 online (read quorum 2, write quorum 3) ok');
    const drivesJson = await cli(server, ['drives', '--json']);
    expect((JSON.parse(drivesJson.stdout) as DrivesView).drives).toHaveLength(4);
  });

  it('cairn admin: wrong credentials exit 1 with the S3 error; bad usage exits 2', async () => {
    const wrong = await cli(server, ['heal', 'status', '--access-key', server.accessKey, '--secret-key', 'not-the-secret'], false);
    expect(wrong.code, wrong.stderr).toBe(1);
    expect(wrong.stderr).toContain('403 SignatureDoesNotMatch');
    const noCreds = await cli(server, ['drives'], false);
    expect(noCreds.code, noCreds.stderr).toBe(2);
    expect(noCreds.stderr).toContain('credentials needed');
    const bogus = await cli(server, ['heal', 'bogus']);
    expect(bogus.code, bogus.stderr).toBe(2);
    expect(bogus.stderr).toContain('Usage:');
    const prefixOnly = await cli(server, ['heal', 'start', '--prefix', 'x/']);
    expect(prefixOnly.code, prefixOnly.stderr).toBe(2);
    const badInterval = await cli(server, ['heal', '--watch', '--interval', '0']);
    expect(badInterval.code, badInterval.stderr).toBe(2);
    expect(badInterval.stderr).toContain('--interval');
  });

  it('/metrics carries the heal series', async () => {
    const text = (await httpGet(`${server.endpoint}/metrics`)).body;
    for (const name of ['cairn_heal_objects_total', 'cairn_heal_bytes_total', 'cairn_heal_failures_total', 'cairn_heal_queue_length', 'cairn_scanner_objects_total']) {
      expect(text).toMatch(new RegExp(`^${name} \\d+`, 'm'));
    }
  });
});

describe('healing, seen from outside', () => {
  let root: string;
  let dirs: string[];
  let server: RunningServer | undefined;
  let s3: S3Client | undefined;
  let creds = { accessKey: '', secretKey: '' };
  const objects = new Map<string, string>(); // key → sha256
  const BUCKET = 'heal';

  const start = async (env: Record<string, string> = {}, port = 0) => {
    server = await startServer({ driveDirs: dirs, args: ['--address', `127.0.0.1:${port}`], env: { CAIRN_WORKERS: '2', CAIRN_SCANNER_RATE: '0', ...env } });
    s3 = sdkClient(server);
    return server;
  };
  const stop = async () => {
    s3?.destroy();
    s3 = undefined;
    await server?.stop();
    server = undefined;
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'cairn-e2e-heal-'));
    dirs = Array.from({ length: 4 }, (_, i) => join(root, `d${i + 1}`));
    const srv = await start();
    await s3!.send(new CreateBucketCommand({ Bucket: BUCKET }));
    // Sizes from empty through inline to several stripes; enough shard data that a rebuild is seen running.
    const sizes = [0, 1, 1000, 64 * 1024, 300 * 1024, 1024 * 1024 + 1, 3 * 1024 * 1024];
    for (let round = 0; round < 6; round++) {
      for (const size of sizes) {
        const key = `r${round}/obj-${size}`;
        const body = content(key, size);
        await s3!.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
        objects.set(key, sha(body));
      }
    }
    const big = content('multipart', 7 * 1024 * 1024);
    const up = await s3!.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'multi/part' }));
    const parts = [];
    for (const [n, slice] of [big.subarray(0, 5 * 1024 * 1024), big.subarray(5 * 1024 * 1024)].entries()) {
      const r = await s3!.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'multi/part', UploadId: up.UploadId!, PartNumber: n + 1, Body: slice }));
      parts.push({ PartNumber: n + 1, ETag: r.ETag! });
    }
    await s3!.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'multi/part', UploadId: up.UploadId!, MultipartUpload: { Parts: parts } }));
    objects.set('multi/part', sha(big));
    expect(srv.drives).toEqual(dirs);
    creds = { accessKey: srv.accessKey, secretKey: srv.secretKey };
    await stop();
  }, 180_000);

  afterAll(async () => {
    await stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('a wiped drive is rebuilt: seen healing with progress, then online with every shard file byte-identical', async () => {
    const wiped = dirs[1]!;
    const before = await fileHashes(join(wiped, 'data'));
    expect(before.size).toBeGreaterThan(0);
    await rm(wiped, { recursive: true, force: true });
    await mkdir(wiped);

    // Watch the rebuild from the admin API and from the CLI at the same time. The CLI is started
    // first (its --watch rides out the server being down), so its start-up does not miss the rebuild.
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}`;
    const watching = cli({ endpoint, accessKey: creds.accessKey, secretKey: creds.secretKey }, ['heal', 'status', '--watch', '--interval', '0.2']);
    const srv = await start({}, port);
    expect(srv.endpoint).toBe(endpoint);
    let sawRebuild = false;
    const rebuildSeen: { first?: number; last?: number } = {};
    const healingSeen: { first?: number; last?: number } = {};
    let sawHealing = false;
    let sawProgress = false;
    const done = await eventually(
      'the rebuild to finish',
      async () => {
        const v = await healStatus(srv);
        const r = v.rebuilds.find((x) => x.path === wiped);
        if (r) {
          sawRebuild = true;
          rebuildSeen.first ??= Date.now();
          rebuildSeen.last = Date.now();
          if (r.objectsScanned > 0 || r.bytesDone > 0) sawProgress = true;
        }
        if (v.sets[0]!.drives.find((d) => d.path === wiped)?.state === 'healing') {
          sawHealing = true;
          healingSeen.first ??= Date.now();
          healingSeen.last = Date.now();
        }
        const online = v.sets[0]!.drives.every((d) => d.state === 'online');
        return v.active && online && v.rebuilds.length === 0 && v.totals.objectsHealed > 0 ? v : undefined;
      },
      120_000,
      100,
    );
    expect(sawRebuild || sawHealing).toBe(true);
    if (sawRebuild) expect(sawProgress || done.totals.objectsHealed > 0).toBe(true);
    expect(done.totals.bytesHealed).toBeGreaterThan(0);
    expect(done.sets[0]!.quorum).toBe('ok');

    // Shard files are back where they were, byte for byte.
    const after = await fileHashes(join(wiped, 'data'));
    for (const [path, hash] of before) expect(after.get(path), path).toBe(hash);

    // Each worker derives drive states from the rebuild tracker every few seconds: wait until
    // several answers in a row (whichever worker gives them) show the drive online.
    let inARow = 0;
    await eventually('every worker to show the drive online', async () => {
      const drives = await admin<DrivesView>(srv, 'GET', '/cairn/admin/v1/drives');
      inARow = drives.body.drives.find((d) => d.path === wiped)?.state === 'online' ? inARow + 1 : 0;
      return inARow >= 4 ? true : undefined;
    }, 30_000, 100);

    const watched = await watching;
    expect(watched.code, watched.stderr).toBe(0);
    // The CLI was watching before the server started, every 0.2 s: when the API saw the rebuild
    // running for a second or more, the CLI printed it too. It stopped once nothing ran.
    const rebuildLine = new RegExp(`rebuild set 1 ${wiped.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+running\\s+\\d+/\\d+`);
    const tables = watched.stdout.split(/^(?=Healer: )/m).filter((t) => t.startsWith('Healer: '));
    for (const t of tables) expect(t).toContain('Healed since start: ');
    if (rebuildSeen.last! - rebuildSeen.first! >= 1000) expect(tables.some((t) => rebuildLine.test(t)), watched.stdout).toBe(true);
    if (healingSeen.last! - healingSeen.first! >= 1000) expect(tables.some((t) => / 1\s+\d+\s+healing\s+/.test(t)), watched.stdout).toBe(true);
    // --watch stops once nothing runs: its last table has no rebuild.
    expect(tables.at(-1)).not.toMatch(rebuildLine);

    const metrics = (await httpGet(`${srv.endpoint}/metrics`)).body;
    const healed = Number(/^cairn_heal_objects_total (\d+)/m.exec(metrics)?.[1]);
    expect(healed).toBeGreaterThan(0);
    expect(Number(/^cairn_heal_bytes_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThan(0);
    await stop();

    // Records are back too: with two other drives gone, the rebuilt drive and one survivor serve every object.
    for (const d of [dirs[0]!, dirs[2]!]) {
      await rename(d, `${d}.away`);
      await writeFile(d, 'not a drive');
    }
    try {
      const degraded = await start({ CAIRN_SCANNER_RATE: '0' });
      expect(degraded).toBeDefined();
      for (const [key, hash] of objects) {
        const got = await s3!.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
        expect(sha(await got.Body!.transformToByteArray()), key).toBe(hash);
      }
      await stop();
    } finally {
      for (const d of [dirs[0]!, dirs[2]!]) {
        await rm(d, { force: true });
        await rename(`${d}.away`, d);
      }
    }
  }, 300_000);

  it('an admin deep sweep restores a shard file deleted behind the server\'s back', async () => {
    const srv = await start();
    // The shard files of one fresh object: the data dirs that appear on a drive with it.
    const drive = dirs[0]!;
    const dataDirs = async () => new Set(await readdir(join(drive, 'data')));
    const known = await dataDirs();
    const body = content('sweep-victim', 2 * 1024 * 1024 + 17);
    await s3!.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'sweep/victim', Body: body }));
    const fresh = [...(await dataDirs())].filter((d) => !known.has(d));
    expect(fresh).toHaveLength(1);
    const files = await fileHashes(join(drive, 'data', fresh[0]!));
    expect(files.size).toBeGreaterThan(0);
    const [victim, hash] = [...files][0]!;
    const victimPath = join(drive, 'data', fresh[0]!, victim);
    await unlink(victimPath);

    const started = await admin<HealSweepStatus>(srv, 'POST', '/cairn/admin/v1/heal', { bucket: BUCKET, prefix: 'sweep/', deep: 'true' });
    expect(started.status, started.text).toBe(202);
    expect(started.body).toMatchObject({ bucket: BUCKET, prefix: 'sweep/', deep: true, state: expect.stringMatching(/queued|running/) });
    const sweep = await eventually(
      'the sweep to be done',
      async () => {
        const s = (await healStatus(srv)).sweeps.find((x) => x.id === started.body.id);
        if (s?.state === 'failed') throw new Error(`sweep failed: ${s.error}`);
        return s?.state === 'done' ? s : undefined;
      },
      60_000,
      200,
    );
    expect(sweep.objectsScanned).toBeGreaterThanOrEqual(1);
    expect(sweep.objectsHealed).toBeGreaterThanOrEqual(1);
    expect((await stat(victimPath)).isFile()).toBe(true);
    expect(createHash('sha256').update(await readFile(victimPath)).digest('hex')).toBe(hash);

    // The CLI starts a sweep too.
    const viaCli = await cli(srv, ['heal', 'start', '--bucket', BUCKET, '--deep']);
    expect(viaCli.code, viaCli.stderr).toBe(0);
    expect(viaCli.stdout).toMatch(/^heal sweep \S+ (queued|running) \(heal\/\), deep\n$/);
    await stop();
  }, 180_000);
});

// The CLI must be built; dist is what the e2e suites run.
if (!existsSync(join(ROOT, 'dist/admin-client.js'))) console.warn('e2e-heal: dist/admin-client.js missing: run `npm run build`');
