import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { StorageTopology } from '../storage/object-layer.js';
import { CairnMetrics, metricsAuthorized } from './metrics.js';

const dir = mkdtempSync(join(tmpdir(), 'cairn-metrics-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const topology = (): StorageTopology => ({
  deploymentId: 'd',
  sets: [
    {
      index: 0,
      drives: [
        { path: dir, state: 'online' },
        { path: join(dir, 'gone'), state: 'offline' },
        { path: dir + '/.', state: 'healing' },
      ],
      dataShards: 2,
      parityShards: 1,
      readQuorum: 2,
      writeQuorum: 2,
    },
  ],
  storageClasses: {},
});

describe('CairnMetrics', () => {
  it('exports the names the alert rules and dashboard use', async () => {
    let online = true;
    const m = new CairnMetrics({
      topology,
      bucketUsage: () => new Map([['photos', { objects: 3, bytes: 1234 }]]),
      kmsStatus: async () => ({ online }),
    });
    m.requestStarted();
    m.requestFinished({ api: 'PutObject', status: 200, durationSeconds: 0.02, bytesIn: 1500, bytesOut: 300 });
    m.requestStarted();
    m.auditDropped('webhook', 2);
    const text = await m.render();
    expect(text).toContain('cairn_http_requests_total{api="PutObject",status="200"} 1');
    expect(text).toContain('cairn_http_request_duration_seconds_bucket{le="0.025",api="PutObject"} 1');
    expect(text).toContain('cairn_http_bytes_received_total{api="PutObject"} 1500');
    expect(text).toContain('cairn_http_bytes_sent_total{api="PutObject"} 300');
    expect(text).toContain('cairn_http_inflight_requests 1');
    expect(text).toContain(`cairn_drive_online{set="1",drive="${dir}"} 1`);
    expect(text).toContain(`cairn_drive_online{set="1",drive="${join(dir, 'gone')}"} 0`);
    expect(text).toContain(`cairn_drive_healing{set="1",drive="${dir}/."} 1`);
    expect(text).toMatch(new RegExp(`cairn_drive_total_bytes\\{drive="${dir}"\\} [1-9]`));
    expect(text).toMatch(new RegExp(`cairn_drive_used_bytes\\{drive="${dir}"\\} \\d`));
    expect(text).not.toContain(`cairn_drive_total_bytes{drive="${join(dir, 'gone')}"}`);
    expect(text).toContain('cairn_set_online_drives{set="1"} 2');
    expect(text).toContain('cairn_set_write_quorum{set="1"} 2');
    expect(text).toContain('cairn_set_read_quorum{set="1"} 2');
    expect(text).toContain('cairn_heal_objects_total 0');
    expect(text).toContain('cairn_kms_online 1');
    expect(text).toContain('cairn_audit_dropped_total{target="webhook"} 2');
    expect(text).toContain('cairn_bucket_objects{bucket="photos"} 3');
    expect(text).toContain('cairn_bucket_bytes{bucket="photos"} 1234');
    expect(text).toContain('cairn_process_cpu_seconds_total');
    expect(text).toContain('cairn_nodejs_eventloop_lag_seconds');
    online = false; // cached for a few seconds: still 1 right away
    expect(await m.render()).toContain('cairn_kms_online 1');
  });

  it('leaves KMS and bucket series out when there is no source', async () => {
    const text = await new CairnMetrics({ topology }).render();
    expect(text).not.toContain('cairn_kms_online');
    expect(text).not.toContain('cairn_bucket_objects');
  });
});

describe('metricsAuthorized', () => {
  it('is open without a token and needs the exact bearer token with one', () => {
    expect(metricsAuthorized(undefined, undefined)).toBe(true);
    expect(metricsAuthorized('s3cret', 'Bearer s3cret')).toBe(true);
    expect(metricsAuthorized('s3cret', 'bearer  s3cret')).toBe(true);
    expect(metricsAuthorized('s3cret', 'Bearer s3cre')).toBe(false);
    expect(metricsAuthorized('s3cret', 'Basic s3cret')).toBe(false);
    expect(metricsAuthorized('s3cret', undefined)).toBe(false);
  });
});
