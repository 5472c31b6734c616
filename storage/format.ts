import { randomUUID } from 'node:crypto';
import { link, mkdir, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { CairnError } from '../core/errors.js';

/**
 * `<drive>/.cairn/format.json`: which deployment a drive belongs to and which
 * slot of which set it holds. Checked at every start, so a drive plugged into
 * the wrong slot is refused and a blank one is recognised as a replacement.
 */

export const FORMAT_MAGIC = 'cairn-format';
export const FORMAT_VERSION = 1;

export interface FormatRecord {
  magic: typeof FORMAT_MAGIC;
  version: 1;
  deploymentId: string;
  /** sets[s][slot] = drive id. */
  sets: string[][];
  driveId: string;
  setIndex: number;
  slot: number;
}

export class FormatError extends CairnError<'FormatMismatch' | 'InvalidTopology' | 'NoDrives'> {}

export type DriveFormatState = 'online' | 'offline' | 'healing';

export interface FormattedDrive {
  path: string;
  setIndex: number;
  slot: number;
  driveId: string;
  state: DriveFormatState;
  error?: unknown;
}

export interface Formatting {
  deploymentId: string;
  setDriveCount: number;
  /** sets[s][slot] */
  sets: FormattedDrive[][];
}

export const formatPath = (drive: string) => join(drive, '.cairn', 'format.json');

/** MinIO's rule: the largest set size in 2..16 that divides the drive count. */
export function chooseSetDriveCount(driveCount: number, override?: number): number {
  if (override !== undefined) {
    if (!Number.isInteger(override) || override < 2 || override > 16 || driveCount % override !== 0) {
      throw new FormatError('InvalidTopology', `set drive count ${override} must be in 2..16 and divide ${driveCount} drives`);
    }
    return override;
  }
  for (let n = 16; n >= 2; n--) if (driveCount % n === 0) return n;
  throw new FormatError('InvalidTopology', `cannot split ${driveCount} drives into erasure sets of 2..16 drives`);
}

type ReadResult = { state: 'ok'; format: FormatRecord } | { state: 'blank' } | { state: 'offline'; error: unknown };

export async function readFormat(drive: string): Promise<ReadResult> {
  try {
    await mkdir(drive, { recursive: true });
    const raw = await readFile(formatPath(drive), 'utf8');
    const f = JSON.parse(raw) as FormatRecord;
    if (f.magic !== FORMAT_MAGIC) throw new Error(`${formatPath(drive)}: not a cairn format record`);
    if (f.version !== FORMAT_VERSION) throw new Error(`${formatPath(drive)}: unsupported format version ${f.version}`);
    return { state: 'ok', format: f };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'blank' };
    return { state: 'offline', error };
  }
}

/**
 * Create format.json only if absent: write a temp file, fsync, then link(2) it
 * into place, which fails with EEXIST if another process got there first. The
 * record appears complete or not at all, so a concurrent reader never sees half.
 */
export async function writeFormatExclusive(drive: string, f: FormatRecord): Promise<boolean> {
  const dir = join(drive, '.cairn');
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `format.json.${process.pid}.${randomUUID()}`);
  const fh = await open(tmp, 'wx');
  try {
    await fh.writeFile(JSON.stringify(f, null, 2) + '\n');
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await link(tmp, formatPath(drive));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(tmp).catch(() => {});
  }
}

function recordFor(ref: { deploymentId: string; sets: string[][] }, setIndex: number, slot: number): FormatRecord {
  return {
    magic: FORMAT_MAGIC,
    version: FORMAT_VERSION,
    deploymentId: ref.deploymentId,
    sets: ref.sets,
    driveId: ref.sets[setIndex]![slot]!,
    setIndex,
    slot,
  };
}

const refKey = (f: FormatRecord) => `${f.deploymentId}|${JSON.stringify(f.sets)}`;

/**
 * Read every drive's format, bootstrap a new deployment when all are blank,
 * format blank drives among formatted ones as replacements ('healing'), and
 * refuse drives that belong elsewhere. Safe when several processes start at
 * once: the first successful link() on the first reachable drive decides the
 * deployment and everyone else adopts it.
 */
export async function loadFormats(paths: string[], setDriveCountOverride?: number): Promise<Formatting> {
  if (paths.length === 0) throw new FormatError('NoDrives', 'no drives configured');
  if (new Set(paths).size !== paths.length) throw new FormatError('InvalidTopology', 'a drive is listed twice');
  const setDriveCount = chooseSetDriveCount(paths.length, setDriveCountOverride);
  const reads = await Promise.all(paths.map(readFormat));
  const setOf = (i: number) => Math.floor(i / setDriveCount);
  const slotOf = (i: number) => i % setDriveCount;

  let ref: { deploymentId: string; sets: string[][] };
  const formatted = reads.filter((r): r is { state: 'ok'; format: FormatRecord } => r.state === 'ok');
  const fresh = formatted.length === 0;
  if (fresh) {
    const first = reads.findIndex((r) => r.state === 'blank');
    if (first < 0) throw new FormatError('NoDrives', 'no drive is reachable');
    const proposal = {
      deploymentId: randomUUID(),
      sets: Array.from({ length: paths.length / setDriveCount }, () =>
        Array.from({ length: setDriveCount }, () => randomUUID()),
      ),
    };
    const won = await writeFormatExclusive(paths[first]!, recordFor(proposal, setOf(first), slotOf(first)));
    if (won) ref = proposal;
    else {
      const again = await readFormat(paths[first]!);
      if (again.state !== 'ok') throw new FormatError('NoDrives', `cannot read format of ${paths[first]}`);
      ref = again.format;
    }
  } else {
    const votes = new Map<string, { n: number; f: FormatRecord }>();
    for (const { format } of formatted) {
      const v = votes.get(refKey(format)) ?? { n: 0, f: format };
      v.n++;
      votes.set(refKey(format), v);
    }
    ref = [...votes.values()].sort((a, b) => b.n - a.n)[0]!.f;
  }

  if (ref.sets.length * setDriveCount !== paths.length || ref.sets.some((s) => s.length !== setDriveCount)) {
    throw new FormatError(
      'InvalidTopology',
      `drives are formatted as ${ref.sets.length} set(s) of ${ref.sets[0]?.length} drives, ` +
        `but ${paths.length} drives in sets of ${setDriveCount} are configured`,
    );
  }

  const where = new Map<string, [number, number]>();
  ref.sets.forEach((set, s) => set.forEach((id, slot) => where.set(id, [s, slot])));

  const drives = await Promise.all(
    paths.map(async (path, i): Promise<FormattedDrive> => {
      const setIndex = setOf(i);
      const slot = slotOf(i);
      const expected = ref.sets[setIndex]![slot]!;
      let r = reads[i]!;
      let state: DriveFormatState = 'online';
      if (r.state === 'blank') {
        // Whoever formats first wins; a loser re-reads and must find the same record.
        await writeFormatExclusive(path, recordFor(ref, setIndex, slot));
        r = await readFormat(path);
        if (!fresh) state = 'healing';
      }
      if (r.state === 'offline') return { path, setIndex, slot, driveId: expected, state: 'offline', error: r.error };
      if (r.state === 'blank') throw new FormatError('FormatMismatch', `drive ${path}: format vanished while starting`);
      const f = r.format;
      if (f.deploymentId !== ref.deploymentId) {
        throw new FormatError(
          'FormatMismatch',
          `drive ${path} belongs to deployment ${f.deploymentId}, not ${ref.deploymentId}; refusing to start`,
        );
      }
      if (f.driveId !== expected) {
        const at = where.get(f.driveId);
        throw new FormatError(
          'FormatMismatch',
          `drive ${path} is configured as set ${setIndex + 1} slot ${slot + 1}, but it is drive ${f.driveId}` +
            (at ? ` of set ${at[0] + 1} slot ${at[1] + 1}` : ' (unknown to this deployment)') +
            '; refusing to start: restore the original drive order',
        );
      }
      return { path, setIndex, slot, driveId: expected, state };
    }),
  );

  const sets = ref.sets.map((_, s) => drives.slice(s * setDriveCount, (s + 1) * setDriveCount));
  return { deploymentId: ref.deploymentId, setDriveCount, sets };
}
