import type { VersionIdentity } from './drive.js';
import type { EncodedCommitResult } from './local-drive.js';
import type { WriteConditions } from './object-layer.js';

/**
 * The messages between cluster workers and the one LMDB committer (the cluster
 * primary; storage/commit-host.ts, storage/commit-forwarder.ts). Only plain
 * values and Buffers: the cluster channel uses advanced serialization, where a
 * Buffer arrives as a Uint8Array (asBuffer turns it back without a copy).
 */

export const COMMIT_REQUEST = 'cairn:lmdb-ops';
export const COMMIT_REPLY = 'cairn:lmdb-results';

/** The environment switch: `primary` = the cluster primary commits for every worker. */
export const COMMITTER_ENV = 'CAIRN_LMDB_COMMITTER';

export function committerEnabled(env: Readonly<Record<string, string | undefined>>): boolean {
  return env[COMMITTER_ENV] === 'primary';
}

export type CommitOp =
  | {
      op: 'commit';
      bucket: string;
      key: string;
      value: Uint8Array;
      entry: Uint8Array;
      conditions?: WriteConditions;
      completeUpload?: string;
    }
  | { op: 'restore'; bucket: string; key: string; ours: VersionIdentity; previous?: { value: Uint8Array; entry: Uint8Array } }
  | { op: 'delete'; bucket: string; key: string; expect?: VersionIdentity };

/**
 * A drive as the worker opened it: its path and the `dev:ino` of its root then.
 * A directory replaced since (a swapped disk) has another root: the committer
 * must not write into an env it opened on the old one.
 */
export interface DriveIdentity {
  path: string;
  root: string;
}

/** Where a byte string sits in a request's blob: [offset, length]. */
export type BlobRef = [number, number];

/**
 * An op as sent: its record bytes moved into the request's one blob. The
 * channel's serializer calls back into JS for every Buffer it carries, so a
 * burst of 384 ops with two Buffers each costs far more as separate Buffers
 * than as one blob and offsets.
 */
export type WireOp = { id: number; drive: DriveIdentity } & (
  | { op: 'commit'; bucket: string; key: string; value: BlobRef; entry: BlobRef; conditions?: WriteConditions; completeUpload?: string }
  | { op: 'restore'; bucket: string; key: string; ours: VersionIdentity; previous?: { value: BlobRef; entry: BlobRef } }
  | { op: 'delete'; bucket: string; key: string; expect?: VersionIdentity }
);

export interface CommitRequest {
  type: typeof COMMIT_REQUEST;
  ops: WireOp[];
  blob: Uint8Array;
}

/** `value`: EncodedCommitResult for commit, undefined for restore, the removed record's bytes (or undefined) for delete. */
export type WireResult =
  | { id: number; ok: true; value: EncodedCommitResult | Uint8Array | undefined }
  | { id: number; ok: false; message: string; code?: string };

export interface CommitReply {
  type: typeof COMMIT_REPLY;
  results: WireResult[];
}

/** A Uint8Array from the channel as a Buffer over the same bytes. */
export function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}
