/**
 * The healing contract shared by storage (which heals) and server (which shows
 * it): why an object was queued, what a heal run reports, and what the admin
 * API may ask for. Implementation: storage/heal/*.ts.
 */

/** Why an object was queued for healing. */
export type HealReason = 'read' | 'write' | 'delete' | 'scanner' | 'rebuild' | 'admin';

/** Where the erasure set reports an object that is below full redundancy (fire and forget, never throws). */
export interface HealSink {
  queue(bucket: string, key: string, reason: HealReason): void;
}

export interface HealOptions {
  /** Background scanner: objects verified per second across the deployment (0 = scanner off). */
  scannerObjectsPerSecond: number;
  /** Background scanner: shard bytes read per second in deep mode. */
  scannerBytesPerSecond: number;
  /** 'normal' checks records and shard files' presence and size; 'deep' also reads every shard block and verifies its bitrot hash. */
  scannerMode: 'normal' | 'deep';
  /** Pause between two scanner cycles, ms. */
  scannerIntervalMs: number;
  /** Data dirs no record references are removed once older than this, ms (a write in flight is younger). */
  orphanGraceMs: number;
  /** Upper bound of the persisted heal queue (entries per drive); beyond it entries are dropped and counted, and the scanner catches them. */
  queueLimit: number;
}

export const DEFAULT_HEAL_OPTIONS: HealOptions = {
  scannerObjectsPerSecond: 200,
  scannerBytesPerSecond: 64 * 1024 * 1024,
  scannerMode: 'normal',
  scannerIntervalMs: 60 * 60 * 1000,
  orphanGraceMs: 60 * 60 * 1000,
  queueLimit: 100_000,
};

/** Progress of one long heal job: a drive rebuild, an admin sweep or a scanner cycle. */
export interface HealProgress {
  /** Objects looked at / repaired / that could not be repaired (below read quorum or failing). */
  objectsScanned: number;
  objectsHealed: number;
  objectsFailed: number;
  /** Bytes of shard data written to healed drives (rebuild, sweep) or read and verified (deep scan). */
  bytesDone: number;
  /** Estimated totals (from the drives' record counts and the set's used bytes); undefined when unknown. */
  objectsTotal?: number;
  bytesTotal?: number;
  /** Moving averages over the last minute. */
  objectsPerSecond: number;
  bytesPerSecond: number;
  /** Seconds to finish at the current rate; undefined when not estimable. */
  etaSeconds?: number;
  startedAt: string;
  updatedAt: string;
  /** Last object done (bucket/key), where a restart resumes. */
  lastObject?: string;
}

export interface DriveRebuildStatus extends HealProgress {
  set: number;
  slot: number;
  path: string;
}

export interface HealSweepStatus extends HealProgress {
  id: string;
  bucket?: string;
  prefix?: string;
  deep: boolean;
  state: 'queued' | 'running' | 'done' | 'failed';
  error?: string;
}

export interface HealStatus {
  /** False until a process started the healer (the background worker). */
  active: boolean;
  queue: { length: number; dropped: number };
  rebuilds: DriveRebuildStatus[];
  sweeps: HealSweepStatus[];
  scanner: (HealProgress & { mode: 'normal' | 'deep'; cycle: number; running: boolean }) | undefined;
  /** Since the healer started: objects repaired, shard bytes written, failures, orphan data dirs and dangling records removed. */
  totals: { objectsHealed: number; bytesHealed: number; failures: number; orphansRemoved: number; danglingRemoved: number };
  updatedAt: string;
}

export interface HealRequest {
  bucket?: string;
  prefix?: string;
  /** Verify every shard block's bitrot hash, not just presence and size. */
  deep?: boolean;
}
