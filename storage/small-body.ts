import type { Readable } from 'node:stream';
import { ObjectLayerError } from './errors.js';

/**
 * Reads a body whose declared size is small (≤ the inline threshold) into one
 * Buffer with plain 'data'/'end' listeners. pipeline() costs more than a 4 KiB
 * PUT's whole storage work (an AbortController and a DOMException per call),
 * and memory stays bounded: `onChunk` (the BodyHasher) throws as soon as the
 * body runs past its declared size. Removes its listeners when done, so the
 * caller can resume() a body left unread.
 */
export function readSmallBody(body: Readable, onChunk: (chunk: Buffer) => void, signal?: AbortSignal): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    const done = (err: unknown, value?: Buffer) => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      body.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(value!);
    };
    const onData = (c: Buffer | string) => {
      const chunk = typeof c === 'string' ? Buffer.from(c) : c;
      try {
        onChunk(chunk);
      } catch (err) {
        body.pause();
        return done(err);
      }
      chunks.push(chunk);
      bytes += chunk.length;
    };
    const onEnd = () => done(undefined, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, bytes));
    const onError = (err: unknown) => done(err);
    // A body destroyed without an error (client went away) never ends.
    const onClose = () => setImmediate(() => done(new ObjectLayerError('IncompleteBody', 'the request body was closed early')));
    const onAbort = () => done(new ObjectLayerError('Aborted', 'the request was aborted', { cause: signal?.reason }));
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    body.on('data', onData);
    body.on('end', onEnd);
    body.on('error', onError);
    body.on('close', onClose);
  });
}
