import { describe, expect, it } from 'vitest';
import { createLogger } from '../core/logger.js';
import type { StorageTopology } from '../storage/object-layer.js';
import { buildApp } from './app.js';
import { AuditLog } from './audit/audit-log.js';
import type { AuditRecord } from './audit/record.js';
import { ClientIpResolver } from './client-ip.js';
import { CairnMetrics } from './metrics.js';
import { claimedAccessKey, createOps } from './ops.js';

describe('claimedAccessKey', () => {
  it('reads the access key from SigV4 and V2 headers and presigned URLs, nothing else', () => {
    expect(claimedAccessKey('AWS4-HMAC-SHA256 Credential=AKIA1/20261125/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=ab', '/')).toBe('AKIA1');
    expect(claimedAccessKey('AWS AKIA2:c2lnbmF0dXJl', '/')).toBe('AKIA2');
    expect(claimedAccessKey(undefined, '/b/k?X-Amz-Credential=AKIA3%2F20261125%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=ff')).toBe('AKIA3');
    expect(claimedAccessKey(undefined, '/b/k')).toBeUndefined();
  });
});

describe('ops hook (fastify inject)', () => {
  let states: Array<'online' | 'offline'> = ['online', 'online', 'online', 'online'];
  const topology = (): StorageTopology => ({
    deploymentId: 'd',
    sets: [{ index: 0, drives: states.map((state, i) => ({ path: `/nonexistent/${i}`, state })), dataShards: 2, parityShards: 2, readQuorum: 2, writeQuorum: 3 }],
    storageClasses: {},
  });
  const records: AuditRecord[] = [];
  const objects = { topology } as never;
  const credentials = { lookup: async () => undefined };
  const metrics = new CairnMetrics({ topology });
  const app = buildApp({
    objects,
    credentials,
    region: 'us-east-1',
    domains: [],
    logger: createLogger({ level: 'silent' }),
    hostId: 'h',
    ops: createOps({
      objects,
      metrics,
      metricsToken: 'tok',
      audit: new AuditLog([{ name: 'mem', send: (r) => records.push(r), close: async () => undefined }]),
      clientIp: new ClientIpResolver([]),
      domains: [],
      credentials,
      adminAccessKey: 'root',
      version: '0',
    }),
  });

  it('answers health from the topology, and ready turns 503 below write quorum', async () => {
    const { fastify } = await app;
    expect((await fastify.inject({ url: '/health/live' })).statusCode).toBe(200);
    expect((await fastify.inject({ url: '/health/ready' })).statusCode).toBe(200);
    states = ['online', 'online', 'offline', 'offline'];
    const r = await fastify.inject({ url: '/health/ready' });
    expect(r.statusCode).toBe(503);
    expect(r.json()).toMatchObject({ status: 'unavailable', sets: [{ onlineDrives: 2, readable: true, writable: false }] });
    states = ['online', 'online', 'online', 'online'];
  });

  it('sends signed requests for /metrics to S3, and audits S3 requests but not scrapes', async () => {
    const { fastify } = await app;
    expect((await fastify.inject({ url: '/metrics', headers: { authorization: 'Bearer tok' } })).statusCode).toBe(200);
    const signed = await fastify.inject({
      url: '/metrics',
      headers: { authorization: 'AWS4-HMAC-SHA256 Credential=nobody/20261125/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00' },
    });
    // The S3 path answered (an XML error for an unknown key), not the metrics endpoint.
    expect(signed.headers['content-type']).toMatch(/xml/);
    expect(signed.statusCode).toBe(403);
    expect(records.map((r) => r.api)).toEqual(['ListObjects']);
    expect(records[0]).toMatchObject({ bucket: 'metrics', status: 403, errorCode: 'AccessDenied', accessKey: 'nobody' });
    expect(await metrics.render()).toContain('cairn_http_requests_total{api="ListObjects",status="403"} 1');
  });
});
