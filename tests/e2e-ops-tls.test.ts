import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { promisify } from 'node:util';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../server/audit/record.js';
import { issueServerCert, makeCa, type TestCa } from './helpers/certs.js';
import { eventually, freePort, httpGet } from './helpers/ops.js';
import { startServer, type RunningServer } from './helpers/server.js';

/**
 * Issue 7 item 5: HTTPS from a cert-manager style directory, checked with the
 * AWS SDK (an https agent trusting the test CA) and curl --cacert; TLS 1.2 as
 * the floor; a plain-HTTP port next to it by config; and a renewed
 * certificate served to new connections without a restart.
 */

const run = promisify(execFile);
const CURL = '/usr/bin/curl';

let root: string;
let ca: TestCa;
let tlsDir: string;
let server: RunningServer;
let plainPort: number;
let s3: S3Client;

/** CN of the certificate a new TLS connection is given. */
function servedCn(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, ca: readFileSync(ca.caCert), servername: 'localhost' }, () => {
      const cn = s.getPeerCertificate().subject.CN;
      s.end();
      resolve(String(cn));
    });
    s.on('error', reject);
  });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cairn-e2e-tls-'));
  ca = makeCa(join(root, 'ca'));
  tlsDir = join(root, 'tls');
  issueServerCert(ca, tlsDir, 'cairn-first');
  plainPort = await freePort();
  server = await startServer({
    env: { CAIRN_TLS_DIR: tlsDir, CAIRN_HTTP_ADDRESS: `127.0.0.1:${plainPort}`, CAIRN_AUDIT_FILE: join(root, 'audit.log') },
  });
  s3 = new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey },
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ httpsAgent: new Agent({ ca: readFileSync(ca.caCert), keepAlive: true }) }),
  });
});
afterAll(async () => {
  s3?.destroy();
  await server?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('HTTPS', () => {
  it('announces an https endpoint and serves S3 to the SDK over TLS', async () => {
    expect(server.endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    await s3.send(new CreateBucketCommand({ Bucket: 'secure' }));
    const put = await s3.send(new PutObjectCommand({ Bucket: 'secure', Key: 'k', Body: 'over tls' }));
    const got = await s3.send(new GetObjectCommand({ Bucket: 'secure', Key: 'k' }));
    expect(await got.Body!.transformToString()).toBe('over tls');
    const record = await eventually('audit record', async () => {
      const lines = (await readFile(join(root, 'audit.log'), 'utf8').catch(() => '')).split('\n').filter(Boolean);
      return lines.map((l) => JSON.parse(l) as AuditRecord).find((r) => r.requestId === put.$metadata.requestId);
    });
    expect(record.tls).toBe(true);
  });

  it('works with curl --cacert, and curl refuses it without the CA', async () => {
    const ok = await run(CURL, ['-sS', '--cacert', ca.caCert, `${server.endpoint}/health/live`]);
    expect(JSON.parse(ok.stdout)).toEqual({ status: 'ok' });
    const untrusted = await run(CURL, ['-sS', `${server.endpoint}/health/live`]).catch((e: { code: number; stderr: string }) => e);
    expect((untrusted as { code: number }).code).toBe(60); // peer certificate cannot be authenticated
  });

  it('refuses TLS 1.1 and accepts TLS 1.2', async () => {
    const v12 = await run(CURL, ['-sS', '--cacert', ca.caCert, '--tlsv1.2', '--tls-max', '1.2', '-o', '/dev/null', '-w', '%{http_code}', `${server.endpoint}/health/live`]);
    expect(v12.stdout).toBe('200');
    const v11 = await run(CURL, ['-sS', '--cacert', ca.caCert, '--tlsv1.1', '--tls-max', '1.1', '--ciphers', 'DEFAULT@SECLEVEL=0', `${server.endpoint}/health/live`]).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect((v11 as { code: number }).code).toBe(35); // TLS handshake failed
  });

  it('serves only HTTPS on the main port, and plain HTTP on CAIRN_HTTP_ADDRESS', async () => {
    const plainOnTls = await run(CURL, ['-sS', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${server.port}/health/live`]).catch((e: { stdout: string }) => e);
    expect((plainOnTls as { stdout: string }).stdout).not.toBe('200');
    const plain = await httpGet(`http://127.0.0.1:${plainPort}/health/ready`);
    expect(plain.status).toBe(200);
    const viaPlain = new S3Client({
      endpoint: `http://127.0.0.1:${plainPort}`,
      region: server.region,
      forcePathStyle: true,
      credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey },
      maxAttempts: 1,
    });
    const got = await viaPlain.send(new GetObjectCommand({ Bucket: 'secure', Key: 'k' }));
    expect(await got.Body!.transformToString()).toBe('over tls');
    viaPlain.destroy();
  });

  it('serves a renewed certificate to new connections without a restart', async () => {
    expect(await servedCn(server.port)).toBe('cairn-first');
    const pid = server.proc.pid;
    issueServerCert(ca, tlsDir, 'cairn-renewed');
    // Every worker process reloads on its own: wait until several new connections in a row get the new one.
    await eventually('renewed certificate', async () => {
      for (let i = 0; i < 6; i++) if ((await servedCn(server.port)) !== 'cairn-renewed') return undefined;
      return true;
    });
    expect(server.proc.pid).toBe(pid);
    expect(server.proc.exitCode).toBeNull();
    // The SDK (keep-alive agent, maybe an old connection) and curl still succeed.
    const got = await s3.send(new GetObjectCommand({ Bucket: 'secure', Key: 'k' }));
    expect(await got.Body!.transformToString()).toBe('over tls');
    const ok = await run(CURL, ['-sS', '--cacert', ca.caCert, '-o', '/dev/null', '-w', '%{http_code}', `${server.endpoint}/health/live`]);
    expect(ok.stdout).toBe('200');
  });
});

describe('startup with a broken TLS directory', () => {
  it('refuses to start and says why', async () => {
    const err = await startServer({ env: { CAIRN_TLS_DIR: join(root, 'nowhere') } }).then(
      async (s) => {
        await s.stop();
        return undefined;
      },
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/need tls\.crt and tls\.key/);
  });
});
