import { randomUUID } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { CairnError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { encryptedSize } from '../../crypto/package-format.js';
import type { ShardReader, ShardWriter } from '../../erasure/types.js';
import { shardFileSize } from '../../erasure/shard-format.js';
import type { Drive } from '../drive.js';
import { createErasureReader, createErasureWriter, getCodec, MemoryShardReader } from '../erasure-api.js';
import { slotsByShard, type ErasureSet } from '../erasure-set.js';
import { ObjectLayerError } from '../errors.js';
import { encodeInlineShards } from '../inline-shards.js';
import { compareVersions, decodeObjectRecord, prepareObjectRecord, sameVersion, type ObjectPartRecord, type ObjectRecord } from '../metadata-record.js';
import { checkInlineShard, checkShardFile } from './shard-check.js';

/**
 * Heal one object in one erasure set: bring every online slot (or the
 * `targetSlots`) to the version the set's read quorum agrees on, with good
 * shards, or remove records that can never be read.
 *
 *  1. Every online drive's record is read; `set.resolve` names the quorum version.
 *  2. No quorum version: a version whose holders plus offline drives are below
 *     its k can never be read again (a delete or failed write that missed those
 *     drives): its records and data dirs go ('dangling-removed'). Anything that
 *     might still be readable when an offline drive returns is left ('failed').
 *  3. Otherwise each slot is checked: record missing or of another version;
 *     shard files missing, of the wrong size or header, or (deep) failing a
 *     bitrot hash; inline shards always verified (they are in memory).
 *  4. Shards are rebuilt part by part: the part is decoded from the good slots
 *     and re-encoded with writers only for the slots being healed. The codec is
 *     deterministic, so rebuilt files are byte-identical to the originals; SSE
 *     objects heal as ciphertext (never decrypted). Memory is the decoder's and
 *     encoder's few stripes, whatever the part size.
 *  5. Then the record is committed on the healed slots (data before record:
 *     invariant 3). A concurrent overwrite wins by version inside the commit
 *     ('superseded': our rebuilt data dir goes). A concurrent delete can leave
 *     our record on the one drive we healed (below k, invisible to reads): the
 *     next heal of that key (scanner) finds it dangling and removes it.
 */

export interface HealObjectResult {
  state: 'ok' | 'healed' | 'dangling-removed' | 'absent' | 'failed';
  slotsHealed: number[];
  bytesWritten: number;
  bytesVerified: number;
  error?: unknown;
  /** Slots in scope that are offline: the object is not at full redundancy until they return (state 'failed'). */
  offlineSlots?: number[];
}

export interface HealObjectOptions {
  deep: boolean;
  /** Heal only these slots (a drive rebuild); others are only read. Default: every slot. */
  targetSlots?: number[];
  signal?: AbortSignal;
  logger?: Logger;
  /**
   * A below-quorum record younger than this may be a write still committing on
   * the other drives: it is left alone ('failed', retried later). Default DANGLING_GRACE_MS.
   */
  danglingGraceMs?: number;
}

export const DANGLING_GRACE_MS = 30_000;

export type HealErrorCode =
  | 'BelowReadQuorum' // no version readable now, but one might be when offline drives return
  | 'TooRecent' // a below-quorum record young enough to be a write in flight
  | 'DriveOffline' // a slot in scope is offline
  | 'SlotFailed'; // a slot could not be healed (I/O error, unreadable record, lost race)

export class HealError extends CairnError<HealErrorCode> {}

type SlotRead =
  | { kind: 'offline'; error?: unknown }
  | { kind: 'missing' }
  | { kind: 'unreadable'; error: unknown }
  | { kind: 'record'; rec: ObjectRecord };

/** Ciphertext size of an SSE part; the shards hold exactly that many bytes. */
export function storedSizeOf(part: ObjectPartRecord): number {
  return part.sse ? encryptedSize(part.size, part.sse.packageLog2) : part.size;
}

function readSlots(set: ErasureSet, bucket: string, key: string): SlotRead[] {
  // Present and (for a health-checked drive) online now.
  const online = new Set<Drive>(set.onlineDrives());
  return set.drives.map((d): SlotRead => {
    if (!d || !online.has(d)) return { kind: 'offline' };
    let raw: Buffer | undefined;
    try {
      raw = d.getObjectRaw(bucket, key);
    } catch (error) {
      // The drive failed to answer: as good as offline for this decision.
      return { kind: 'offline', error };
    }
    if (!raw) return { kind: 'missing' };
    try {
      return { kind: 'record', rec: decodeObjectRecord(raw) };
    } catch (error) {
      return { kind: 'unreadable', error };
    }
  });
}

export async function healObject(
  set: ErasureSet,
  bucket: string,
  key: string,
  o: HealObjectOptions,
): Promise<HealObjectResult> {
  const result: HealObjectResult = { state: 'ok', slotsHealed: [], bytesWritten: 0, bytesVerified: 0 };
  try {
    o.signal?.throwIfAborted();
    const slots = readSlots(set, bucket, key);
    let quorumRec: ObjectRecord | undefined;
    try {
      quorumRec = set.resolve(bucket, key)?.rec;
    } catch (err) {
      if (!(err instanceof ObjectLayerError && err.code === 'ReadQuorumNotReached')) throw err;
    }
    if (!quorumRec) return await removeUnreadable(set, bucket, key, slots, o, result);
    return await healVersion(set, bucket, key, quorumRec, slots, o, result);
  } catch (error) {
    o.logger?.warn({ err: error, bucket, key, set: set.index }, 'heal failed');
    return { ...result, state: 'failed', error };
  }
}

// ---- no readable version: remove what can never be read --------------------

/** True when this version could never reach its read quorum, even with every offline drive back. */
function hopeless(rec: ObjectRecord, slots: SlotRead[]): boolean {
  const holders = slots.filter((s) => s.kind === 'record' && sameVersion(s.rec, rec)).length;
  // Offline and unreadable drives might hold it: count them as holders.
  const unknown = slots.filter((s) => s.kind === 'offline' || s.kind === 'unreadable').length;
  return holders + unknown < rec.layout.dataShards;
}

const oldEnough = (rec: ObjectRecord, o: HealObjectOptions) => Date.now() - rec.modTime >= (o.danglingGraceMs ?? DANGLING_GRACE_MS);

async function removeUnreadable(
  set: ErasureSet,
  bucket: string,
  key: string,
  slots: SlotRead[],
  o: HealObjectOptions,
  result: HealObjectResult,
): Promise<HealObjectResult> {
  const held = slots.flatMap((s, slot) => (s.kind === 'record' ? [{ slot, rec: s.rec }] : []));
  if (held.length === 0) {
    if (slots.some((s) => s.kind === 'unreadable')) return { ...result, state: 'failed', error: new HealError('SlotFailed', 'an unreadable record is in the way') };
    return { ...result, state: 'absent' };
  }
  let kept: HealError | undefined;
  let removed = 0;
  for (const { slot, rec } of held) {
    if (!hopeless(rec, slots)) {
      kept ??= new HealError('BelowReadQuorum', `version ${rec.versionId}@${rec.modTime} is below read quorum; offline drives may hold the rest`);
      continue;
    }
    if (!oldEnough(rec, o)) {
      kept ??= new HealError('TooRecent', `version ${rec.versionId}@${rec.modTime} is below read quorum but may be a write in flight`);
      continue;
    }
    if (await removeRecord(set, bucket, key, slot, rec, o)) removed++;
  }
  if (kept) return { ...result, state: 'failed', error: kept };
  return { ...result, state: removed > 0 ? 'dangling-removed' : 'ok' };
}

/** Remove exactly this version's record on one slot, then its data dir unless something still uses it. */
async function removeRecord(set: ErasureSet, bucket: string, key: string, slot: number, rec: ObjectRecord, o: HealObjectOptions): Promise<boolean> {
  const d = set.drives[slot]!;
  const gone = await d.deleteObject(bucket, key, rec);
  if (!gone) return false;
  o.logger?.info({ bucket, key, set: set.index, slot, versionId: rec.versionId, modTime: rec.modTime }, 'removed dangling record');
  if (!gone.inline && !dataDirInUse(set, d, bucket, key, gone.dataDir)) await d.removeDataDir(gone.dataDir);
  return true;
}

/**
 * Whether `dataDir` on drive `d` is still referenced: by the drive's record of
 * the key, or by an upload of the key (a multipart completion uses its
 * upload's data dir; if the completion missed quorum the upload lives on, on
 * some drives, and may be completed again, so its part files must stay).
 * Unknown (a read failed) counts as referenced: the orphan sweep decides later.
 */
function dataDirInUse(set: ErasureSet, d: Drive, bucket: string, key: string, dataDir: string): boolean {
  try {
    if (d.getObject(bucket, key)?.dataDir === dataDir) return true;
    for (const x of set.onlineDrives()) {
      for (const u of x.scanUploads(bucket, Buffer.alloc(0), key)) {
        if (u.key !== key) break;
        if (u.upload.dataDir === dataDir) return true;
      }
    }
    return false;
  } catch {
    return true;
  }
}

// ---- a readable version: bring the slots to it -------------------------------

interface SlotPlan {
  slot: number;
  drive: Drive;
  /** The slot holds no record of this version (missing or older): commit it after the data. */
  needsRecord: boolean;
  /** Per part: the shard file is bad or absent here (non-inline objects). */
  badParts: boolean[];
  /** No part file of this version exists here: rebuild the whole data dir in one rename. */
  noDataDir: boolean;
  /** The slot's inline shard is bad (inline objects). */
  badInline: boolean;
  /** Inline objects: the slot's shard bytes as rebuilt, stored with its record. */
  newInline?: Buffer;
  failed?: unknown;
}

async function healVersion(
  set: ErasureSet,
  bucket: string,
  key: string,
  rec0: ObjectRecord,
  slots: SlotRead[],
  o: HealObjectOptions,
  result: HealObjectResult,
): Promise<HealObjectResult> {
  const { inline: _inline, ...rec } = rec0;
  const layout = rec.layout;
  const shardOf = layout.distribution;
  const inScope = (slot: number) => !o.targetSlots || o.targetSlots.includes(slot);
  const isInline = slots.some((s) => s.kind === 'record' && sameVersion(s.rec, rec) && s.rec.inline !== undefined);
  const offline: number[] = [];
  const errors: unknown[] = [];

  // Which slots agree, which need the record, which are blocked by a newer record.
  const agree: boolean[] = slots.map((s) => s.kind === 'record' && sameVersion(s.rec, rec));
  const plans: SlotPlan[] = [];
  for (let slot = 0; slot < set.n; slot++) {
    const s = slots[slot]!;
    if (!inScope(slot)) continue;
    if (s.kind === 'offline') {
      offline.push(slot);
      continue;
    }
    if (s.kind === 'unreadable') {
      errors.push(new HealError('SlotFailed', `slot ${slot}: unreadable record`, { cause: s.error }));
      continue;
    }
    if (s.kind === 'record' && compareVersions(s.rec, rec) > 0) {
      // A newer version than the quorum one: a write in flight, or the leftover of a failed
      // one. Only a hopeless old leftover may go; otherwise it is not ours to replace.
      // Either way the slot is not at the quorum version yet: 'failed', so the hint stays queued.
      if (!hopeless(s.rec, slots) || !oldEnough(s.rec, o)) {
        const code = hopeless(s.rec, slots) ? 'TooRecent' : 'BelowReadQuorum';
        errors.push(new HealError(code, `slot ${slot} holds a newer version below read quorum (${s.rec.versionId}@${s.rec.modTime})`));
        continue;
      }
      if (!(await removeRecord(set, bucket, key, slot, s.rec, o))) continue;
    }
    const parts = rec.parts.map(() => false);
    plans.push({ slot, drive: set.drives[slot]!, needsRecord: !agree[slot], badParts: parts, noDataDir: false, badInline: false });
  }

  // Check the data of every slot in scope, and of the sources (cheaply) when some slots are out of scope.
  const sourcesOk: boolean[][] = slots.map(() => rec.parts.map(() => false));
  if (isInline) {
    const stored = rec.parts.length === 1 ? storedSizeOf(rec.parts[0]!) : -1;
    if (stored < 0) throw new HealError('SlotFailed', 'an inline object with more than one part');
    for (let slot = 0; slot < set.n; slot++) {
      const s = slots[slot]!;
      const bytes = s.kind === 'record' && agree[slot] ? s.rec.inline : undefined;
      const ok = checkInlineShard(bytes, layout, shardOf[slot]!, stored) === undefined;
      sourcesOk[slot]![0] = ok;
      if (o.deep && bytes) result.bytesVerified += bytes.length;
      const plan = plans.find((p) => p.slot === slot);
      if (plan && !ok) plan.badInline = true;
      if (plan && !ok && bytes) o.logger?.warn({ bucket, key, slot }, 'bad inline shard');
    }
  } else {
    await Promise.all(
      slots.map(async (s, slot) => {
        const plan = plans.find((p) => p.slot === slot);
        // Out-of-scope slots are only sources: worth checking only when they agree.
        if (!plan && !(agree[slot] && s.kind === 'record')) return;
        const d = set.drives[slot];
        if (!d) return;
        let present = 0;
        for (let p = 0; p < rec.parts.length; p++) {
          o.signal?.throwIfAborted();
          const part = rec.parts[p]!;
          const c = await checkShardFile(d, rec.dataDir, part.file, layout, shardOf[slot]!, storedSizeOf(part), o.deep && !!plan, o.signal);
          result.bytesVerified += c.bytesVerified;
          if (c.ok || c.problem !== 'missing') present++;
          // A file that looks right on a slot without the record is of this version (data dirs are unique per write).
          sourcesOk[slot]![p] = c.ok;
          if (plan && !c.ok) plan.badParts[p] = true;
          if (!c.ok && c.problem !== 'missing') o.logger?.warn({ bucket, key, slot, part: part.number, problem: c.problem, err: c.error }, 'bad shard file');
        }
        if (plan) plan.noDataDir = present === 0;
      }),
    );
  }

  const todo = plans.filter((p) => p.needsRecord || p.badInline || p.badParts.some(Boolean));
  if (todo.length > 0) {
    if (isInline) await healInline(set, rec, slots, agree, sourcesOk, todo, result);
    else {
      let troubled = await healShardFiles(set, bucket, key, rec, sourcesOk, todo, o, result);
      // A source whose block failed its hash while we read it (normal mode reads no blocks
      // beforehand) is rebuilt in a second pass, from the others.
      const again: SlotPlan[] = [];
      for (const [slot, parts] of troubled) {
        const plan = plans.find((p) => p.slot === slot);
        if (!plan || plan.failed) continue;
        for (const pi of parts) {
          plan.badParts[pi] = true;
          sourcesOk[slot]![pi] = false;
        }
        plan.noDataDir = false;
        again.push(plan);
        if (!todo.includes(plan)) todo.push(plan);
      }
      if (again.length > 0) troubled = await healShardFiles(set, bucket, key, rec, sourcesOk, again, o, result);
      // Still bad, or out of scope: for a later heal.
      if (troubled.size > 0) set.queueHeal(bucket, key, 'read');
    }
    await commitRecords(set, bucket, key, rec, todo, o, result);
    for (const p of todo) if (p.failed) errors.push(new HealError('SlotFailed', `slot ${p.slot}: ${String(p.failed)}`, { cause: p.failed }));
  }
  if (errors.length > 0) return { ...result, state: 'failed', error: errors[0], ...(offline.length ? { offlineSlots: offline } : {}) };
  if (offline.length > 0) {
    return {
      ...result,
      state: 'failed',
      offlineSlots: offline,
      error: new HealError('DriveOffline', `slots ${offline.join(', ')} are offline; the object stays below full redundancy until they return`),
    };
  }
  return { ...result, state: result.slotsHealed.length > 0 ? 'healed' : 'ok' };
}

/** Inline objects are at most one stripe: decode the body from the good slots, encode the shards again. */
async function healInline(
  set: ErasureSet,
  rec: ObjectRecord,
  slots: SlotRead[],
  agree: boolean[],
  sourcesOk: boolean[][],
  todo: SlotPlan[],
  result: HealObjectResult,
): Promise<void> {
  const layout = rec.layout;
  const stored = storedSizeOf(rec.parts[0]!);
  const needBytes = todo.filter((p) => p.badInline);
  if (needBytes.length === 0) return;
  const readers = slotsByShard(layout).map((slot): ShardReader | null => {
    const s = slots[slot]!;
    return agree[slot] && sourcesOk[slot]![0] && s.kind === 'record' && s.rec.inline ? new MemoryShardReader(s.rec.inline) : null;
  });
  const good = readers.filter(Boolean).length;
  if (good < layout.dataShards) {
    for (const p of needBytes) p.failed = new HealError('SlotFailed', `only ${good} good inline shards, need ${layout.dataShards}`);
    return;
  }
  const codec = getCodec(layout.codec);
  const chunks: Buffer[] = [];
  for await (const c of createErasureReader(layout, codec, readers, stored, { start: 0, end: stored - 1 })) chunks.push(c as Buffer);
  const byShard = await encodeInlineShards(layout, codec, Buffer.concat(chunks));
  // The record (with these bytes) is what heals a slot: committed where the version is missing,
  // replaced in place where the version is there with bad bytes (commitRecords).
  for (const p of needBytes) p.newInline = byShard[layout.distribution[p.slot]!]!;
}

/**
 * Rebuild every bad part file on the slots in `todo`, part by part: decode
 * from every slot whose file checked good (data shards first, the decoder
 * falls back to parity on a bad block), encode to the bad slots only.
 */
async function healShardFiles(
  set: ErasureSet,
  bucket: string,
  key: string,
  rec: ObjectRecord,
  sourcesOk: boolean[][],
  todo: SlotPlan[],
  o: HealObjectOptions,
  result: HealObjectResult,
): Promise<Map<number, Set<number>>> {
  const layout = rec.layout;
  const k = layout.dataShards;
  const codec = getCodec(layout.codec);
  const slotOf = slotsByShard(layout);
  // Slots rebuilding the whole data dir write every part into one tmp dir and rename it once.
  const wholeTmp = new Map<number, string>();
  for (const p of todo) if (p.noDataDir && p.badParts.some(Boolean)) wholeTmp.set(p.slot, `heal-${randomUUID()}`);
  /** Source slots whose shard failed while read (slot → part indices). */
  const troubled = new Map<number, Set<number>>();
  try {
    for (let pi = 0; pi < rec.parts.length; pi++) {
      o.signal?.throwIfAborted();
      const part = rec.parts[pi]!;
      const targets = todo.filter((p) => !p.failed && p.badParts[pi]);
      if (targets.length === 0) continue;
      const stored = storedSizeOf(part);
      // Every slot whose file of this part checked good (a target's did not), agreeing or not:
      // data dirs are unique per write, so a good file in this dir is of this version.
      const usable = slotOf.filter((slot) => sourcesOk[slot]![pi] && set.drives[slot]);
      if (usable.length < k) {
        for (const t of targets) t.failed = new HealError('SlotFailed', `part ${part.number}: only ${usable.length} good shards, need ${k}`);
        continue;
      }
      const opened = await Promise.all(
        slotOf.map((slot) =>
          usable.includes(slot) ? set.drives[slot]!.openShardReader(rec.dataDir, part.file).catch(() => null) : Promise.resolve(null),
        ),
      );
      const perFileTmp = new Map<number, string>();
      const writers: Array<ShardWriter | null> = slotOf.map((slot) => {
        const t = targets.find((p) => p.slot === slot);
        if (!t) return null;
        const tmpId = wholeTmp.get(slot) ?? `heal-${randomUUID()}`;
        if (!wholeTmp.has(slot)) perFileTmp.set(slot, tmpId);
        return t.drive.createShardWriter(tmpId, part.file);
      });
      try {
        const reader = createErasureReader(layout, codec, opened, stored, { start: 0, end: stored - 1 }, {
          ...(o.signal ? { signal: o.signal } : {}),
          onShardError: (shard, err) => {
            const slot = slotOf[shard]!;
            if (!troubled.has(slot)) troubled.set(slot, new Set());
            troubled.get(slot)!.add(pi);
            o.logger?.warn({ err, bucket, key, slot: slotOf[shard], part: part.number }, 'source shard failed during heal');
          },
        });
        const writer = createErasureWriter(layout, codec, writers, { writeQuorum: 1, ...(o.signal ? { signal: o.signal } : {}) });
        await pipeline(reader, writer);
        const failedSlots = new Set(writer.result().failedShards.map((shard) => slotOf[shard]!));
        for (const t of targets) {
          if (failedSlots.has(t.slot)) {
            t.failed = new HealError('SlotFailed', `part ${part.number}: writing the shard failed`);
            continue;
          }
          t.badParts[pi] = false;
          result.bytesWritten += shardFileSize(layout, stored);
          const tmpId = perFileTmp.get(t.slot);
          if (tmpId) {
            await t.drive.commitTmp(tmpId, rec.dataDir, part.file).catch((err: unknown) => {
              t.failed = err;
              t.badParts[pi] = true;
            });
          }
        }
      } catch (err) {
        for (const t of targets) t.failed ??= err;
      } finally {
        await Promise.all(opened.map((r) => r?.close().catch(() => {})));
        for (const [slot, tmpId] of perFileTmp) {
          const t = targets.find((p) => p.slot === slot);
          if (t?.failed) await t.drive.removeTmp(tmpId).catch(() => {});
        }
      }
    }
    for (const [slot, tmpId] of wholeTmp) {
      const t = todo.find((p) => p.slot === slot)!;
      if (t.failed) continue;
      await t.drive.commitTmp(tmpId, rec.dataDir).catch((err: unknown) => (t.failed = err));
    }
  } finally {
    for (const [slot, tmpId] of wholeTmp) await set.drives[slot]?.removeTmp(tmpId).catch(() => {});
  }
  return troubled;
}

/** Commit the record where it is missing (after the data), and tidy up after lost races. */
async function commitRecords(
  set: ErasureSet,
  bucket: string,
  key: string,
  rec: ObjectRecord,
  todo: SlotPlan[],
  o: HealObjectOptions,
  result: HealObjectResult,
): Promise<void> {
  const prepared = prepareObjectRecord(rec);
  await Promise.all(
    todo.map(async (p) => {
      if (p.failed) return;
      try {
        if (!p.needsRecord && !p.newInline) {
          result.slotsHealed.push(p.slot);
          // Data only: if a newer write replaced the record meanwhile, the files we wrote are nobody's.
          const cur = p.drive.getObject(bucket, key);
          if (!cur || !sameVersion(cur, rec)) await removeIfUnused(set, bucket, key, p, rec);
          return;
        }
        if (p.newInline && !p.needsRecord) {
          // Same version, bad inline bytes: a commit would keep the (equal) version already
          // there, so replace it in place, only if it is still that version (one transaction).
          await p.drive.restoreObject(bucket, key, rec, { ...rec, inline: p.newInline });
          const now = p.drive.getObject(bucket, key);
          if (now && sameVersion(now, rec) && now.inline?.equals(p.newInline)) {
            result.bytesWritten += p.newInline.length;
            result.slotsHealed.push(p.slot);
          } else if (!now || !sameVersion(now, rec)) {
            o.logger?.info({ bucket, key, slot: p.slot }, 'heal superseded by a newer write');
          } else p.failed = new HealError('SlotFailed', 'inline shard replacement did not stick');
          return;
        }
        const r = await p.drive.commitObject(bucket, key, rec, { encoded: { value: prepared.value(p.newInline), entry: prepared.entry } });
        if (p.newInline) result.bytesWritten += p.newInline.length;
        if (r.status === 'committed') {
          result.slotsHealed.push(p.slot);
          const prev = r.previous;
          if (prev && prev.dataDir !== rec.dataDir && !prev.inline && !dataDirInUse(set, p.drive, bucket, key, prev.dataDir)) {
            await p.drive.removeDataDir(prev.dataDir).catch(() => {});
          }
        } else if (r.status === 'superseded') {
          // A newer write won on this drive while we healed: our version is history there.
          o.logger?.info({ bucket, key, slot: p.slot }, 'heal superseded by a newer write');
          await removeIfUnused(set, bucket, key, p, rec);
        } else {
          p.failed = new HealError('SlotFailed', `commit answered ${r.status}`);
        }
      } catch (err) {
        p.failed = err;
      }
    }),
  );
  result.slotsHealed.sort((a, b) => a - b);
}

/** Our rebuilt data dir on a slot where another version won: remove it unless something uses it. */
async function removeIfUnused(set: ErasureSet, bucket: string, key: string, p: SlotPlan, rec: ObjectRecord): Promise<void> {
  if (p.newInline) return;
  if (!dataDirInUse(set, p.drive, bucket, key, rec.dataDir)) await p.drive.removeDataDir(rec.dataDir).catch(() => {});
}
