import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, freePort, httpGet, startDaemon, type Daemon } from './helpers/ops.js';
import { rawRequest, signHeaders } from './helpers/raw-s3.js';
import { failure, sdkClient } from './helpers/sdk.js';
import { startServer, type RunningServer } from './helpers/server.js';

/**
 * Issue 7 items 1 and 4: /metrics (bearer token, names the deploy/ rules use),
 * /health/live and /health/ready, the admin summary, and Debian's real
 * Prometheus scraping a running server.
 */

const ROOT = resolve(import.meta.dirname, '..');
const TOKEN = 'metrics-token-for-tests';
const PROMETHEUS = process.env.PROMETHEUS ?? '/usr/bin/prometheus';

let server: RunningServer;
let s3: S3Client;

beforeAll(async () => {
  // Two worker processes: /metrics must show the whole server whichever worker answers.
  server = await startServer({ env: { CAIRN_METRICS_TOKEN: TOKEN, CAIRN_USAGE_SCAN_INTERVAL: '1s', CAIRN_WORKERS: '2' } });
  s3 = sdkClient(server);
  await s3.send(new CreateBucketCommand({ Bucket: 'photos' }));
  await s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'a.jpg', Body: Buffer.alloc(1000, 1) }));
  await s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'b.jpg', Body: Buffer.alloc(500, 2) }));
  await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'a.jpg' })).then((r) => r.Body!.transformToByteArray());
  await failure(s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'missing' })));
});
afterAll(async () => {
  s3?.destroy();
  await server?.stop();
});

const metrics = async () => (await httpGet(`${server.endpoint}/metrics`, { authorization: `Bearer ${TOKEN}` })).body;

describe('health endpoints', () => {
  it('/health/live and /health/ready answer 200 without credentials', async () => {
    const live = await httpGet(`${server.endpoint}/health/live`);
    expect(live.status).toBe(200);
    const ready = await httpGet(`${server.endpoint}/health/ready`);
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toMatchObject({ status: 'ok', sets: [{ set: 1, onlineDrives: 4, drives: 4, readable: true, writable: true }] });
  });

  it('/health/ready answers 503 when a set has lost write quorum', async () => {
    // Four drives, two of them then replaced by files: the set starts with 2 of 4 online, below write quorum.
    const root = await mkdtemp(join(tmpdir(), 'cairn-ready-'));
    const dirs = Array.from({ length: 4 }, (_, i) => join(root, `d${i + 1}`));
    const first = await startServer({ driveDirs: dirs });
    await first.stop();
    await rm(dirs[0]!, { recursive: true });
    await rm(dirs[1]!, { recursive: true });
    await writeFile(dirs[0]!, 'not a drive');
    await writeFile(dirs[1]!, 'not a drive');
    const degraded = await startServer({ driveDirs: dirs }).catch((err: Error) => err);
    try {
      if (degraded instanceof Error) throw degraded;
      const ready = await httpGet(`${degraded.endpoint}/health/ready`);
      expect(ready.status).toBe(503);
      expect(JSON.parse(ready.body)).toMatchObject({ status: 'unavailable', sets: [{ onlineDrives: 2, writable: false }] });
      expect((await httpGet(`${degraded.endpoint}/health/live`)).status).toBe(200);
    } finally {
      if (!(degraded instanceof Error)) await degraded.stop();
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('/metrics', () => {
  it('needs the bearer token when one is configured', async () => {
    expect((await httpGet(`${server.endpoint}/metrics`)).status).toBe(401);
    expect((await httpGet(`${server.endpoint}/metrics`, { authorization: 'Bearer wrong' })).status).toBe(401);
    const ok = await httpGet(`${server.endpoint}/metrics`, { authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
    expect(ok.contentType).toMatch(/^text\/plain/);
  });

  it('counts requests by API and status, bytes, and reports drives, sets and process metrics', async () => {
    const text = await metrics();
    expect(text).toMatch(/cairn_http_requests_total\{api="PutObject",status="200"\} 2/);
    expect(text).toMatch(/cairn_http_requests_total\{api="GetObject",status="404"\} 1/);
    expect(text).toMatch(/cairn_http_requests_total\{api="CreateBucket",status="200"\} 1/);
    expect(text).toMatch(/cairn_http_request_duration_seconds_count\{api="PutObject"\} 2/);
    // Two PUT bodies (1500 bytes) plus their headers.
    const received = Number(/cairn_http_bytes_received_total\{api="PutObject"\} (\d+)/.exec(text)?.[1]);
    expect(received).toBeGreaterThan(1500);
    const sent = Number(/cairn_http_bytes_sent_total\{api="GetObject"\} (\d+)/.exec(text)?.[1]);
    expect(sent).toBeGreaterThan(1000);
    expect(text).toMatch(/cairn_http_inflight_requests \d/);
    for (const d of server.drives) {
      expect(text).toContain(`cairn_drive_online{set="1",drive="${d}"} 1`);
      // The PUTs above committed on every drive: operations counted, none failed.
      expect(text).toMatch(new RegExp(`cairn_drive_io_operations_total\\{set="1",drive="${d}"\\} [1-9]`));
      expect(text).toContain(`cairn_drive_io_errors_total{set="1",drive="${d}"} 0`);
      expect(text).toMatch(new RegExp(`cairn_drive_total_bytes\\{drive="${d}"\\} [1-9]`));
      expect(text).toMatch(new RegExp(`cairn_drive_used_bytes\\{drive="${d}"\\} [1-9]`));
    }
    expect(text).toContain('cairn_set_online_drives{set="1"} 4');
    expect(text).toMatch(/cairn_set_write_quorum\{set="1"\} \d/);
    expect(text).toMatch(/cairn_set_read_quorum\{set="1"\} \d/);
    expect(text).toContain('cairn_heal_objects_total 0');
    expect(text).toContain('cairn_audit_dropped_total');
    expect(text).toContain('cairn_process_resident_memory_bytes');
    // Scrapes and health checks are not S3 requests.
    expect(text).not.toMatch(/api="Unknown"/);
  });

  it('exports every metric deploy/prometheus/alerts.yml and the Grafana dashboard use', async () => {
    const text = await metrics();
    const used = new Set(
      [readFileSync(join(ROOT, 'deploy/prometheus/alerts.yml'), 'utf8'), readFileSync(join(ROOT, 'deploy/grafana/cairn-dashboard.json'), 'utf8')]
        .join('\n')
        .match(/\bcairn_[a-z_]+/g)!
        .map((n) => n.replace(/_(bucket|sum|count)$/, '')),
    );
    expect(used.size).toBeGreaterThan(10);
    // cairn_kms_online exists only when a KMS is configured (none here).
    for (const name of [...used].filter((n) => n !== 'cairn_kms_online')) expect(text, name).toContain(`# TYPE ${name} `);
  });

  it('merges the figures of every worker process, whichever worker answers the scrape', async () => {
    // Each request on a new connection: node:cluster hands connections to workers round-robin.
    for (let i = 0; i < 10; i++) expect((await rawRequest(server, { method: 'GET', url: '/anon/obj' })).status).toBe(403);
    for (let i = 0; i < 4; i++) {
      const res = await rawRequest(server, { method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.body).toContain('cairn_http_requests_total{api="GetObject",status="403"} 10');
      expect(res.body).toContain('cairn_set_online_drives{set="1"} 4');
    }
  });

  it('reports bucket usage from the periodic scan', async () => {
    const text = await eventually('bucket usage', async () => {
      const t = await metrics();
      return /cairn_bucket_objects\{bucket="photos"\} 2/.test(t) ? t : undefined;
    });
    expect(text).toContain('cairn_bucket_bytes{bucket="photos"} 1500');
  });

  it('leaves buckets named metrics and health to S3 when the request is signed', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'metrics' }));
    await s3.send(new PutObjectCommand({ Bucket: 'metrics', Key: 'x', Body: 'y' }));
    const list = await s3.send(new ListObjectsV2Command({ Bucket: 'metrics' }));
    expect(list.Contents?.map((c) => c.Key)).toEqual(['x']);
    await s3.send(new CreateBucketCommand({ Bucket: 'health' }));
    await s3.send(new PutObjectCommand({ Bucket: 'health', Key: 'live', Body: 'object data' }));
    const got = await s3.send(new GetObjectCommand({ Bucket: 'health', Key: 'live' }));
    expect(await got.Body!.transformToString()).toBe('object data');
  });
});

describe('admin summary', () => {
  it('GET /cairn/admin/v1/info needs root credentials and describes sets and drives', async () => {
    const path = '/cairn/admin/v1/info';
    const headers = await signHeaders(server, { method: 'GET', path });
    const res = await rawRequest(server, { method: 'GET', url: path, headers });
    expect(res.status).toBe(200);
    const info = JSON.parse(res.body) as { ready: boolean; version: string; sets: Array<{ driveList: Array<{ path: string; state: string; totalBytes: number }> }>; totals: { drives: number } };
    expect(info.ready).toBe(true);
    expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(info.totals.drives).toBe(4);
    expect(info.sets[0]!.driveList.map((d) => d.path)).toEqual(server.drives);
    expect(info.sets[0]!.driveList[0]!.totalBytes).toBeGreaterThan(0);

    const anonymous = await rawRequest(server, { method: 'GET', url: path });
    expect(anonymous.status).toBe(403);
    const wrong = await rawRequest(server, { method: 'GET', url: path, headers: await signHeaders(server, { method: 'GET', path, secretKey: 'not-the-secret' }) });
    expect(wrong.status).toBe(403);
  });
});

const withPrometheus = existsSync(PROMETHEUS) ? describe : describe.skip;
if (!existsSync(PROMETHEUS)) console.warn(`e2e-ops-metrics: Prometheus tests skipped: ${PROMETHEUS} not found (apt-get install prometheus)`);

withPrometheus(`Debian's prometheus scraping Cairn${existsSync(PROMETHEUS) ? '' : ' (skipped: prometheus not installed)'}`, () => {
  let dir: string;
  let prom: Daemon | undefined;
  let promUrl: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cairn-prom-'));
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    await writeFile(join(dir, 'token'), TOKEN);
    await writeFile(
      join(dir, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        '  evaluation_interval: 1s',
        'scrape_configs:',
        '  - job_name: cairn',
        '    metrics_path: /metrics',
        '    authorization:',
        `      credentials_file: ${join(dir, 'token')}`,
        '    static_configs:',
        `      - targets: ['127.0.0.1:${server.port}']`,
        '',
      ].join('\n'),
    );
    prom = startDaemon(PROMETHEUS, [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ]);
  });
  afterAll(async () => {
    await prom?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const query = async (q: string) => {
    const r = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = (await r.json()) as { status: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
    if (body.status !== 'success') throw new Error(JSON.stringify(body));
    return body.data.result;
  };

  it('scrapes with the bearer token (up == 1) and stores the request series', async () => {
    const up = await eventually('up == 1', async () => {
      const r = await query('up{job="cairn"}');
      return r[0]?.value[1] === '1' ? r : undefined;
    }, 45_000).catch((err: Error) => {
      throw new Error(`${err.message}\nprometheus output:\n${prom!.output()}`);
    });
    expect(up).toHaveLength(1);
    const series = await eventually('cairn_http_requests_total', async () => {
      const r = await query('cairn_http_requests_total');
      return r.length > 0 ? r : undefined;
    });
    const put = series.find((s) => s.metric.api === 'PutObject' && s.metric.status === '200');
    expect(Number(put?.value[1])).toBeGreaterThanOrEqual(2);
    expect(series.find((s) => s.metric.api === 'GetObject' && s.metric.status === '404')).toBeDefined();
    // The alert rules' building blocks arrive too.
    expect((await query('cairn_set_online_drives - cairn_set_write_quorum'))[0]?.value[1]).toMatch(/^\d+$/);
    expect((await query('sum(cairn_drive_used_bytes) / sum(cairn_drive_total_bytes)'))[0]).toBeDefined();
  });
});
