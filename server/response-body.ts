/**
 * The body of a GET as fastify sends it, returning the read path's pooled
 * chunks (storage/read-chunks.ts) once the socket is done with them.
 *
 * fastify sends a stream with `payload.pipe(res)`, and pipe() writes without
 * callbacks, so nobody could tell when a chunk's bytes have left the process.
 * This Readable overrides pipe() for an http.ServerResponse destination: it
 * writes each chunk of the source with a callback, releases the chunk there
 * (the bytes are in the kernel, or were copied by TLS), and waits for 'drain'
 * when write() says so — the same backpressure as pipe(). Any other consumer
 * (an onSend hook's transform, a test reading it) gets a plain pass-through and
 * nothing is released: a transform may still hold a chunk after its callback.
 */
import { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { releaseChunk } from '../storage/read-chunks.js';

export class ReleasingBody extends Readable {
  private passThrough?: AsyncIterator<Buffer>;
  private piped = false;

  constructor(private readonly source: Readable) {
    super();
    source.once('error', (err) => this.destroy(err));
  }

  override pipe<T extends NodeJS.WritableStream>(dest: T, opts?: { end?: boolean }): T {
    if (!(dest instanceof ServerResponse) || this.passThrough || this.piped) return super.pipe(dest, opts);
    this.piped = true;
    this.writeTo(dest, opts?.end !== false).catch((err: unknown) => this.destroy(err instanceof Error ? err : new Error(String(err))));
    return dest;
  }

  private async writeTo(res: ServerResponse, end: boolean): Promise<void> {
    for await (const chunk of this.source as AsyncIterable<Buffer>) {
      if (this.destroyed) return;
      const ok = res.write(chunk, (err) => {
        if (!err) releaseChunk(chunk);
      });
      // A destroyed response refuses writes with false and will never drain: stop (fastify destroys us too).
      if (!ok && !res.destroyed) await drained(res);
      if (this.destroyed) return;
      if (res.destroyed) return void this.destroy(); // the client went away
    }
    // Our own end first, so eos() on this stream (fastify) never sees the response finish before it.
    this.push(null);
    this.resume();
    if (end) res.end();
  }

  /** Plain pass-through for consumers other than an HTTP response. */
  override _read(): void {
    if (this.piped) return;
    this.passThrough ??= (this.source as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    this.passThrough.next().then(
      (r) => this.push(r.done ? null : r.value),
      (err: unknown) => this.destroy(err instanceof Error ? err : new Error(String(err))),
    );
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.source.destroyed) this.source.destroy(err ?? undefined);
    cb(err);
  }
}

/** Resolves on 'drain', or on 'close' (the client went away: the caller checks). */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
