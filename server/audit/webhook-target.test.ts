import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import { bulkFailures, formatBatch } from './format.js';
import type { AuditRecord } from './record.js';
import { startReceiver, type Receiver } from '../../tests/helpers/audit-receiver.js';
import { WebhookAuditTarget } from './webhook-target.js';

const logger = createLogger({ level: 'silent' });
const rec = (i: number): AuditRecord => ({
  version: 1,
  time: new Date(0).toISOString(),
  requestId: `REQ${i}`,
  api: 'PutObject',
  method: 'PUT',
  bucket: 'b',
  object: `k${i}`,
  status: 200,
  bytesIn: 10,
  bytesOut: 5,
  durationMs: 1,
  sourceIp: '127.0.0.1',
  tls: false,
});

let receiver: Receiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

describe('WebhookAuditTarget', () => {
  it('delivers every record as NDJSON with the bearer token', async () => {
    receiver = await startReceiver();
    let drops = 0;
    const t = new WebhookAuditTarget({ endpoint: receiver.url, authToken: 'tok', format: 'json', queueSize: 100, logger, onDrop: (n) => (drops += n) });
    for (let i = 0; i < 30; i++) t.send(rec(i));
    const lines = await receiver.waitForLines(30);
    expect(lines.map((l) => (JSON.parse(l) as AuditRecord).requestId)).toEqual(Array.from({ length: 30 }, (_, i) => `REQ${i}`));
    expect(receiver.authorizations[0]).toBe('Bearer tok');
    await t.close(1000);
    expect(drops).toBe(0);
  });

  it('retries while the receiver fails and delivers everything once it recovers', async () => {
    receiver = await startReceiver();
    receiver.respond = (attempt, _body, res) => {
      if (attempt > 3) return false;
      res.writeHead(503).end();
      return true;
    };
    let drops = 0;
    const t = new WebhookAuditTarget({
      endpoint: receiver.url, format: 'json', queueSize: 100, logger, onDrop: (n) => (drops += n), retryMinMs: 20, retryMaxMs: 100,
    });
    for (let i = 0; i < 10; i++) t.send(rec(i));
    const lines = await receiver.waitForLines(10);
    expect(new Set(lines.map((l) => (JSON.parse(l) as AuditRecord).requestId)).size).toBe(10);
    expect(receiver.attempts).toBeGreaterThan(3);
    expect(drops).toBe(0);
    await t.close(1000);
  });

  it('never blocks on a target that does not answer: queues up to the bound, counts the rest, gives up at close', async () => {
    receiver = await startReceiver();
    receiver.respond = () => true; // swallow the request, never answer
    let drops = 0;
    const t = new WebhookAuditTarget({ endpoint: receiver.url, format: 'json', queueSize: 5, logger, onDrop: (n) => (drops += n), timeoutMs: 60_000 });
    // send() is synchronous and only queues: all 20 calls return while the first POST hangs.
    for (let i = 0; i < 20; i++) t.send(rec(i));
    expect(drops).toBe(15);
    expect(t.queued).toBe(5);
    await t.close(200);
    expect(drops).toBe(20);
  });

  it('drops records for a dead endpoint without throwing', async () => {
    let drops = 0;
    const t = new WebhookAuditTarget({ endpoint: 'http://127.0.0.1:1/', format: 'json', queueSize: 2, logger, onDrop: (n) => (drops += n), retryMinMs: 10 });
    for (let i = 0; i < 4; i++) t.send(rec(i));
    expect(drops).toBe(2);
    await t.close(300);
    expect(drops).toBe(4);
  });

  it('posts the Elasticsearch _bulk format and counts items Elasticsearch rejected', async () => {
    receiver = await startReceiver();
    // One item per record: REQ1 was already indexed by an earlier attempt (409), REQ2 is rejected.
    receiver.respond = (_a, body, res) => {
      const ids = body.trim().split('\n').filter((_, i) => i % 2 === 0).map((l) => (JSON.parse(l) as { create: { _id: string } }).create._id);
      const items = ids.map((id) => ({ create: id === 'REQ1' ? { status: 409 } : id === 'REQ2' ? { status: 400, error: { type: 'mapper_parsing_exception' } } : { status: 201 } }));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: true, items }));
    };
    let drops = 0;
    const t = new WebhookAuditTarget({ endpoint: receiver.url, authToken: 'ApiKey abc', format: 'elasticsearch-bulk', queueSize: 10, logger, onDrop: (n) => (drops += n) });
    for (let i = 0; i < 3; i++) t.send(rec(i));
    await t.close(5000);
    const lines = receiver.bodies.join('').trim().split('\n');
    expect(lines).toHaveLength(6);
    expect(JSON.parse(lines[0]!)).toEqual({ create: { _id: 'REQ0' } });
    expect(JSON.parse(lines[1]!)).toMatchObject({ '@timestamp': '1970-01-01T00:00:00.000Z', requestId: 'REQ0', api: 'PutObject' });
    expect(receiver.authorizations[0]).toBe('ApiKey abc');
    expect(drops).toBe(1);
  });
});

describe('format helpers', () => {
  it('formats NDJSON and reads _bulk results', () => {
    expect(formatBatch('json', [rec(1), rec(2)]).body.split('\n')).toHaveLength(3);
    expect(bulkFailures({ errors: false, items: [] })).toEqual({ failed: 0 });
    expect(bulkFailures({ errors: true, items: [{ index: { status: 429, error: 'x' } }] })).toEqual({ failed: 1, firstError: '"x"' });
  });
});
