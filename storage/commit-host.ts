import cluster, { type Worker } from 'node:cluster';
import { stat } from 'node:fs/promises';
import type { Logger } from '../core/logger.js';
import { LocalDrive, type EncodedCommitResult } from './local-drive.js';
import { asBuffer, COMMIT_REPLY, COMMIT_REQUEST, type BlobRef, type CommitReply, type CommitRequest, type DriveIdentity, type WireOp, type WireResult } from './commit-protocol.js';

/**
 * The one LMDB committer of a cluster (CAIRN_LMDB_COMMITTER=primary): workers
 * forward the object-record writes of the hot path (commit, restore, delete;
 * storage/commit-forwarder.ts) and this process runs them in its own lmdb-js
 * write batches. Why: lmdb-js batches the transactions of one process into one
 * commit per env; with two workers each commits its own batches under LMDB's
 * cross-process write lock, so every env commits (and fdatasyncs) twice as
 * often. Ops of one request message are started in the same event turn, so a
 * burst from every worker lands in one commit per env. Results are sent back
 * per worker once per event turn (results of one commit settle together).
 *
 * Drives are opened here lazily by path, after a worker has opened (and
 * formatted) them, and only if the directory is the one the worker opened
 * (same root `dev:ino`): a replaced directory gets ESTALE, which takes the
 * drive offline in the worker until its probe reopens it under the new root. Errors go back with their errno code, so a worker's
 * CheckedDrive classifies an EIO here as it would its own.
 */

export interface CommitHost {
  /** Run one request's ops; `reply` is called once per event turn with every result settled in it. */
  handle(req: CommitRequest, reply: (r: CommitReply) => void): void;
  close(): Promise<void>;
}

export function createCommitHost(logger?: Logger): CommitHost {
  const opened = new Map<string, LocalDrive>();
  const opening = new Map<string, Promise<LocalDrive>>();
  const outboxes = new Map<(r: CommitReply) => void, WireResult[]>();
  let closed = false;

  const driveAt = (id: DriveIdentity): LocalDrive | Promise<LocalDrive> => {
    const key = `${id.path}\0${id.root}`;
    const d = opened.get(key);
    if (d) return d;
    let p = opening.get(key);
    if (!p) {
      p = openAs(id).then((drive) => {
        // The same path under an older root: that env is stale, close it.
        for (const [k, old] of opened) {
          if (k.startsWith(`${id.path}\0`)) {
            opened.delete(k);
            void old.close().catch(() => undefined);
          }
        }
        opened.set(key, drive);
        opening.delete(key);
        logger?.debug({ drive: id.path }, 'committer opened drive');
        return drive;
      });
      p.catch(() => opening.delete(key));
      opening.set(key, p);
    }
    return p;
  };

  const send = (reply: (r: CommitReply) => void, r: WireResult) => {
    let box = outboxes.get(reply);
    if (!box) {
      box = [];
      outboxes.set(reply, box);
      setImmediate(() => {
        const results = outboxes.get(reply) ?? [];
        outboxes.delete(reply);
        reply({ type: COMMIT_REPLY, results });
      });
    }
    box.push(r);
  };

  return {
    handle(req, reply) {
      const blob = asBuffer(req.blob);
      const bytes = ([offset, length]: BlobRef) => blob.subarray(offset, offset + length);
      for (const w of req.ops) {
        const settle = (p: Promise<EncodedCommitResult | Buffer | undefined | void>) =>
          p.then(
            (value) => send(reply, { id: w.id, ok: true, value: value ?? undefined }),
            (err: unknown) => send(reply, errorResult(w.id, err)),
          );
        if (closed) {
          send(reply, errorResult(w.id, Object.assign(new Error('committer closed'), { code: 'ESHUTDOWN' })));
          continue;
        }
        const d = driveAt(w.drive);
        // A drive already open runs the op now, in this turn: every op of the burst joins one batch.
        void settle(d instanceof LocalDrive ? run(d, w, bytes) : d.then((drive) => run(drive, w, bytes)));
      }
    },
    async close() {
      closed = true;
      const all = [...opened.values()];
      opened.clear();
      await Promise.all(all.map((d) => d.close().catch(() => undefined)));
    },
  };
}

async function openAs(id: DriveIdentity): Promise<LocalDrive> {
  const s = await stat(id.path);
  if (`${s.dev}:${s.ino}` !== id.root) throw Object.assign(new Error(`drive ${id.path} is not the directory the worker opened`), { code: 'ESTALE' });
  return LocalDrive.open(id.path);
}

function run(d: LocalDrive, op: WireOp, bytes: (r: BlobRef) => Buffer): Promise<EncodedCommitResult | Buffer | undefined | void> {
  switch (op.op) {
    case 'commit':
      return d.commitObjectEncoded(op.bucket, op.key, { value: bytes(op.value), entry: bytes(op.entry) }, {
        ...(op.conditions ? { conditions: op.conditions } : {}),
        ...(op.completeUpload !== undefined ? { completeUpload: op.completeUpload } : {}),
      });
    case 'restore':
      return d.restoreObjectEncoded(
        op.bucket,
        op.key,
        op.ours,
        op.previous ? { value: bytes(op.previous.value), entry: bytes(op.previous.entry) } : undefined,
      );
    case 'delete':
      return d.deleteObjectEncoded(op.bucket, op.key, op.expect);
  }
}

function errorResult(id: number, err: unknown): WireResult {
  const e = err as { message?: unknown; code?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  return typeof e?.code === 'string' ? { id, ok: false, message, code: e.code } : { id, ok: false, message };
}

/** In the cluster primary: answer every worker's commit requests. The channel must use advanced serialization. */
export function serveCommits(logger?: Logger): CommitHost {
  const host = createCommitHost(logger);
  const replyTo = new WeakMap<Worker, (r: CommitReply) => void>();
  cluster.on('message', (worker: Worker, msg: unknown) => {
    if ((msg as { type?: unknown } | null)?.type !== COMMIT_REQUEST) return;
    let reply = replyTo.get(worker);
    if (!reply) {
      // A worker that died meanwhile gets no answer: its ops still finish here.
      reply = (r) => void (worker.isConnected() && worker.send(r));
      replyTo.set(worker, reply);
    }
    host.handle(msg as CommitRequest, reply);
  });
  return host;
}
