/**
 * Reusable output chunks for the read path (one plaintext block each, ~1 MiB).
 *
 * Why: a 64 MiB GET used to allocate 64 fresh 1 MiB buffers; at hundreds of
 * MB/s that external memory churn made V8 run full collections several times a
 * second (GC was ~13 % of a worker's CPU). The decoder now takes its healthy
 * output chunks from here, and the one consumer that knows when the bytes have
 * left the process (the HTTP response: the socket write callback) gives them
 * back.
 *
 * Safety rule: a chunk is reused only after releaseChunk() was called with
 * exactly the view that lendChunk() handed out (same memory, offset and length)
 * while it was lent. Anything else — a copy, a slice, a chunk nobody releases,
 * a second release — is ignored, and the buffer is simply left to the garbage
 * collector. So a consumer that does not know about the pool (in-process
 * callers, SSE decryption, tests) is always safe; it just gets no reuse.
 *
 * Bound: at most POOL_BYTES of free chunks per process; lent chunks count
 * against the request that holds them (the decoder's read-ahead).
 */

/** Free chunks kept per process; beyond this a released chunk is left to the GC. */
const POOL_BYTES = 24 * 1024 * 1024;

interface Lent {
  /** The view handed out; only this exact view may release the memory. */
  byteOffset: number;
  length: number;
}

/** ArrayBuffers currently lent, with the view that may release them. */
const lent = new WeakMap<ArrayBuffer, Lent>();
/** Free buffers by byte length (a read uses one size for all its full blocks). */
const free = new Map<number, Buffer[]>();
let freeBytes = 0;

/**
 * A buffer of `size` bytes with arbitrary contents (recycled or new, never
 * shared with Node's small-buffer pool). Not yet lent: call lend() with the
 * view that will be handed out once its bytes are final.
 */
export function takeChunk(size: number): Buffer {
  const list = free.get(size);
  const b = list?.pop();
  if (b) {
    freeBytes -= size;
    return b;
  }
  return Buffer.allocUnsafeSlow(size);
}

/**
 * Marks `view` (a view of a buffer from takeChunk) as handed out: from now on
 * only releaseChunk(view) returns the memory to the pool.
 */
export function lendChunk(view: Buffer): Buffer {
  lent.set(view.buffer as ArrayBuffer, { byteOffset: view.byteOffset, length: view.length });
  return view;
}

/**
 * Gives a lent chunk back. Call only when nothing references its bytes any
 * more (e.g. a socket write callback without error). Returns whether the
 * memory went back to the pool; false for anything that was not lent as
 * exactly this view.
 */
export function releaseChunk(view: Uint8Array): boolean {
  const ab = view.buffer as ArrayBuffer;
  const l = lent.get(ab);
  if (!l || l.byteOffset !== view.byteOffset || l.length !== view.length) return false;
  lent.delete(ab);
  const size = ab.byteLength;
  if (freeBytes + size > POOL_BYTES) return false;
  let list = free.get(size);
  if (!list) free.set(size, (list = []));
  list.push(Buffer.from(ab, 0, size));
  freeBytes += size;
  return true;
}

/** Bytes held in free chunks (tests, metrics). */
export function pooledBytes(): number {
  return freeBytes;
}
