import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { lendChunk, releaseChunk, takeChunk } from '../erasure/chunk-pool.js';
import { ReleasingBody } from './response-body.js';

const SIZE = 300 * 1024 + 8; // a size no other test uses

function lentChunks(count: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => {
    const c = takeChunk(SIZE);
    c.fill(i + 1);
    return lendChunk(c);
  });
}

async function* asyncOf(chunks: Buffer[]): AsyncGenerator<Buffer> {
  for (const c of chunks) yield await Promise.resolve(c);
}

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

/** Resolves when the server has finished its last response. */
let finished: Promise<void> = Promise.resolve();

async function serve(body: () => Readable): Promise<string> {
  const app = Fastify();
  app.get('/', (_req, reply) => {
    finished = new Promise((resolve) => reply.raw.once('finish', () => resolve()));
    reply.header('content-type', 'application/octet-stream');
    return reply.send(new ReleasingBody(body()));
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  close = () => app.close();
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/`;
}

/** GET url; the body, or the error the response ended with. */
function get(url: string): Promise<{ status: number; body: Buffer; error?: Error }> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }));
      res.on('error', (error) => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts), error }));
    })
      .on('error', reject)
      .end();
  });
}

describe('ReleasingBody', () => {
  it('sends every byte through fastify and gives each lent chunk back after its socket write', async () => {
    const chunks = lentChunks(12);
    const expected = Buffer.concat(chunks.map((c) => Buffer.from(c)));
    // An async source, like the object layer's: a sync one lets Readable.read() join chunks (copies, never released).
    const url = await serve(() => Readable.from(asyncOf(chunks), { objectMode: false }));
    const res = await get(url);
    expect(res.status).toBe(200);
    expect(res.body.equals(expected)).toBe(true);
    await finished; // the server side's last write callback has run
    // Already released by the response: a second release is refused.
    expect(chunks.map((c) => releaseChunk(c)).every((r) => r === false)).toBe(true);
  });

  it('ends the response with an error when the source fails midway (no silent truncation)', async () => {
    const url = await serve(() =>
      Readable.from(
        (async function* () {
          yield Buffer.alloc(SIZE, 1);
          throw new Error('bitrot everywhere');
        })(),
        { objectMode: false },
      ),
    );
    const res = await get(url).catch((error: Error) => ({ status: 0, body: Buffer.alloc(0), error }));
    // Headers may or may not have gone out; either way the body is not a clean, complete one.
    if (res.status === 200) expect(res.error ?? res.body.length < SIZE + 1).toBeTruthy();
    else expect(res.status).toBeGreaterThanOrEqual(500);
  });

  it('stops reading the source when the client goes away', async () => {
    let source: Readable | undefined;
    const sourceClosed = new Promise<void>((resolve) => {
      void serve(() => {
        source = Readable.from(
          (async function* () {
            for (;;) yield Buffer.alloc(SIZE, 2); // endless: only a destroy ends it
          })(),
          { objectMode: false },
        );
        source.once('close', () => resolve());
        return source;
      }).then((url) => {
        const req = request(url, (res) => res.once('data', () => req.destroy()));
        req.on('error', () => {});
        req.end();
      });
    });
    await sourceClosed;
    expect(source?.destroyed).toBe(true);
  });

  it('is a plain pass-through for other consumers, which release nothing', async () => {
    const chunks = lentChunks(3);
    const body = new ReleasingBody(Readable.from(chunks, { objectMode: false }));
    const through = new PassThrough();
    body.pipe(through);
    const parts: Buffer[] = [];
    for await (const c of through) parts.push(c as Buffer);
    expect(Buffer.concat(parts).equals(Buffer.concat(chunks))).toBe(true);
    // Still lent: the pass-through consumer did not release them.
    expect(chunks.map((c) => releaseChunk(c)).every(Boolean)).toBe(true);
  });
});
