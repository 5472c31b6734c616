import { stat } from 'node:fs/promises';
import type { CommitObjectResult, Drive, EncodedObject, VersionIdentity } from './drive.js';
import { decodeRemovedUpload, type EncodedCommitResult, type LocalDrive } from './local-drive.js';
import { decodeObjectRecord, encodeListEntry, encodeObjectRecord, listEntryOf, type ObjectRecord } from './metadata-record.js';
import type { WriteConditions } from './object-layer.js';
import { asBuffer, COMMIT_REPLY, COMMIT_REQUEST, type BlobRef, type CommitOp, type CommitReply, type CommitRequest, type DriveIdentity, type WireOp } from './commit-protocol.js';

/**
 * Worker side of the one-committer mode (storage/commit-host.ts): a drive whose
 * object-record writes (commitObject, restoreObject, deleteObject) run in the
 * committer process; everything else, reads included, stays local (LMDB is
 * multi-process safe). The CheckedDrive around it times these calls out like
 * any drive call, so a committer that stops answering takes the drive offline.
 */

/** A failure the committer reported, with its errno code (CheckedDrive classifies by it). */
export class CommitterError extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
    this.name = 'CommitterError';
  }
}

/** How requests reach the committer: the cluster IPC channel, or anything with the same shape (tests). */
export interface CommitPort {
  send(msg: CommitRequest): void;
  onMessage(handler: (msg: unknown) => void): void;
  /** Called when the channel is gone: pending calls fail. */
  onClose(handler: () => void): void;
}

/** In a cluster worker: the IPC channel to the primary. */
export function clusterWorkerPort(): CommitPort {
  if (!process.send) throw new Error('not a cluster worker: no IPC channel');
  return {
    send: (msg) => void process.send!(msg),
    onMessage: (h) => void process.on('message', h),
    onClose: (h) => void process.once('disconnect', h),
  };
}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };

/** Sends every op issued in one event turn in one message; matches results to callers by id. */
export class CommitClient {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private queue: Array<{ id: number; drive: DriveIdentity; op: CommitOp }> | undefined;
  private closedWith: Error | undefined;

  constructor(private readonly port: CommitPort) {
    port.onMessage((msg) => {
      if ((msg as { type?: unknown } | null)?.type === COMMIT_REPLY) this.receive(msg as CommitReply);
    });
    port.onClose(() => this.failAll(new CommitterError('the committer process is gone', 'ENOTCONN')));
  }

  /** Calls waiting for an answer (a timed-out call stays here until the committer answers). */
  get inFlight(): number {
    return this.pending.size;
  }

  call(drive: DriveIdentity, op: CommitOp): Promise<unknown> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const id = this.nextId++;
    if (!this.queue) {
      this.queue = [];
      setImmediate(() => this.flush());
    }
    this.queue.push({ id, drive, op });
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }

  private flush(): void {
    const queued = this.queue ?? [];
    this.queue = undefined;
    const chunks: Uint8Array[] = [];
    let size = 0;
    const ref = (b: Uint8Array): BlobRef => {
      chunks.push(b);
      size += b.length;
      return [size - b.length, b.length];
    };
    const ops = queued.map(({ id, drive, op }): WireOp => {
      switch (op.op) {
        case 'commit':
          return { ...op, id, drive, value: ref(op.value), entry: ref(op.entry) };
        case 'restore': {
          const { previous, ...rest } = op;
          return { ...rest, id, drive, ...(previous ? { previous: { value: ref(previous.value), entry: ref(previous.entry) } } : {}) };
        }
        case 'delete':
          return { ...op, id, drive };
      }
    });
    try {
      this.port.send({ type: COMMIT_REQUEST, ops, blob: Buffer.concat(chunks, size) });
    } catch (err) {
      const e = new CommitterError(`cannot reach the committer: ${(err as Error).message}`, 'ENOTCONN');
      for (const o of queued) this.settle(o.id, (p) => p.reject(e));
    }
  }

  private receive(reply: CommitReply): void {
    for (const r of reply.results) {
      this.settle(r.id, (p) => (r.ok ? p.resolve(r.value) : p.reject(new CommitterError(r.message, r.code))));
    }
  }

  private settle(id: number, f: (p: Pending) => void): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    f(p);
  }

  private failAll(err: Error): void {
    this.closedWith = err;
    for (const [id] of this.pending) this.settle(id, (p) => p.reject(err));
  }
}

/**
 * `local` with its object-record writes sent to the committer. The returned
 * object inherits every other method from `local` (prototype chain), so reads,
 * shard files and the other LMDB writes are exactly the local drive's.
 */
export async function forwardCommits(local: LocalDrive, client: CommitClient): Promise<Drive> {
  const s = await stat(local.path);
  const path: DriveIdentity = { path: local.path, root: `${s.dev}:${s.ino}` };
  const d = Object.create(local) as Drive;
  d.commitObject = async (
    bucket: string,
    key: string,
    rec: ObjectRecord,
    opts: { conditions?: WriteConditions; completeUpload?: string; encoded?: EncodedObject } = {},
  ): Promise<CommitObjectResult> => {
    const value = opts.encoded?.value ?? encodeObjectRecord(rec);
    const entry = opts.encoded?.entry ?? encodeListEntry(listEntryOf(rec));
    const r = (await client.call(path, {
      op: 'commit',
      bucket,
      key,
      value,
      entry,
      ...(opts.conditions ? { conditions: opts.conditions } : {}),
      ...(opts.completeUpload !== undefined ? { completeUpload: opts.completeUpload } : {}),
    })) as EncodedCommitResult;
    const removed = 'removedUpload' in r && r.removedUpload ? decodeRemovedUpload({ upload: asBuffer(r.removedUpload.upload), parts: r.removedUpload.parts.map(asBuffer) }) : undefined;
    switch (r.status) {
      case 'committed':
        return { status: 'committed', ...(r.previous ? { previous: decodeObjectRecord(r.previous) } : {}), ...(removed ? { removedUpload: removed } : {}) };
      case 'superseded':
        return { status: 'superseded', ...(removed ? { removedUpload: removed } : {}) };
      default:
        return r;
    }
  };
  d.restoreObject = async (bucket: string, key: string, ours: VersionIdentity, previous?: ObjectRecord): Promise<void> => {
    await client.call(path, {
      op: 'restore',
      bucket,
      key,
      ours: { modTime: ours.modTime, versionId: ours.versionId, dataDir: ours.dataDir },
      ...(previous ? { previous: { value: encodeObjectRecord(previous), entry: encodeListEntry(listEntryOf(previous)) } } : {}),
    });
  };
  d.deleteObject = async (bucket: string, key: string, expect?: VersionIdentity): Promise<ObjectRecord | undefined> => {
    const raw = (await client.call(path, {
      op: 'delete',
      bucket,
      key,
      ...(expect ? { expect: { modTime: expect.modTime, versionId: expect.versionId, dataDir: expect.dataDir } } : {}),
    })) as Uint8Array | undefined;
    return raw ? decodeObjectRecord(raw) : undefined;
  };
  return d;
}
