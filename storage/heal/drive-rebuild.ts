import type { Logger } from '../../core/logger.js';
import type { Drive } from '../drive.js';
import type { ErasureSet } from '../erasure-set.js';
import { healObject, type HealObjectResult } from './heal-object.js';
import { estimateObjects, type HealHost, type HealTotals } from './host.js';
import { ProgressTracker, yieldToLoop } from './progress.js';
import { recordResult } from './scanner.js';
import type { DriveRebuildStatus } from './types.js';
import { walkKeys } from './walk.js';

/**
 * Rebuild of a replaced (blank) drive. A drive is "healing" exactly while the
 * sys file `rebuild.json` exists on it: format.ts formats a blank drive among
 * formatted ones and reports it 'healing' to the process that formatted it,
 * which writes the tracker at once (markHealingDrives); every process then
 * derives the drive's state from the tracker (refreshHealingStates), so all
 * workers show it healing until the healer removes the tracker at the end.
 *
 * The rebuild recreates the bucket records, then walks every key of every
 * bucket of the set and heals the object onto that one slot. The tracker
 * holds the last object done (all objects before it in walk order are done),
 * rewritten every few seconds, so a restart resumes there.
 */

export const REBUILD_TRACKER = 'rebuild.json';

interface RebuildTracker {
  version: 1;
  startedAt: string;
  updatedAt: string;
  /** Every object in walk order (bucket, then key) up to and including this one is done. */
  bucket?: string;
  key?: string;
  objectsScanned: number;
  objectsHealed: number;
  objectsFailed: number;
  bytesDone: number;
}

const TRACKER_EVERY_MS = 2000;
/** Objects healed at once: small objects are dominated by per-object round trips, not bandwidth. */
const CONCURRENCY = 8;

export async function readTracker(drive: Drive): Promise<RebuildTracker | undefined> {
  const raw = await drive.readSysFile(REBUILD_TRACKER);
  if (!raw) return undefined;
  try {
    const t = JSON.parse(raw.toString('utf8')) as RebuildTracker;
    return t.version === 1 ? t : undefined;
  } catch {
    // A torn tracker cannot happen (atomic writes); an unreadable one restarts the rebuild from the start.
    return undefined;
  }
}

const writeTracker = (drive: Drive, t: RebuildTracker) => drive.writeSysFile(REBUILD_TRACKER, Buffer.from(JSON.stringify(t)));

function freshTracker(): RebuildTracker {
  const now = new Date().toISOString();
  return { version: 1, startedAt: now, updatedAt: now, objectsScanned: 0, objectsHealed: 0, objectsFailed: 0, bytesDone: 0 };
}

/**
 * Slots this process formatted whose tracker could not be written yet: they stay healing here
 * (never flipped online for lack of a tracker) and the refresh retries the write.
 */
const unmarked = new WeakMap<ErasureSet, Set<number>>();

async function mark(set: ErasureSet, slot: number, d: Drive, logger?: Logger): Promise<void> {
  try {
    if (!(await d.readSysFile(REBUILD_TRACKER))) await writeTracker(d, freshTracker());
    unmarked.get(set)?.delete(slot);
  } catch (err) {
    logger?.warn({ err, drive: d.path }, 'cannot write the rebuild tracker; will retry');
    if (!unmarked.has(set)) unmarked.set(set, new Set());
    unmarked.get(set)!.add(slot);
  }
}

/** Writes a tracker on every drive this process found blank and formatted ('healing'), unless one exists. */
export async function markHealingDrives(sets: ErasureSet[], logger?: Logger): Promise<void> {
  // A deployment without a bucket has nothing to rebuild. This also covers a race at the very first
  // start: a worker that reads the formats after another worker formatted the first drive sees
  // "blank drives among formatted ones" and would call them replacements.
  const holdsData = sets.some((set) =>
    set.drives.some((d, slot) => {
      if (!d || set.opts.states[slot] === 'healing' || !set.isOnline(slot)) return false;
      try {
        return d.listBuckets().length > 0;
      } catch {
        return true; // unknown: assume data, a rebuild of nothing is cheap
      }
    }),
  );
  if (!holdsData) {
    for (const set of sets) set.opts.states.forEach((st, slot) => st === 'healing' && set.setHealing(slot, false));
    return;
  }
  for (const set of sets) {
    for (const [slot, d] of set.drives.entries()) {
      if (!d || set.opts.states[slot] !== 'healing') continue;
      await mark(set, slot, d, logger);
    }
  }
}

/** Every drive with a tracker is healing, every other open drive online (run by each process on a timer). */
export async function refreshHealingStates(sets: ErasureSet[]): Promise<void> {
  for (const set of sets) {
    await Promise.all(
      set.drives.map(async (d, slot) => {
        if (!d || !set.isOnline(slot)) return;
        if (unmarked.get(set)?.has(slot)) await mark(set, slot, d);
        if (unmarked.get(set)?.has(slot)) return; // still no tracker of ours: stays healing
        let has: boolean;
        try {
          has = (await d.readSysFile(REBUILD_TRACKER)) !== undefined;
        } catch {
          return; // unreadable now: keep what we knew
        }
        const healing = set.opts.states[slot] === 'healing';
        if (has !== healing) set.setHealing(slot, has);
      }),
    );
  }
}

export class DriveRebuild {
  private progress: ProgressTracker | undefined;

  constructor(
    private readonly host: HealHost,
    readonly set: ErasureSet,
    readonly slot: number,
    private readonly totals: HealTotals,
  ) {}

  status(): DriveRebuildStatus {
    const p = (this.progress ?? new ProgressTracker()).snapshot();
    return { ...p, set: this.set.index, slot: this.slot, path: this.set.opts.paths[this.slot]! };
  }

  /** Runs to the end ('done', drive online) or until `signal` aborts ('aborted', tracker kept). */
  async run(signal: AbortSignal): Promise<'done' | 'aborted'> {
    const drive = this.set.drives[this.slot];
    if (!drive) throw new Error(`drive ${this.set.opts.paths[this.slot]} is offline`);
    const logger = this.host.logger;
    const t = (await readTracker(drive)) ?? freshTracker();
    await writeTracker(drive, t);
    const p = new ProgressTracker(t);
    this.progress = p;
    p.objectsTotal = estimateObjects(this.set, this.slot);
    logger?.info({ drive: drive.path, resumeAt: t.bucket !== undefined ? `${t.bucket}/${t.key ?? ''}` : undefined }, 'drive rebuild started');

    const buckets = await this.host.bucketNames();
    for (const b of buckets) {
      const rec = this.host.readBucket(b);
      if (rec && !drive.getBucket(b)) await drive.createBucket(rec);
    }

    let lastSaved = Date.now();
    const save = async () => {
      t.objectsScanned = p.objectsScanned;
      t.objectsHealed = p.objectsHealed;
      t.objectsFailed = p.objectsFailed;
      t.bytesDone = p.bytesDone;
      t.updatedAt = new Date().toISOString();
      await writeTracker(drive, t);
      lastSaved = Date.now();
    };

    for (const bucket of buckets) {
      if (t.bucket !== undefined && bucket < t.bucket) continue;
      const after = bucket === t.bucket ? t.key : undefined;
      // In flight, in walk order: the oldest finishing moves the resume point.
      const window: Array<{ key: string; done: Promise<HealObjectResult> }> = [];
      // Once a heal fails because we are stopping, nothing after it may move the resume point.
      let frozen = false;
      const settleOldest = async () => {
        const w = window.shift()!;
        const r = await w.done;
        if (frozen || (signal.aborted && r.state === 'failed')) {
          frozen = true;
          return;
        }
        recordResult(p, this.totals, r, `${bucket}/${w.key}`, r.bytesWritten);
        if (r.state === 'failed') {
          logger?.warn({ err: r.error, bucket, key: w.key, drive: drive.path }, 'rebuild could not heal object; queued');
          this.set.queueHeal(bucket, w.key, 'rebuild');
        }
        t.bucket = bucket;
        t.key = w.key;
        if (Date.now() - lastSaved >= TRACKER_EVERY_MS) await save();
      };
      for await (const key of walkKeys(this.set, bucket, { ...(after !== undefined ? { after } : {}), signal, ...(logger ? { logger } : {}) })) {
        window.push({
          key,
          done: healObject(this.set, bucket, key, { deep: false, targetSlots: [this.slot], signal, ...(logger ? { logger } : {}) }).catch(
            (error: unknown): HealObjectResult => ({ state: 'failed', slotsHealed: [], bytesWritten: 0, bytesVerified: 0, error }),
          ),
        });
        if (window.length >= CONCURRENCY) await settleOldest();
        await yieldToLoop();
      }
      while (window.length > 0) await settleOldest();
      if (signal.aborted) break;
      // The bucket is complete: resume at the next one.
      t.key = undefined;
      t.bucket = `${bucket}\u0000`; // sorts after `bucket`, before any other bucket name
    }
    if (signal.aborted) {
      await save().catch((err: unknown) => logger?.warn({ err, drive: drive.path }, 'cannot save the rebuild tracker'));
      return 'aborted';
    }
    await drive.writeSysFile(REBUILD_TRACKER, undefined);
    this.set.setHealing(this.slot, false);
    logger?.info({ drive: drive.path, objects: p.objectsScanned, healed: p.objectsHealed, failed: p.objectsFailed }, 'drive rebuild done');
    return 'done';
  }
}
