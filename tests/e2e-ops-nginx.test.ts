import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../server/audit/record.js';
import { eventually, freePort, startDaemon, type Daemon } from './helpers/ops.js';
import { rawRequest, signHeaders } from './helpers/raw-s3.js';
import { generatedStream, streamDigest } from './helpers/sdk.js';
import { startServer, type RunningServer } from './helpers/server.js';

/**
 * Issue 7 item 6: Debian's real nginx in front of Cairn, configured with the
 * block documented in docs/reverse-proxy.md: a 100 MiB object up and down
 * through it with the SDK, virtual-host style through it, and the audit
 * record naming the client (X-Real-IP / X-Forwarded-For) because the proxy
 * is trusted, while a direct client cannot spoof those headers.
 */

const NGINX = process.env.NGINX ?? '/usr/sbin/nginx';
const DOC = resolve(import.meta.dirname, '../docs/reverse-proxy.md');
const SIZE = 100 * 1024 * 1024;
const DOMAIN = 's3.test.internal';
// The client connects from another loopback address than nginx uses towards Cairn (127.0.0.1).
const CLIENT_IP = '127.0.0.2';

const has = existsSync(NGINX);
if (!has) console.warn(`e2e-ops-nginx: skipped: ${NGINX} not found (apt-get install nginx)`);

/** The ```nginx block of the documentation, pointed at this test's ports. */
function documentedConfig(upstream: string, listenPort: number): string {
  const doc = readFileSync(DOC, 'utf8');
  const block = /```nginx\n([\s\S]*?)```/.exec(doc)?.[1];
  if (!block) throw new Error(`no nginx block in ${DOC}`);
  expect(block).toContain('server 127.0.0.1:9000;');
  expect(block).toContain('listen 80;');
  return block.replace('server 127.0.0.1:9000;', `server ${upstream};`).replace('listen 80;', `listen 127.0.0.1:${listenPort};`);
}

describe.skipIf(!has)(`nginx in front of Cairn${has ? '' : ' (skipped: nginx not installed)'}`, () => {
  let root: string;
  let server: RunningServer;
  let nginx: Daemon;
  let port: number;
  let s3: S3Client;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'cairn-nginx-'));
    server = await startServer({
      env: { CAIRN_TRUSTED_PROXIES: '127.0.0.1/32', CAIRN_AUDIT_FILE: join(root, 'audit.log'), CAIRN_DOMAIN: DOMAIN },
    });
    port = await freePort();
    const prefix = join(root, 'nginx');
    await mkdir(join(prefix, 'logs'), { recursive: true });
    const temp = (name: string) => `${name} ${join(prefix, name.replace(/_path$/, ''))};`;
    const conf = [
      // Root's nginx would hand requests to workers running as nobody, who cannot use our temp dirs.
      ...(process.getuid?.() === 0 ? ['user root root;'] : []),
      'daemon off;',
      'worker_processes 1;',
      `pid ${join(prefix, 'nginx.pid')};`,
      `error_log ${join(prefix, 'logs/error.log')} warn;`,
      'events { worker_connections 256; }',
      'http {',
      `  access_log ${join(prefix, 'logs/access.log')};`,
      `  ${temp('client_body_temp_path')}`,
      `  ${temp('proxy_temp_path')}`,
      `  ${temp('fastcgi_temp_path')}`,
      `  ${temp('uwsgi_temp_path')}`,
      `  ${temp('scgi_temp_path')}`,
      documentedConfig(`127.0.0.1:${server.port}`, port),
      '}',
      '',
    ].join('\n');
    await writeFile(join(prefix, 'nginx.conf'), conf);
    nginx = startDaemon(NGINX, ['-p', prefix, '-c', join(prefix, 'nginx.conf')]);
    await eventually('nginx listening', async () => {
      const r = await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => undefined);
      return r?.status === 200 ? true : undefined;
    }, 15_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${nginx.output()}`);
    });
    s3 = new S3Client({
      endpoint: `http://127.0.0.1:${port}`,
      region: server.region,
      forcePathStyle: true,
      credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey },
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, localAddress: CLIENT_IP }) }),
    });
  });
  afterAll(async () => {
    s3?.destroy();
    await nginx?.stop();
    await server?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  const audit = async () =>
    (await readFile(join(root, 'audit.log'), 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as AuditRecord);

  it('uploads a 100 MiB object through nginx with the SDK and reads it back intact', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'proxied' }));
    const src = generatedStream(SIZE, 'nginx-100MiB');
    const put = await s3.send(new PutObjectCommand({ Bucket: 'proxied', Key: 'big.bin', Body: src.stream, ContentLength: SIZE }));
    const got = await s3.send(new GetObjectCommand({ Bucket: 'proxied', Key: 'big.bin' }));
    expect(got.ContentLength).toBe(SIZE);
    const back = await streamDigest(got.Body as AsyncIterable<Uint8Array>);
    expect(back.size).toBe(SIZE);
    expect(back.sha256).toBe(src.digest());

    // nginx forwarded X-Real-IP / X-Forwarded-For, and Cairn trusts 127.0.0.1.
    const record = await eventually('audit record of the PUT', async () => (await audit()).find((r) => r.requestId === put.$metadata.requestId));
    expect(record).toMatchObject({ api: 'PutObject', bucket: 'proxied', object: 'big.bin', status: 200, sourceIp: CLIENT_IP, tls: false });
    expect(record.bytesIn).toBeGreaterThan(SIZE);
    // Streamed, not spooled: nginx warns in its error log whenever it buffers a body to a file.
    const errors = await readFile(join(root, 'nginx/logs/error.log'), 'utf8').catch(() => '');
    expect(errors).not.toMatch(/buffered to a temporary file/);
  });

  it('serves virtual-host style requests through nginx (Host passed unchanged)', async () => {
    const host = `proxied.${DOMAIN}:${port}`;
    const headers = await signHeaders(server, { method: 'GET', path: '/big.bin', host, headers: { range: 'bytes=0-9' } });
    const res = await rawRequest({ ...server, port }, { method: 'GET', url: '/big.bin', headers: { ...headers, host } });
    expect(res.status).toBe(206);
    expect(res.headers['content-range']).toBe(`bytes 0-9/${SIZE}`);
  });

  it('ignores forwarding headers from a peer that is not a trusted proxy', async () => {
    const headers = await signHeaders(server, { method: 'HEAD', path: '/proxied/big.bin' });
    // Straight to Cairn from 127.0.0.1 would be trusted; from 127.0.0.2 it is not.
    const res = await new Promise<{ status: number; id: string }>((resolveRes, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port: server.port, method: 'HEAD', path: '/proxied/big.bin', localAddress: CLIENT_IP, headers: { ...headers, 'x-real-ip': '203.0.113.66', 'x-forwarded-for': '203.0.113.66' } },
        (r) => {
          r.resume();
          r.on('end', () => resolveRes({ status: r.statusCode ?? 0, id: String(r.headers['x-amz-request-id']) }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(res.status).toBe(200);
    const record = await eventually('audit record of the HEAD', async () => (await audit()).find((r) => r.requestId === res.id));
    expect(record.sourceIp).toBe(CLIENT_IP);
  });
});
