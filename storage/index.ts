import type { Logger } from '../core/logger.js';
import type { BitrotAlgorithm, CodecId } from '../erasure/types.js';
import { loadCodec } from './erasure-api.js';
import { ErasureSet } from './erasure-set.js';
import { loadFormats } from './format.js';
import { CheckedDrive, type CheckedDriveOptions } from './checked-drive.js';
import type { Drive } from './drive.js';
import { instrumentDrive, registerIoStats, type DriveIoStats } from './drive-stats.js';
import { LocalDrive } from './local-drive.js';
import { forwardCommits, type CommitClient } from './commit-forwarder.js';
import { ErasureObjectLayer } from './object-layer-impl.js';
import type { ObjectLayer } from './object-layer.js';
import { resolveParity } from './storage-class.js';
import type { SseSettings } from './sse-pipeline.js';

export { expandDrivePattern } from './drive-pattern.js';
export { validateBucketName, validateObjectKey } from './names.js';
export { parseParity } from './storage-class.js';
export { FormatError } from './format.js';

export interface StorageConfig {
  drives: string[];
  /** Drives per erasure set (2..16, dividing the drive count); default like MinIO. */
  setDriveCount?: number;
  standardParity?: number;
  reducedParity?: number;
  /** Plaintext bytes per erasure stripe; default 1 MiB. */
  blockSize?: number;
  /** Objects up to this size live inside the metadata record; default 128 KiB. */
  inlineThreshold?: number;
  codec?: CodecId;
  bitrot?: BitrotAlgorithm;
  logger?: Logger;
  /** Server-side encryption: the KMS and the encrypt-everything switch (storage/sse-pipeline.ts). */
  sse?: SseSettings;
  /** One timeout for every drive call, ms (default: 10 s metadata calls, 30 s data calls); past it the drive goes offline. */
  driveTimeoutMs?: number;
  /** How often an offline drive is probed (and an online one's directory checked), ms; default 5 s. */
  driveProbeIntervalMs?: number;
  /** Send object-record writes to one committer process (cluster workers; storage/commit-host.ts). */
  commits?: CommitClient;
}

export const DEFAULT_BLOCK_SIZE = 1 << 20;
export const DEFAULT_INLINE_THRESHOLD = 128 << 10;

/**
 * Open (and on first start, format) the drives and return the object layer.
 * Formats are checked first: a drive in the wrong slot refuses the start, a
 * blank one among formatted ones is formatted as a replacement ('healing').
 * Tmp leftovers of dead processes are removed before serving.
 */
export async function openObjectLayer(cfg: StorageConfig): Promise<ObjectLayer> {
  const logger = cfg.logger;
  const formatting = await loadFormats(cfg.drives, cfg.setDriveCount);
  const parity = resolveParity(formatting.setDriveCount, cfg.standardParity, cfg.reducedParity);
  const codec = await loadCodec(cfg.codec, { warn: (message, err) => logger?.warn({ err }, message) });
  const opened: CheckedDrive[] = [];
  const health: CheckedDriveOptions = {
    ...(cfg.driveTimeoutMs !== undefined ? { metadataTimeoutMs: cfg.driveTimeoutMs, dataTimeoutMs: cfg.driveTimeoutMs } : {}),
    ...(cfg.driveProbeIntervalMs !== undefined ? { probeIntervalMs: cfg.driveProbeIntervalMs } : {}),
  };
  const sets = await Promise.all(
    formatting.sets.map(async (slots, index) => {
      const drives = await Promise.all(
        slots.map(async (s) => {
          // One stats object per slot: a drive reopened by its probe keeps counting into it.
          const stats: DriveIoStats = { operations: 0, errors: 0, seconds: 0 };
          const openDrive = async (path: string): Promise<Drive> => {
            const d = await LocalDrive.open(path);
            const removed = await d.cleanupStaleTmp();
            if (removed > 0) logger?.info({ drive: path, removed }, 'removed leftovers of dead writers');
            return instrumentDrive(cfg.commits ? await forwardCommits(d, cfg.commits) : d, stats).drive;
          };
          let inner: Drive | undefined;
          if (s.state === 'offline') logger?.warn({ drive: s.path, err: s.error }, 'drive offline');
          else {
            try {
              inner = await openDrive(s.path);
            } catch (err) {
              logger?.warn({ drive: s.path, err }, 'drive failed to open; offline');
            }
          }
          // Offline at start: the probe opens it when it appears, no restart needed.
          const checked = new CheckedDrive(s.path, inner, { ...health, driveId: s.driveId, reopen: openDrive });
          registerIoStats(checked, stats);
          opened.push(checked);
          return checked;
        }),
      );
      return new ErasureSet({
        index,
        drives,
        paths: slots.map((s) => s.path),
        states: slots.map((s) => s.state),
        parity,
        blockSize: cfg.blockSize ?? DEFAULT_BLOCK_SIZE,
        inlineThreshold: cfg.inlineThreshold ?? DEFAULT_INLINE_THRESHOLD,
        codec,
        bitrot: cfg.bitrot ?? 'crc32c',
        ...(logger ? { logger } : {}),
      });
    }),
  );
  return new ErasureObjectLayer(formatting.deploymentId, sets, opened, logger, cfg.sse);
}
