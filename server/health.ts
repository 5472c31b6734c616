import { statfs } from 'node:fs/promises';
import type { StorageTopology } from '../storage/object-layer.js';

/**
 * Health for load balancers and Kubernetes probes, and the cluster summary of
 * the admin API. Pure functions of the storage topology; server/ops.ts serves
 * them.
 *
 * - live: the process answers HTTP (no storage check: a liveness probe that
 *   fails on a drive outage would restart a pod that restarting cannot fix).
 * - ready: every erasure set has enough drives online for both read and write
 *   quorum; otherwise 503 so the load balancer sends clients elsewhere.
 */

export interface SetHealth {
  set: number;
  onlineDrives: number;
  drives: number;
  readQuorum: number;
  writeQuorum: number;
  readable: boolean;
  writable: boolean;
}

export interface Readiness {
  ready: boolean;
  sets: SetHealth[];
}

export function readiness(topology: StorageTopology): Readiness {
  const sets = topology.sets.map((s) => {
    // A healing drive is formatted and takes writes; it counts as online, as for quorum.
    const onlineDrives = s.drives.filter((d) => d.state !== 'offline').length;
    return {
      set: s.index + 1,
      onlineDrives,
      drives: s.drives.length,
      readQuorum: s.readQuorum,
      writeQuorum: s.writeQuorum,
      readable: onlineDrives >= s.readQuorum,
      writable: onlineDrives >= s.writeQuorum,
    };
  });
  return { ready: sets.length > 0 && sets.every((s) => s.readable && s.writable), sets };
}

export interface DriveInfo {
  path: string;
  state: 'online' | 'offline' | 'healing';
  totalBytes?: number;
  usedBytes?: number;
  freeBytes?: number;
}

export interface ClusterInfo {
  version: string;
  deploymentId: string;
  uptimeSeconds: number;
  ready: boolean;
  storageClasses: Record<string, { parity: number }>;
  sets: Array<SetHealth & { dataShards: number; parityShards: number; driveList: DriveInfo[] }>;
  totals: { drives: number; onlineDrives: number; totalBytes: number; usedBytes: number; freeBytes: number };
}

/** The admin API's summary (GET /cairn/admin/v1/info). Space comes from statfs of each drive path. */
export async function clusterInfo(topology: StorageTopology, version: string): Promise<ClusterInfo> {
  const health = readiness(topology);
  let totalBytes = 0;
  let usedBytes = 0;
  let freeBytes = 0;
  const sets = await Promise.all(
    topology.sets.map(async (s, i) => {
      const driveList = await Promise.all(
        s.drives.map(async (d): Promise<DriveInfo> => {
          try {
            const st = await statfs(d.path);
            const t = st.blocks * st.bsize;
            const u = (st.blocks - st.bfree) * st.bsize;
            const f = st.bavail * st.bsize;
            totalBytes += t;
            usedBytes += u;
            freeBytes += f;
            return { path: d.path, state: d.state, totalBytes: t, usedBytes: u, freeBytes: f };
          } catch {
            return { path: d.path, state: d.state };
          }
        }),
      );
      return { ...health.sets[i]!, dataShards: s.dataShards, parityShards: s.parityShards, driveList };
    }),
  );
  return {
    version,
    deploymentId: topology.deploymentId,
    uptimeSeconds: Math.round(process.uptime()),
    ready: health.ready,
    storageClasses: topology.storageClasses,
    sets,
    totals: {
      drives: sets.reduce((n, s) => n + s.drives, 0),
      onlineDrives: sets.reduce((n, s) => n + s.onlineDrives, 0),
      totalBytes,
      usedBytes,
      freeBytes,
    },
  };
}
