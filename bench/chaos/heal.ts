/**
 * The end of a chaos run: how long Cairn takes to get back to full redundancy
 * once the faults are over, and whether it did.
 *
 * - healToFullRedundancy: asks the admin API for a deep heal sweep of
 *   everything (POST /cairn/admin/v1/heal?deep=true, signed as the root user)
 *   and polls GET /cairn/admin/v1/heal until that sweep is done, no drive
 *   rebuild runs and the heal queue is empty.
 * - recordsPerDrive: afterwards, with the server stopped, reads each drive's
 *   LMDB `objects` table directly (keys only: `bucket\0key`) and checks that
 *   every drive holds a record of every object that survived. Reading the
 *   on-disk table is deliberate: the S3 API answers by quorum and cannot tell
 *   whether one drive lacks a record.
 */
import { join } from 'node:path';
import { open as openLmdb } from 'lmdb';
import type { ChaosS3 } from './s3.js';

export type HealOutcome =
  | { ok: true; seconds: number; sweepId: string; objectsHealed: number; bytesHealed: number; sweepObjectsScanned: number; sweepObjectsHealed: number }
  | { ok: false; error: string };

interface HealJson {
  active: boolean;
  queue: { length: number };
  rebuilds: unknown[];
  sweeps: Array<{ id: string; state: string; error?: string; objectsScanned: number; objectsHealed: number }>;
  totals: { objectsHealed: number; bytesHealed: number };
}

const HEAL_PATH = { bucket: 'cairn', key: 'admin/v1/heal' } as const;
/** `Code: Message` of an S3 error document, else the text's start. */
const s3Error = (text: string) => {
  const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
  return code ? `${code}: ${/<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? ''}` : text.slice(0, 200);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function healStatus(s3: ChaosS3): Promise<HealJson> {
  const r = await s3.request('GET', HEAL_PATH.bucket, HEAL_PATH.key, undefined, undefined, true);
  if (r.status !== 200) throw new Error(`GET heal status: ${r.status} ${s3Error(r.text)}`);
  return JSON.parse(r.text) as HealJson;
}

/** Deep sweep of everything, timed from the request until nothing is left to heal. Never throws. */
export async function healToFullRedundancy(s3: ChaosS3, log: (line: string) => void = () => {}, timeoutMs = 10 * 60_000, pollMs = 250): Promise<HealOutcome> {
  try {
    const started = performance.now();
    const post = await s3.request('POST', HEAL_PATH.bucket, HEAL_PATH.key, { deep: 'true' });
    if (post.status !== 202) return { ok: false, error: `heal request answered ${post.status} ${s3Error(post.text)}` };
    const sweepId = (JSON.parse(post.text) as { id: string }).id;
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      const h = await healStatus(s3);
      const sweep = h.sweeps.find((s) => s.id === sweepId);
      // What is still being waited for, each time it changes.
      const now = `sweep ${sweep?.state ?? 'not listed'} (${sweep?.objectsScanned ?? 0} checked), queue ${h.queue.length}, rebuilds ${h.rebuilds.length}`;
      if (now !== last) log(`heal: ${((performance.now() - started) / 1000).toFixed(1)} s: ${now}`);
      last = now;
      if (sweep?.state === 'failed') return { ok: false, error: `heal sweep failed: ${sweep.error ?? 'no reason given'}` };
      if (sweep?.state === 'done' && h.rebuilds.length === 0 && h.queue.length === 0) {
        return {
          ok: true,
          seconds: (performance.now() - started) / 1000,
          sweepId,
          // Totals since the healer started (the last restart, after the faults): queue drain and sweep together.
          objectsHealed: h.totals.objectsHealed,
          bytesHealed: h.totals.bytesHealed,
          sweepObjectsScanned: sweep.objectsScanned,
          sweepObjectsHealed: sweep.objectsHealed,
        };
      }
      if (Date.now() > deadline) return { ok: false, error: `not healed after ${timeoutMs / 1000} s (sweep ${sweep?.state ?? 'not listed'}, queue ${h.queue.length}, rebuilds ${h.rebuilds.length})` };
      await sleep(pollMs);
    }
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

export interface DriveRecords {
  drive: string;
  /** Records of `bucket` on the drive. */
  records: number;
  /** Surviving objects without a record on this drive (first few, and how many). */
  missing: string[];
  missingCount: number;
  /** Records of keys that are gone (a delete this drive missed and healing has not removed yet). */
  stale: number;
}

/** Keys of `bucket` in each drive's `objects` table; the server must be stopped. */
export async function recordsPerDrive(drives: string[], bucket: string, survivors: readonly string[]): Promise<DriveRecords[]> {
  const alive = new Set(survivors);
  const prefix = Buffer.from(`${bucket}\0`, 'utf8');
  const out: DriveRecords[] = [];
  for (const drive of drives) {
    const env = openLmdb({ path: join(drive, '.cairn', 'meta'), maxDbs: 8, readOnly: true });
    try {
      const objects = env.openDB({ name: 'objects', encoding: 'binary', keyEncoding: 'binary' });
      const held = new Set<string>();
      for (const k of objects.getKeys({ start: prefix })) {
        const key = k as unknown as Buffer;
        if (!key.subarray(0, prefix.length).equals(prefix)) break;
        held.add(key.subarray(prefix.length).toString('utf8'));
      }
      const missing = survivors.filter((k) => !held.has(k));
      out.push({
        drive,
        records: held.size,
        missing: missing.slice(0, 10),
        missingCount: missing.length,
        stale: [...held].filter((k) => !alive.has(k)).length,
      });
    } finally {
      await env.close();
    }
  }
  return out;
}
