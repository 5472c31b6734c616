import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../server/audit/record.js';
import { startReceiver, type Receiver } from './helpers/audit-receiver.js';
import { eventually, httpGet } from './helpers/ops.js';
import { rawRequest, signHeaders } from './helpers/raw-s3.js';
import { failure, sdkClient } from './helpers/sdk.js';
import { startServer, type RunningServer } from './helpers/server.js';

/**
 * Issue 7 items 2 and 3: one audit record per S3 call to a file and to a real
 * HTTP receiver (which fails at first and recovers), a dead receiver that
 * neither slows nor fails requests and whose drops are counted, and request
 * logs that carry the operation but never a secret or a signature.
 */

let dir: string;
let receiver: Receiver;
let server: RunningServer;
let s3: S3Client;
const auditFile = () => join(dir, 'audit.log');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cairn-audit-'));
  receiver = await startReceiver();
  // The receiver is down for its first 3 POSTs (503), then accepts.
  receiver.respond = (attempt, _body, res) => {
    if (attempt > 3) return false;
    res.writeHead(503).end('try later');
    return true;
  };
  server = await startServer({
    env: {
      CAIRN_LOG_LEVEL: 'debug',
      CAIRN_AUDIT_FILE: auditFile(),
      CAIRN_AUDIT_WEBHOOK_ENDPOINT: receiver.url,
      CAIRN_AUDIT_WEBHOOK_AUTH_TOKEN: 'audit-token',
    },
  });
  s3 = sdkClient(server);
});
afterAll(async () => {
  s3?.destroy();
  await server?.stop();
  await receiver?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function fileRecords(): Promise<AuditRecord[]> {
  const text = await readFile(auditFile(), 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditRecord);
}

describe('audit log and request logs', () => {
  const ids: Record<string, string> = {};
  let presignedSignature = '';
  let headerSignature = '';

  beforeAll(async () => {
    ids.create = (await s3.send(new CreateBucketCommand({ Bucket: 'audited' }))).$metadata.requestId!;
    ids.put = (await s3.send(new PutObjectCommand({ Bucket: 'audited', Key: 'dir/report.csv', Body: Buffer.alloc(4096, 7) }))).$metadata.requestId!;
    const miss = await failure(s3.send(new GetObjectCommand({ Bucket: 'audited', Key: 'nope' })));
    ids.miss = miss.raw.$metadata.requestId!;
    // A presigned GET: the signature travels in the query string.
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'audited', Key: 'dir/report.csv' }), { expiresIn: 300 });
    presignedSignature = new URL(url).searchParams.get('X-Amz-Signature')!;
    const got = await fetch(url, { headers: { 'user-agent': 'presigned-fetch/1.0' } });
    expect(got.status).toBe(200);
    expect((await got.arrayBuffer()).byteLength).toBe(4096);
    ids.presigned = got.headers.get('x-amz-request-id')!;
    // A header-signed request with the wrong secret.
    const headers = await signHeaders(server, { method: 'GET', path: '/audited/dir/report.csv', secretKey: 'wrong-secret-key-123' });
    headerSignature = /Signature=([0-9a-f]+)/.exec(headers.authorization ?? headers.Authorization ?? '')![1]!;
    const denied = await rawRequest(server, { method: 'GET', url: '/audited/dir/report.csv', headers });
    expect(denied.status).toBe(403);
    ids.denied = String(denied.headers['x-amz-request-id']);
  });

  it('writes one record per call to the file, with the fields operations need', async () => {
    const records = await eventually('5 file records', async () => {
      const r = await fileRecords();
      return r.length >= 5 ? r : undefined;
    });
    const byId = new Map(records.map((r) => [r.requestId, r]));
    const put = byId.get(ids.put!)!;
    expect(put).toMatchObject({
      version: 1,
      api: 'PutObject',
      method: 'PUT',
      bucket: 'audited',
      object: 'dir/report.csv',
      status: 200,
      accessKey: server.accessKey,
      sourceIp: '127.0.0.1',
      tls: false,
    });
    expect(put.errorCode).toBeUndefined();
    expect(put.bytesIn).toBeGreaterThan(4096);
    expect(put.bytesOut).toBeGreaterThan(0);
    expect(put.durationMs).toBeGreaterThanOrEqual(0);
    expect(put.userAgent).toMatch(/aws-sdk-js/);
    expect(Date.parse(put.time)).not.toBeNaN();
    expect(byId.get(ids.create!)).toMatchObject({ api: 'CreateBucket', bucket: 'audited', status: 200 });
    expect(byId.get(ids.miss!)).toMatchObject({ api: 'GetObject', object: 'nope', status: 404, errorCode: 'NoSuchKey' });
    const pre = byId.get(ids.presigned!)!;
    expect(pre).toMatchObject({ api: 'GetObject', status: 200, accessKey: server.accessKey, userAgent: 'presigned-fetch/1.0' });
    expect(pre.bytesOut).toBeGreaterThan(4096);
    expect(byId.get(ids.denied!)).toMatchObject({ api: 'GetObject', status: 403, errorCode: 'SignatureDoesNotMatch', accessKey: server.accessKey });
  });

  it('delivers the same records to the webhook after it recovers from failing, with its token', async () => {
    const lines = await eventually('webhook records', async () => {
      const l = await receiver.waitForLines(5, 1000).catch(() => undefined);
      return l;
    });
    const ids2 = new Set(lines.map((l) => (JSON.parse(l) as AuditRecord).requestId));
    for (const id of Object.values(ids)) expect(ids2).toContain(id);
    expect(receiver.attempts).toBeGreaterThan(3);
    expect(receiver.authorizations.every((a) => a === 'Bearer audit-token')).toBe(true);
    // Recovered without losing anything.
    const m = await httpGet(`${server.endpoint}/metrics`);
    expect(m.body).not.toMatch(/cairn_audit_dropped_total\{target="webhook"\} [1-9]/);
  });

  it('logs each request with id, API, bucket, key, status and duration, and never a secret or signature', async () => {
    const out = server.output();
    const lines = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const put = lines.find((l) => l.msg === 'request' && l.reqId === ids.put);
    expect(put).toMatchObject({ api: 'PutObject', bucket: 'audited', key: 'dir/report.csv', status: 200 });
    expect(typeof put!.ms).toBe('number');
    expect(lines.find((l) => l.msg === 'request' && l.reqId === ids.miss)).toMatchObject({ status: 404, key: 'nope' });
    expect(presignedSignature).toMatch(/^[0-9a-f]{64}$/);
    expect(headerSignature).toMatch(/^[0-9a-f]{64}$/);
    expect(out).not.toContain(server.secretKey);
    expect(out).not.toContain('wrong-secret-key-123');
    expect(out).not.toContain(presignedSignature);
    expect(out).not.toContain(headerSignature);
    const audit = await readFile(auditFile(), 'utf8');
    expect(audit).not.toContain(server.secretKey);
    expect(audit).not.toContain(presignedSignature);
    expect(audit).not.toContain(headerSignature);
  });
});

describe('a dead audit target', () => {
  it('neither blocks nor fails requests; what does not fit its queue is dropped and counted', async () => {
    const dead = await startReceiver();
    dead.respond = () => true; // accepts the connection, never answers
    const srv = await startServer({ env: { CAIRN_AUDIT_WEBHOOK_ENDPOINT: dead.url, CAIRN_AUDIT_WEBHOOK_QUEUE_SIZE: '3' } });
    const client = sdkClient(srv);
    try {
      await client.send(new CreateBucketCommand({ Bucket: 'bkt' }));
      for (let i = 0; i < 20; i++) await client.send(new PutObjectCommand({ Bucket: 'bkt', Key: `k${i}`, Body: 'x' }));
      const m = await httpGet(`${srv.endpoint}/metrics`);
      expect(m.body).toMatch(/cairn_http_requests_total\{api="PutObject",status="200"\} 20/);
      const dropped = Number(/cairn_audit_dropped_total\{target="webhook"\} (\d+)/.exec(m.body)?.[1]);
      // 21 records, at most 3 queued: at least 18 dropped.
      expect(dropped).toBeGreaterThanOrEqual(18);
      expect(dead.attempts).toBeLessThanOrEqual(1);
    } finally {
      client.destroy();
      await srv.stop();
      await dead.close();
    }
  });
});
