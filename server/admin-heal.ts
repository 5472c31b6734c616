import { statfs } from 'node:fs/promises';
import type { HealRequest, HealStatus, HealSweepStatus } from '../storage/heal/types.js';
import type { ObjectLayer, StorageTopology } from '../storage/object-layer.js';
import { readiness } from './health.js';
import { invalidArgument } from './s3-error.js';

/**
 * The heal part of the admin API (served by server/ops.ts for signed requests
 * of the root user, like /cairn/admin/v1/info):
 *
 * - `GET  /cairn/admin/v1/heal`   what the healer does, with every set's drives and quorum;
 * - `POST /cairn/admin/v1/heal?bucket=B&prefix=P&deep=true`   queue a sweep → 202;
 * - `GET  /cairn/admin/v1/drives` the drive table (state, I/O counters, space).
 *
 * These paths are also object URLs of a bucket named `cairn`. A request is
 * taken for the admin API only when its method and query fit an admin call
 * exactly (signature parameters of a presigned URL aside): any other query
 * parameter (`uploads`, `uploadId`, `versionId`, ...) sends it to S3, so
 * multipart uploads and versioned reads of those keys still work; PUT and
 * DELETE always go to S3. What remains shadowed is a plain GET of the keys
 * `admin/v1/heal` and `admin/v1/drives` and a plain POST to the first, as
 * `admin/v1/info` is.
 */

export const ADMIN_HEAL_PATH = '/cairn/admin/v1/heal';
export const ADMIN_DRIVES_PATH = '/cairn/admin/v1/drives';

export type AdminHealOp = { op: 'HealStatus' } | { op: 'HealStart'; request: HealRequest } | { op: 'Drives' };

/** Quorum of one erasure set, as the admin views show it. */
export interface SetQuorumView {
  /** 1-based, as /health/ready and the metrics' `set` label. */
  set: number;
  drives: Array<{ slot: number; path: string; state: 'online' | 'offline' | 'healing' }>;
  /** Drives counted for quorum (online or healing: a healing drive takes writes). */
  online: number;
  total: number;
  readQuorum: number;
  writeQuorum: number;
  readable: boolean;
  writable: boolean;
  /** ok: every drive online; degraded: a drive offline or healing, data still readable; lost: below read quorum. */
  quorum: 'ok' | 'degraded' | 'lost';
}

export interface HealView extends HealStatus {
  sets: SetQuorumView[];
}

export interface DriveView {
  set: number;
  /** 1-based position in the set, in command-line order. */
  slot: number;
  path: string;
  state: 'online' | 'offline' | 'healing';
  io?: { operations: number; errors: number; seconds: number };
  totalBytes?: number;
  freeBytes?: number;
}

export interface DrivesView {
  drives: DriveView[];
  sets: SetQuorumView[];
}

/** Parameters of a presigned URL: part of the signature, not of the call. */
const SIGNATURE_PARAM = /^X-Amz-(Algorithm|Credential|Date|Expires|SignedHeaders|Signature|Security-Token)$/i;

/** The cheap first test, for every request. */
export function isAdminHealPath(path: string): boolean {
  return path === ADMIN_HEAL_PATH || path === ADMIN_DRIVES_PATH;
}

/** The admin call a request is, or undefined when it is S3's (see the header comment). */
export function matchAdminHeal(method: string, path: string, query: string): AdminHealOp | undefined {
  if (!isAdminHealPath(path)) return undefined;
  const params = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(query)) {
    if (!SIGNATURE_PARAM.test(name)) params.set(name, value);
  }
  if (method === 'GET' && params.size === 0) return path === ADMIN_HEAL_PATH ? { op: 'HealStatus' } : { op: 'Drives' };
  if (method !== 'POST' || path !== ADMIN_HEAL_PATH) return undefined;
  for (const name of params.keys()) if (name !== 'bucket' && name !== 'prefix' && name !== 'deep') return undefined;
  const request: HealRequest = {};
  const bucket = params.get('bucket');
  const prefix = params.get('prefix');
  if (bucket) request.bucket = bucket;
  if (prefix) request.prefix = prefix;
  if (params.has('deep')) request.deep = /^(|true|1|on|yes)$/i.test(params.get('deep')!);
  return { op: 'HealStart', request };
}

/** Answers one admin call: HTTP status and JSON body. */
export async function answerAdminHeal(op: AdminHealOp, objects: ObjectLayer): Promise<{ status: number; body: unknown }> {
  switch (op.op) {
    case 'HealStatus':
      return { status: 200, body: await healView(objects) };
    case 'HealStart': {
      if (op.request.prefix !== undefined && op.request.bucket === undefined) {
        // A prefix without a bucket names nothing: refused before the healer sees it.
        throw invalidArgument('a heal prefix needs a bucket');
      }
      const sweep: HealSweepStatus = await objects.requestHeal(op.request);
      return { status: 202, body: sweep };
    }
    case 'Drives':
      return { status: 200, body: await drivesView(objects.topology()) };
  }
}

export async function healView(objects: ObjectLayer): Promise<HealView> {
  const status = await objects.healStatus();
  return { ...status, sets: setQuorum(objects.topology()) };
}

export function setQuorum(topology: StorageTopology): SetQuorumView[] {
  const health = readiness(topology);
  return topology.sets.map((s, i) => {
    const h = health.sets[i]!;
    const allOnline = s.drives.every((d) => d.state === 'online');
    return {
      set: h.set,
      drives: s.drives.map((d, slot) => ({ slot: slot + 1, path: d.path, state: d.state })),
      online: h.onlineDrives,
      total: h.drives,
      readQuorum: h.readQuorum,
      writeQuorum: h.writeQuorum,
      readable: h.readable,
      writable: h.writable,
      quorum: !h.readable ? 'lost' : allOnline ? 'ok' : 'degraded',
    };
  });
}

/** The drive table; space from one statfs per drive (cheap; an unreachable drive just has none). */
export async function drivesView(topology: StorageTopology): Promise<DrivesView> {
  const drives = await Promise.all(
    topology.sets.flatMap((s) =>
      s.drives.map(async (d, slot): Promise<DriveView> => {
        const view: DriveView = { set: s.index + 1, slot: slot + 1, path: d.path, state: d.state, ...(d.io ? { io: d.io } : {}) };
        if (d.state === 'offline') return view;
        try {
          const st = await statfs(d.path);
          view.totalBytes = st.blocks * st.bsize;
          view.freeBytes = st.bavail * st.bsize;
        } catch {
          // no space figures rather than wrong ones
        }
        return view;
      }),
    ),
  );
  return { drives, sets: setQuorum(topology) };
}
