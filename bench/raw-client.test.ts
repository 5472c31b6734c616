/**
 * The raw bench client (raw-client.ts) against the no-op server, a scripted
 * net.Server for framing edge cases (chunked, split headers, close framing,
 * a connection cut mid-body), and a real Cairn process.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../tests/helpers/server.js';
import { S3RequestError, type ClientOptions } from './client.js';
import { HttpStore } from './http-store.js';
import { startNoopServer } from './noop-server.js';
import { ConnectionClosedError, RawS3Client } from './raw-client.js';

const CREDS = { accessKey: 'k', secretKey: 's', region: 'us-east-1' };
const opts = (endpoint: string, credentials = CREDS): ClientOptions => ({ endpoint, credentials, maxSockets: 64, client: 'raw' });

/** A server that answers each request (after its headers) with the raw bytes `script` returns, written in the pieces given. */
async function scripted(script: (n: number, onThisConnection: number) => { pieces: (string | Buffer)[]; close?: boolean }): Promise<{ endpoint: string; server: net.Server; connections: () => number }> {
  let connections = 0;
  let requests = 0;
  const server = net.createServer((s) => {
    connections++;
    let seen = '';
    let here = 0;
    s.on('data', (d) => {
      seen += d.toString('latin1');
      while (seen.includes('\r\n\r\n')) {
        const i = seen.indexOf('\r\n\r\n');
        const cl = /content-length: (\d+)/i.exec(seen.slice(0, i));
        const end = i + 4 + Number(cl?.[1] ?? 0);
        if (seen.length < end) return;
        seen = seen.slice(end);
        const { pieces, close } = script(requests++, here++);
        // Each piece its own write, a tick apart, so the client sees them as separate reads.
        let k = 0;
        const next = () => {
          if (k < pieces.length) {
            s.write(pieces[k++]!);
            setTimeout(next, 5);
          } else if (close) s.destroy();
        };
        next();
      }
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, connections: () => connections };
}

describe('raw client against the no-op server', () => {
  let noop: Awaited<ReturnType<typeof startNoopServer>>;
  let client: RawS3Client;
  const pattern = randomBytes(1 << 20);
  beforeAll(async () => {
    noop = await startNoopServer();
    client = new RawS3Client(opts(noop.endpoint));
  });
  afterAll(async () => {
    client.close();
    await new Promise((r) => noop.server.close(r));
  });

  it('PUTs and GETs bodies larger than the read buffer, counting every byte, over one kept-alive connection', async () => {
    const size = 5 * (1 << 20) + 123;
    const put = await client.ok({ method: 'PUT', bucket: 'b', key: 'big', body: { size, pattern } });
    expect(put.status).toBe(200);
    expect(put.sent).toBe(size);
    expect(put.headers.etag).toBe('"d41d8cd98f00b204e9800998ecf8427e"');
    const get = await client.ok({ method: 'GET', bucket: 'b', key: 'big' });
    expect(get.bytes).toBe(size);
    expect(get.ttfbMs).toBeGreaterThan(0);
    expect(get.latencyMs).toBeGreaterThanOrEqual(get.ttfbMs);
    const head = await client.ok({ method: 'HEAD', bucket: 'b', key: 'big' });
    expect(head.bytes).toBe(0);
    expect(head.headers['content-length']).toBe(String(size));
    expect(client.openConnections).toBe(1);
  });

  it('lists (XML collected as text), deletes with 204, and reports a 404 with its S3 code from a chunked body', async () => {
    await Promise.all(['l/a', 'l/b', 'l/c'].map((key) => client.ok({ method: 'PUT', bucket: 'b', key, body: Buffer.from('x') })));
    const list = await client.ok({ method: 'GET', bucket: 'b', query: { 'list-type': '2', prefix: 'l/' }, text: true });
    expect(list.text).toMatch(/<Key>l\/a<\/Key>.*<Key>l\/b<\/Key>.*<Key>l\/c<\/Key>/);
    expect(list.bytes).toBe(Buffer.byteLength(list.text!));
    const del = await client.ok({ method: 'DELETE', bucket: 'b', key: 'l/a' });
    expect(del.status).toBe(204);
    const missing = await client.request({ method: 'GET', bucket: 'b', key: 'l/a' });
    expect(missing.status).toBe(404);
    expect(missing.headers['transfer-encoding']).toBe('chunked');
    expect(missing.text).toBe('<Error><Code>NoSuchKey</Code></Error>');
    const err = await client.ok({ method: 'GET', bucket: 'b', key: 'l/a' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(S3RequestError);
    expect((err as S3RequestError).code).toBe('NoSuchKey');
    expect((err as S3RequestError).status).toBe(404);
  });

  it('runs concurrent requests on as many connections as are in flight, then reuses them', async () => {
    const c = new RawS3Client(opts(noop.endpoint));
    try {
      const round = () => Promise.all(Array.from({ length: 8 }, (_, i) => c.ok({ method: 'PUT', bucket: 'b', key: `c${i}`, body: { size: 4096, pattern } })));
      await round();
      expect(c.openConnections).toBe(8);
      for (let i = 0; i < 5; i++) await round();
      expect(c.openConnections).toBe(8);
    } finally {
      c.close();
    }
  });
});

describe('raw client framing', () => {
  const servers: net.Server[] = [];
  afterAll(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));
  const start = async (script: Parameters<typeof scripted>[0]) => {
    const s = await scripted(script);
    servers.push(s.server);
    return s;
  };

  it('reads chunked bodies whose headers, sizes and data are split across reads, with trailers', async () => {
    const s = await start(() => ({
      pieces: ['HTTP/1.1 200 OK\r\nContent-Ty', 'pe: application/xml\r\nTransfer-Encoding: chunked\r', '\n\r\n5\r', '\nhello\r\n6;ext=1\r\n wor', 'ld\r\n0\r\nx-trailer: 1\r\n', '\r\n'],
    }));
    const c = new RawS3Client(opts(s.endpoint));
    try {
      const r1 = await c.ok({ method: 'GET', bucket: 'b', text: true });
      expect(r1.text).toBe('hello world');
      expect(r1.headers['content-type']).toBe('application/xml');
      const r2 = await c.ok({ method: 'GET', bucket: 'b', text: true });
      expect(r2.text).toBe('hello world');
      expect(s.connections()).toBe(1); // kept alive across the chunked response
    } finally {
      c.close();
    }
  });

  it('reads a body framed by the connection closing, and opens a new connection after Connection: close', async () => {
    const s = await start((n) =>
      n === 0
        ? { pieces: ['HTTP/1.1 200 OK\r\n\r\n', 'until ', 'close'], close: true }
        : { pieces: ['HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok'], close: true },
    );
    const c = new RawS3Client(opts(s.endpoint));
    try {
      expect((await c.ok({ method: 'GET', bucket: 'b', text: true })).text).toBe('until close');
      expect((await c.ok({ method: 'GET', bucket: 'b', text: true })).text).toBe('ok');
      expect(s.connections()).toBe(2);
    } finally {
      c.close();
    }
  });

  it('sends again on a fresh connection when a kept-alive one was closed by the server while idle', async () => {
    // Keep-alive answers (the HTTP/1.1 default), but a second request on a connection meets a server that
    // timed it out just then: closed without a byte of answer.
    const s = await start((_, here) => (here === 0 ? { pieces: ['HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'] } : { pieces: [], close: true }));
    const c = new RawS3Client(opts(s.endpoint));
    try {
      for (let i = 0; i < 3; i++) expect((await c.ok({ method: 'GET', bucket: 'b', text: true })).text).toBe('ok');
      expect(s.connections()).toBe(3);
    } finally {
      c.close();
    }
  });

  it('rejects (does not hang) when the connection is cut mid-body', async () => {
    const s = await start(() => ({ pieces: ['HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n', Buffer.alloc(300)], close: true }));
    const c = new RawS3Client(opts(s.endpoint));
    try {
      const err = await c.request({ method: 'GET', bucket: 'b', key: 'k' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConnectionClosedError);
      expect((err as Error).message).toMatch(/after 300 body bytes/);
    } finally {
      c.close();
    }
  });

  it('rejects a garbled status line as a protocol error', async () => {
    const s = await start(() => ({ pieces: ['SMTP ready\r\n\r\n'] }));
    const c = new RawS3Client(opts(s.endpoint));
    try {
      await expect(c.request({ method: 'GET', bucket: 'b' })).rejects.toMatchObject({ code: 'BenchHttpProtocol' });
    } finally {
      c.close();
    }
  });

  it('flags a verified body that differs from the pattern', async () => {
    const pattern = Buffer.from('abcdefgh');
    const s = await start(() => ({ pieces: ['HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\nabcdefgh', 'abcdXfgh'] }));
    const c = new RawS3Client(opts(s.endpoint));
    try {
      const r = await c.request({ method: 'GET', bucket: 'b', key: 'k', verify: { pattern, bytes: 16 } });
      expect(r.corrupt).toBe(true);
      await expect(c.ok({ method: 'GET', bucket: 'b', key: 'k', verify: { pattern, bytes: 16 } })).rejects.toMatchObject({ code: 'BenchCorruptBody' });
      const clean = await c.request({ method: 'GET', bucket: 'b', key: 'k', verify: { pattern, bytes: 12 } });
      expect(clean.corrupt).toBeUndefined();
      expect(clean.bytes).toBe(16);
    } finally {
      c.close();
    }
  });
});

describe('raw client against a real Cairn', () => {
  let server: RunningServer;
  let store: HttpStore;
  const pattern = randomBytes(1 << 20);
  beforeAll(async () => {
    server = await startServer();
    store = new HttpStore('cairn', opts(server.endpoint, { accessKey: server.accessKey, secretKey: server.secretKey, region: server.region }));
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    await server?.stop();
  });

  it('PUT, verified GET, HEAD, LIST pages, DELETE and the error codes, signed with SigV4', async () => {
    expect(store.client).toBeInstanceOf(RawS3Client);
    await store.createBucket('rawbench');
    const size = 3 * (1 << 20) + 17;
    const put = await store.put('rawbench', 'obj', { size, pattern });
    expect(put.bytes).toBe(size);
    const got = await store.get('rawbench', 'obj', { pattern, bytes: size });
    expect(got.bytes).toBe(size);
    await store.put('rawbench', 'other', { size: 16, pattern: Buffer.from('0123456789abcdef') });
    // The same key read back against the wrong pattern is caught as corruption.
    await expect(store.get('rawbench', 'other', { pattern, bytes: 16 })).rejects.toMatchObject({ code: 'BenchCorruptBody' });
    expect((await store.head('rawbench', 'obj')).bytes).toBe(0);
    for (let i = 0; i < 5; i++) await store.put('rawbench', `list/${i}`, { size: 0, pattern });
    const p1 = await store.list('rawbench', 'list/', undefined, 3);
    expect(p1.keys).toBe(3);
    expect(p1.next).toBeDefined();
    const p2 = await store.list('rawbench', 'list/', p1.next, 3);
    expect(p2.keys).toBe(2);
    expect(p2.next).toBeUndefined();
    await store.delete('rawbench', 'obj');
    await expect(store.get('rawbench', 'obj')).rejects.toMatchObject({ status: 404, code: 'NoSuchKey' });
    await expect(store.get('no-such-bucket-here', 'x')).rejects.toMatchObject({ status: 404, code: 'NoSuchBucket' });
  });

  it('reports a bad signature as 403 SignatureDoesNotMatch and keeps working on the same client afterwards', async () => {
    const bad = new RawS3Client(opts(server.endpoint, { accessKey: server.accessKey, secretKey: 'wrong', region: server.region }));
    try {
      // A body the server refuses before reading it: the answer still arrives and is framed.
      const err = await bad.ok({ method: 'PUT', bucket: 'rawbench', key: 'denied', body: { size: 4 << 20, pattern } }).catch((e: unknown) => e);
      expect(err).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
      await expect(bad.ok({ method: 'GET', bucket: 'rawbench', key: 'other' })).rejects.toMatchObject({ status: 403 });
    } finally {
      bad.close();
    }
  });

  it('multipart upload through the raw client', async () => {
    const size = 11 * (1 << 20);
    const r = await store.multipart('rawbench', 'mp', { size, pattern }, 5 << 20, 2);
    expect(r.bytes).toBe(size);
    const got = await store.get('rawbench', 'mp', { pattern, bytes: size });
    expect(got.bytes).toBe(size);
  });
});
