import { mkdir, rename, rm } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CheckedDrive, type DriveStateChange } from './checked-drive.js';
import type { Drive } from './drive.js';
import { loadFormats } from './format.js';
import { openObjectLayer } from './index.js';
import { LocalDrive } from './local-drive.js';
import type { ErasureObjectLayer } from './object-layer-impl.js';
import { bodyOf, pattern, readAll, tempDrives, until } from './test-support.js';

/**
 * The health wrapper against real LocalDrives, with a test-only fault injector
 * between it and the drive: calls that hang forever or fail with EIO on demand.
 */

const SYNC_METHODS = new Set([
  'getBucket', 'listBuckets', 'bucketHasContent', 'getObject', 'getObjectRaw', 'getModTime', 'getListEntry',
  'scanObjects', 'getUpload', 'scanUploads', 'listParts', 'createShardWriter', 'healQueue', 'healQueueSize', 'objectCount',
]);
const PASS_THROUGH = new Set(['close', 'abort', 'path']);

/** What a FaultyDrive does now: every (async) call hangs, fails with EIO, or works. */
class Faults {
  mode: 'none' | 'hang' | 'eio' = 'none';
  /** Per method: a replacement for the next `times` calls. */
  readonly overrides = new Map<string, { times: number; fn: (...args: unknown[]) => unknown }>();
  /** Calls hanging now; release() fails them, as a disk that answers again fails what it dropped. */
  readonly hanging: Array<(err: Error) => void> = [];
  release(): void {
    this.mode = 'none';
    for (const fail of this.hanging.splice(0)) fail(eio('released'));
  }
}

function eio(name: string): Error {
  return Object.assign(new Error(`EIO: i/o error, ${name}`), { code: 'EIO' });
}

/** A proxy of `target` (a drive, or a shard reader/writer it handed out) obeying `f`. */
function faulty<T extends object>(target: T, f: Faults): T {
  return new Proxy(target, {
    get(t, prop, receiver) {
      const v = Reflect.get(t, prop, receiver) as unknown;
      const name = String(prop);
      if (typeof v !== 'function' || PASS_THROUGH.has(name)) return v;
      return (...args: unknown[]) => {
        const o = f.overrides.get(name);
        if (o && o.times > 0) {
          o.times--;
          return o.fn(...args);
        }
        const sync = SYNC_METHODS.has(name);
        if (f.mode === 'eio') {
          if (sync && name !== 'createShardWriter') throw eio(name);
          if (!sync) return Promise.reject(eio(name));
        }
        if (f.mode === 'hang' && !sync) return new Promise((_, reject) => f.hanging.push(reject));
        const out = (v as (...a: unknown[]) => unknown).apply(t, args);
        if (name === 'createShardWriter') return faulty(out as object, f);
        if (name === 'openShardReader') return (out as Promise<object>).then((r) => faulty(r, f));
        return out;
      };
    },
  });
}

const bucketRec = (name: string) => ({ name, created: Date.now() });

let ctx: Awaited<ReturnType<typeof tempDrives>>;
let driveIds: string[];
const toClose: Array<{ close(): Promise<void> }> = [];

beforeEach(async () => {
  ctx = await tempDrives(4);
  const f = await loadFormats(ctx.drives);
  driveIds = f.sets[0]!.map((s) => s.driveId);
});
afterEach(async () => {
  for (const d of toClose.splice(0)) await d.close().catch(() => {});
  await ctx.cleanup();
});

async function checked(slot: number, o: { faults?: Faults; timeoutMs?: number; probeMs?: number } = {}) {
  const path = ctx.drives[slot]!;
  const local = await LocalDrive.open(path);
  const inner: Drive = o.faults ? faulty(local, o.faults) : local;
  const d = new CheckedDrive(path, inner, {
    metadataTimeoutMs: o.timeoutMs ?? 200,
    dataTimeoutMs: o.timeoutMs ?? 200,
    probeIntervalMs: o.probeMs ?? 60_000,
    driveId: driveIds[slot]!,
    reopen: (p) => LocalDrive.open(p),
  });
  toClose.push(d);
  const changes: DriveStateChange[] = [];
  d.onStateChange((c) => changes.push(c));
  return { d, changes, path };
}

describe('CheckedDrive', () => {
  it('a hanging call times out with DriveTimeout, takes the drive offline, and never blocks the event loop', async () => {
    const faults = new Faults();
    const { d, changes } = await checked(0, { faults, timeoutMs: 200 });
    expect(await d.createBucket(bucketRec('a'))).toBe('created');
    faults.mode = 'hang';
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 5);
    try {
      await expect(d.createBucket(bucketRec('b'))).rejects.toMatchObject({ code: 'DriveTimeout' });
    } finally {
      clearInterval(ticker);
    }
    expect(ticks).toBeGreaterThanOrEqual(5); // timers kept firing through the hang
    expect(d.state).toBe('offline');
    expect(d.timeouts).toBe(1);
    expect(d.offlineSince).toBeTypeOf('number');
    expect(changes.map((c) => [c.state, c.reason])).toEqual([['offline', 'timeout']]);
    // Offline: sync and async calls fail at once, without reaching the inner drive.
    expect(() => d.getBucket('a')).toThrow(expect.objectContaining({ code: 'DriveOffline' }));
    await expect(d.deleteBucket('a')).rejects.toMatchObject({ code: 'DriveOffline' });
    // A probe while the drive still hangs fails (its statfs does not answer); once it answers, it rejoins.
    expect(await d.probe()).toBe(false);
    faults.release();
    await new Promise((r) => setImmediate(r));
    expect(await d.probe()).toBe(true);
    expect(d.state).toBe('online');
    expect(d.getBucket('a')?.name).toBe('a');
    expect(changes.map((c) => [c.state, c.reason]).at(-1)).toEqual(['online', 'probe-ok']);
  });

  it('a slow call on a drive that keeps completing other calls gets more time and the drive stays online', async () => {
    const faults = new Faults();
    // A generous timeout, so a loaded CI machine's event-loop stalls never look like a silent drive.
    const { d, changes } = await checked(0, { faults, timeoutMs: 1000 });
    // One call that answers after 2.5 timeouts (an fsync behind a flush), while other calls keep completing.
    faults.overrides.set('createBucket', {
      times: 1,
      fn: () => new Promise((resolve) => setTimeout(() => resolve('created'), 2500)),
    });
    const slow = d.createBucket(bucketRec('slow'));
    const busy = setInterval(() => void d.diskInfo().catch(() => {}), 50);
    try {
      expect(await slow).toBe('created');
    } finally {
      clearInterval(busy);
    }
    expect(d.state).toBe('online');
    expect(d.timeouts).toBe(0);
    expect(changes).toEqual([]);
    // The same slow call on a drive that completes nothing meanwhile is a hung drive: offline.
    faults.overrides.set('createBucket', { times: 1, fn: () => new Promise(() => {}) });
    await expect(d.createBucket(bucketRec('hung'))).rejects.toMatchObject({ code: 'DriveTimeout' });
    expect(d.state).toBe('offline');
  });

  it('EIO takes the drive offline; a missing shard file (ENOENT) does not', async () => {
    const faults = new Faults();
    const { d, changes } = await checked(0, { faults });
    await expect(d.openShardReader('0123456789abcdef', 'part.1')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(d.state).toBe('online');
    expect(d.errors).toBe(1);
    faults.mode = 'eio';
    await expect(d.commitTmp('x', '0123456789abcdef')).rejects.toMatchObject({ code: 'EIO' });
    expect(d.state).toBe('offline');
    expect(changes.map((c) => c.reason)).toEqual(['io-error']);
    expect((d.lastError as Error).message).toMatch(/EIO/);
    faults.mode = 'none';
    expect(await d.probe()).toBe(true);
  });

  it('shard writers and readers handed out are timed too', async () => {
    const faults = new Faults();
    const { d } = await checked(0, { faults });
    const w = d.createShardWriter('t1', 'part.1');
    await w.write(Buffer.from('hello'));
    faults.mode = 'hang';
    await expect(w.finish()).rejects.toMatchObject({ code: 'DriveTimeout' });
    expect(d.state).toBe('offline');
    await expect(w.write(Buffer.from('more'))).rejects.toMatchObject({ code: 'DriveOffline' });
    await w.abort();
  });

  it('a drive directory renamed away goes offline and rejoins when it is put back', async () => {
    const { d, changes, path } = await checked(1, { probeMs: 50 });
    await d.createBucket(bucketRec('kept'));
    await rename(path, `${path}.away`);
    await until(() => d.state === 'offline', 10_000, 'offline');
    expect(changes[0]).toMatchObject({ state: 'offline', reason: 'root-missing' });
    expect(() => d.getObjectRaw('kept', 'k')).toThrow(expect.objectContaining({ code: 'DriveOffline' }));
    await new Promise((r) => setTimeout(r, 200)); // a few failed probes: still offline, nothing created at the path
    expect(d.state).toBe('offline');
    await rename(`${path}.away`, path);
    await until(() => d.state === 'online', 10_000, 'online');
    expect(d.getBucket('kept')?.name).toBe('kept');
  });

  it('a blank drive at the path is reported replaced and stays offline; the original rejoins', async () => {
    const { d, changes, path } = await checked(2, { probeMs: 50 });
    await rename(path, `${path}.away`);
    await mkdir(path);
    await until(() => changes.some((c) => c.reason === 'replaced'), 10_000, 'replaced');
    await new Promise((r) => setTimeout(r, 200));
    expect(d.state).toBe('offline');
    expect(changes.filter((c) => c.reason === 'replaced')).toHaveLength(1); // reported once, not per probe
    await rm(path, { recursive: true });
    await rename(`${path}.away`, path);
    await until(() => d.state === 'online', 10_000, 'online');
  });

  it('a drive formatted for another slot is reported replaced', async () => {
    const path = ctx.drives[3]!;
    const d = new CheckedDrive(path, undefined, { probeIntervalMs: 60_000, driveId: driveIds[0]!, reopen: (p) => LocalDrive.open(p) });
    toClose.push(d);
    const changes: DriveStateChange[] = [];
    d.onStateChange((c) => changes.push(c));
    expect(await d.probe()).toBe(false);
    expect(changes.map((c) => c.reason)).toEqual(['replaced']);
  });

  it('a drive that was not there at start is opened by its probe and joins', async () => {
    const path = ctx.drives[3]!;
    await rename(path, `${path}.away`);
    const d = new CheckedDrive(path, undefined, { probeIntervalMs: 50, driveId: driveIds[3]!, reopen: (p) => LocalDrive.open(p) });
    toClose.push(d);
    expect(d.state).toBe('offline');
    expect(() => d.listBuckets()).toThrow(expect.objectContaining({ code: 'DriveOffline' }));
    await rename(`${path}.away`, path);
    await until(() => d.state === 'online', 10_000, 'online');
    expect(await d.createBucket(bucketRec('late'))).toBe('created');
  });
});

describe('an erasure set with a failing drive (EC 2+2)', () => {
  let ol: ErasureObjectLayer;
  beforeEach(async () => {
    ol = (await openObjectLayer({
      drives: ctx.drives,
      standardParity: 2,
      blockSize: 64 * 1024,
      inlineThreshold: 1024,
      driveTimeoutMs: 300,
      driveProbeIntervalMs: 60_000,
    })) as ErasureObjectLayer;
    toClose.unshift(ol);
    await ol.makeBucket('bkt');
  });

  /** Put a health-checked drive over a fault injector into `slot`. */
  async function swapIn(slot: number, faults: Faults): Promise<CheckedDrive> {
    const path = ctx.drives[slot]!;
    const d = new CheckedDrive(path, faulty(await LocalDrive.open(path), faults), {
      metadataTimeoutMs: 300,
      dataTimeoutMs: 300,
      probeIntervalMs: 60_000,
      driveId: driveIds[slot]!,
    });
    toClose.push(d);
    ol.sets[0]!.drives[slot] = d;
    return d;
  }

  it('PUT and GET succeed while one drive hangs; the drive shows offline', async () => {
    const faults = new Faults();
    const d = await swapIn(2, faults);
    faults.mode = 'hang';
    const big = pattern(300 * 1024, 7);
    await ol.putObject('bkt', 'big', bodyOf(big), { size: big.length }); // shard files: writes hang on slot 2
    expect(d.state).toBe('offline');
    expect(ol.topology().sets[0]!.drives.map((x) => x.state)).toEqual(['online', 'online', 'offline', 'online']);
    const small = Buffer.from('small object');
    await ol.putObject('bkt', 'small', bodyOf(small), { size: small.length });
    // Buffer.equals: a deep toEqual of 300 KiB costs seconds.
    expect((await readAll((await ol.getObject('bkt', 'big')).stream)).equals(big)).toBe(true);
    expect(await readAll((await ol.getObject('bkt', 'small')).stream)).toEqual(small);
    expect((await ol.listObjects('bkt')).objects.map((o) => o.key)).toEqual(['big', 'small']);
    expect(ol.sets[0]!.isOnline(2)).toBe(false);
  });

  it('a drive hanging on reads is timed out and the object reconstructed', async () => {
    // Swapped in before the PUT, so the record is read back through the same LMDB handle.
    const faults = new Faults();
    const d = await swapIn(0, faults);
    const big = pattern(200 * 1024, 3);
    await ol.putObject('bkt', 'o', bodyOf(big), { size: big.length });
    expect(d.getObjectRaw('bkt', 'o')).toBeDefined();
    faults.mode = 'hang';
    expect((await readAll((await ol.getObject('bkt', 'o')).stream)).equals(big)).toBe(true);
    expect(d.state).toBe('offline');
  });

  it('EIO on commits takes the drive offline and the PUT still succeeds', async () => {
    const faults = new Faults();
    const d = await swapIn(1, faults);
    faults.mode = 'eio';
    const b = Buffer.from('x'.repeat(100));
    await ol.putObject('bkt', 'k', bodyOf(b), { size: b.length });
    expect(d.state).toBe('offline');
    expect((await ol.headObject('bkt', 'k')).size).toBe(100);
  });

  it('wired by openObjectLayer: a drive renamed away is reported to set listeners and topology, and rejoins', async () => {
    await ol.close();
    ol = (await openObjectLayer({ drives: ctx.drives, standardParity: 2, inlineThreshold: 1024, driveProbeIntervalMs: 50 })) as ErasureObjectLayer;
    toClose.unshift(ol);
    const set = ol.sets[0]!;
    const seen: string[] = [];
    set.onDriveStateChange((slot, c) => seen.push(`${slot}:${c.state}:${c.reason}`));
    const path = ctx.drives[3]!;
    await rename(path, `${path}.away`);
    await until(() => !set.isOnline(3), 10_000, 'offline');
    expect(ol.topology().sets[0]!.drives[3]!.state).toBe('offline');
    const body = pattern(100 * 1024, 5);
    await ol.putObject('bkt', 'during', bodyOf(body), { size: body.length });
    expect((await readAll((await ol.getObject('bkt', 'during')).stream)).equals(body)).toBe(true);
    await rename(`${path}.away`, path);
    await until(() => set.isOnline(3), 10_000, 'online');
    expect(seen).toEqual(['3:offline:root-missing', '3:online:probe-ok']);
    expect(ol.topology().sets[0]!.drives[3]).toMatchObject({ state: 'online', io: expect.objectContaining({ operations: expect.any(Number) }) });
  });

  it('GET rides out a concurrent overwrite landing between the only k readable drives', async () => {
    const set = ol.sets[0]!;
    const v1 = Buffer.from('version one');
    const v2 = Buffer.from('version two!');
    await ol.putObject('bkt', 'k', bodyOf(v1), { size: v1.length });
    const staleRaw = set.drives[3]!.getObjectRaw('bkt', 'k')!;
    await ol.putObject('bkt', 'k', bodyOf(v2), { size: v2.length });
    // Two drives gone: exactly k = 2 readable. Slot 3 answers with the old record once, as if
    // the overwrite had not committed there yet when the read came.
    const faults = new Faults();
    const d3 = faulty(set.drives[3]!, faults);
    set.drives[3] = d3;
    set.drives[0] = null;
    set.drives[1] = null;
    const staleOnce = () => faults.overrides.set('getObjectRaw', { times: 1, fn: () => staleRaw });
    staleOnce();
    expect(() => set.resolve('bkt', 'k', ol.setFor('bkt', 'k').distribution)).toThrow(
      expect.objectContaining({ code: 'ReadQuorumNotReached' }),
    );
    staleOnce();
    const got = await ol.getObject('bkt', 'k');
    expect(await readAll(got.stream)).toEqual(v2);
    staleOnce();
    expect((await ol.headObject('bkt', 'k')).size).toBe(v2.length);
  });
});
