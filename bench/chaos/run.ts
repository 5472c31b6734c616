/**
 * The chaos loop: start Cairn on a set of drives, run writers (PUT, multipart,
 * overwrite, delete) over a bounded key space, SIGKILL the whole process group
 * at a random moment (optionally failing drives meanwhile), restart on the same
 * drives and check every key against the model of what was acknowledged.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { repoRoot } from '../spawn.js';
import { contentHash, pickSize, prng } from './content.js';
import { corruptDrive, pidAlive, removeDrive, restoreDrive, tmpLeftovers } from './faults.js';
import { healToFullRedundancy, recordsPerDrive, type DriveRecords, type HealOutcome } from './heal.js';
import { describe, Model, type State } from './model.js';
import { ChaosS3 } from './s3.js';

export interface ChaosOptions {
  cycles: number;
  writers: number;
  maxSize: number;
  drives: number;
  mode: 'kill' | 'drives' | 'both';
  seed: number;
  durationPerCycleMs: number;
  /** Server worker processes (--workers). */
  workers: number;
  /** Keys in the key space; default 4 per writer. */
  keys?: number;
  /** Keep the drive directories (for inspection) instead of removing them at the end. */
  keepDrives?: boolean;
  /** After the last cycle, time a deep heal sweep back to full redundancy and check every drive's records (default true). */
  heal?: boolean;
  log?: (line: string) => void;
}

export interface ChaosResult {
  /** Verification GETs answered 503 (read quorum not reached at that moment) and retried. */
  unavailableRetries: number;
  opsAcked: number;
  objectsWritten: number;
  deletesAcked: number;
  multipartAcked: number;
  unknownOutcome: number;
  kills: number;
  drivesFailed: number;
  shardsCorrupted: number;
  bytesVerified: number;
  keysVerified: number;
  objectsLost: number;
  violations: string[];
  listingViolations: string[];
  tmpLeftovers: string[];
  seconds: number;
  root: string;
  /** Time to heal back to full redundancy after the last cycle; absent when not asked (heal: false). */
  heal?: HealOutcome;
  /** After healing, each drive's records against the objects that survived. */
  records?: DriveRecords[];
}

const PART = 5 * 1024 * 1024;
const CREDS = { accessKey: 'chaosadmin', secretKey: 'chaosadmin-secret', region: 'us-east-1' };
const BUCKET = 'chaos';

interface Server {
  proc: ChildProcess;
  endpoint: string;
  exited: Promise<void>;
}

async function startServer(drives: string[], workers: number): Promise<Server> {
  const cli = resolve(repoRoot(), 'bin/cairn.js');
  const args = [cli, 'server', '--address', '127.0.0.1:0', '--workers', String(workers), ...drives];
  // detached: the server leads its own process group, so one kill reaches the primary and its workers.
  const proc = spawn(process.execPath, args, {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CAIRN_ROOT_USER: CREDS.accessKey, CAIRN_ROOT_PASSWORD: CREDS.secretKey, CAIRN_LOG_LEVEL: 'error' },
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  let out = '';
  const endpoint = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`server did not start in 60 s:\n${out}`)), 60_000);
    const onData = (b: Buffer) => {
      out = (out + b.toString()).slice(-20_000);
      const m = /Cairn listening on (https?:\/\/\S+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        ok(m[1]);
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    void exited.then(() => {
      clearTimeout(timer);
      fail(new Error(`server exited before it was ready:\n${out}`));
    });
  });
  return { proc, endpoint, exited };
}

/** SIGKILL to the whole group, then wait until no member is left (workers die with it). */
async function killGroup(s: Server): Promise<void> {
  const pgid = s.proc.pid!;
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    /* already gone */
  }
  await s.exited;
  for (let i = 0; i < 200; i++) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return;
    }
    await sleep(25);
  }
  throw new Error(`process group ${pgid} still alive after SIGKILL`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runChaos(o: ChaosOptions): Promise<ChaosResult> {
  const log = o.log ?? (() => {});
  const started = Date.now();
  const rand = prng(o.seed);
  const root = await mkdtemp(join(tmpdir(), 'cairn-chaos-'));
  const drives = Array.from({ length: o.drives }, (_, i) => join(root, `d${i + 1}`));
  for (const d of drives) await mkdir(d, { recursive: true });
  const parity = Math.floor(o.drives / 2);
  // The drives that may fail: always the same m, so the other n-m (= k) always hold every shard.
  const failable = drives.slice(o.drives - parity);
  const model = new Model(o.keys ?? o.writers * 4);
  const keys = [...model.keys.keys()];
  const res: ChaosResult = {
    opsAcked: 0, objectsWritten: 0, deletesAcked: 0, multipartAcked: 0, unknownOutcome: 0, kills: 0, drivesFailed: 0,
    shardsCorrupted: 0, bytesVerified: 0, keysVerified: 0, objectsLost: 0, unavailableRetries: 0, violations: [], listingViolations: [], tmpLeftovers: [],
    seconds: 0, root,
  };
  const hashes = new Map<string, string>();
  const hashOf = (key: string, s: Extract<State, { kind: 'object' }>) => {
    const id = `${key}\0${s.gen}`;
    let h = hashes.get(id);
    if (h === undefined) hashes.set(id, (h = contentHash(key, s.gen, s.size)));
    return h;
  };

  let server = await startServer(drives, o.workers);
  let s3 = new ChaosS3(server.endpoint, CREDS, o.writers + 8);
  const mk = await s3.request('PUT', BUCKET, undefined, undefined);
  if (mk.status !== 200) throw new Error(`create bucket: ${mk.status} ${mk.text}`);

  try {
    for (let cycle = 1; cycle <= o.cycles; cycle++) {
      let running = true;
      const writer = async () => {
        while (running) {
          const free = keys.filter((k) => !model.get(k).busy);
          const key = free[Math.floor(rand() * free.length)];
          if (key === undefined) {
            await sleep(5);
            continue;
          }
          const m = model.get(key);
          m.busy = true;
          try {
            await oneOp(s3, model, key, rand, o.maxSize, res);
          } catch {
            // Transport error (server killed): outcome recorded as unknown inside oneOp.
            if (running) await sleep(20);
          } finally {
            m.busy = false;
          }
        }
      };
      const writers = Array.from({ length: o.writers }, writer);

      // The kill lands anywhere in the second half of the cycle; drive faults somewhere before it.
      const cycleStart = Date.now();
      const killAt = o.durationPerCycleMs * (0.5 + rand() * 0.5);
      const removed: Array<[string, string]> = [];
      if (o.mode !== 'kill') {
        await sleep(killAt * (0.2 + rand() * 0.6));
        const n = 1 + Math.floor(rand() * failable.length);
        const victims = [...failable].sort(() => rand() - 0.5).slice(0, n);
        for (const d of victims) {
          res.drivesFailed++;
          if (rand() < 0.5) {
            removed.push([d, await removeDrive(d, String(cycle))]);
            log(`cycle ${cycle}: removed ${d}`);
          } else {
            const c = await corruptDrive(d, 20, rand);
            res.shardsCorrupted += c;
            log(`cycle ${cycle}: corrupted ${c} shard files on ${d}`);
          }
        }
        await sleep(Math.max(0, killAt - (Date.now() - cycleStart)));
      } else {
        await sleep(killAt);
      }
      // Every mode ends its cycle with a kill: removed drives are put back only while the server is down.
      // No new op starts from here; those in flight stay in flight through the kill.
      running = false;
      await killGroup(server);
      res.kills++;
      await Promise.all(writers);
      s3.close();
      for (const [d, away] of removed) await restoreDrive(d, away);

      server = await startServer(drives, o.workers);
      s3 = new ChaosS3(server.endpoint, CREDS, o.writers + 8);
      await verify(s3, model, keys, res, hashOf);
      const serverPids = new Set<number>([server.proc.pid!]);
      for (const d of drives) res.tmpLeftovers.push(...(await tmpLeftovers(d, (pid) => pidAlive(pid) || serverPids.has(pid))));
      log(
        `cycle ${cycle}/${o.cycles}: acked ${res.opsAcked} ops, unknown ${res.unknownOutcome}, verified ${res.keysVerified} keys / ` +
          `${(res.bytesVerified / 1e6).toFixed(1)} MB, lost ${res.objectsLost}, tmp leftovers ${res.tmpLeftovers.length}`,
      );
    }
    if (o.heal ?? true) {
      // Faulted drives are back (restored at the last kill): now heal everything and time it.
      res.heal = await healToFullRedundancy(s3, log);
      log(res.heal.ok ? `healed in ${res.heal.seconds.toFixed(1)} s` : `heal: ${res.heal.error}`);
      s3.close();
      await killGroup(server);
      const survivors = keys.filter((k) => model.get(k).acked.kind === 'object');
      res.records = await recordsPerDrive(drives, BUCKET, survivors);
    }
  } finally {
    s3.close();
    await killGroup(server).catch(() => {});
    if (!o.keepDrives) await rm(root, { recursive: true, force: true });
  }
  res.seconds = (Date.now() - started) / 1000;
  return res;
}

async function oneOp(s3: ChaosS3, model: Model, key: string, rand: () => number, maxSize: number, res: ChaosResult): Promise<void> {
  const r = rand();
  const current = model.get(key).acked;
  if (r < 0.2 && current.kind === 'object') {
    const state: State = { kind: 'absent' };
    await attempt(model, key, state, res, async () => (await s3.request('DELETE', BUCKET, key, undefined)).status === 204);
    if (model.get(key).acked === state) res.deletesAcked++;
    return;
  }
  const size = pickSize(rand, maxSize);
  const state: State = { kind: 'object', gen: model.gen(), size };
  if (r < 0.35) {
    // Multipart: 5 MiB parts (the last may be shorter); only CompleteMultipartUpload can make it visible.
    const init = await s3.request('POST', BUCKET, key, { uploads: '' });
    const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(init.text)?.[1];
    if (init.status !== 200 || !uploadId) return;
    const parts: string[] = [];
    for (let n = 1, off = 0; off < size || n === 1; n++, off += PART) {
      const len = Math.min(PART, size - off);
      const p = await s3.request('PUT', BUCKET, key, { partNumber: String(n), uploadId }, { key, gen: state.gen, offset: off, size: len });
      if (p.status !== 200 || !p.etag) return;
      parts.push(`<Part><PartNumber>${n}</PartNumber><ETag>${p.etag}</ETag></Part>`);
    }
    const xml = Buffer.from(`<CompleteMultipartUpload>${parts.join('')}</CompleteMultipartUpload>`);
    await attempt(model, key, state, res, async () => {
      const c = await s3.request('POST', BUCKET, key, { uploadId }, xml);
      // Complete answers 200 and may still carry an <Error> body (S3 semantics).
      return c.status === 200 && !c.text.includes('<Error>');
    });
    if (model.get(key).acked === state) {
      res.multipartAcked++;
      res.objectsWritten++;
    }
    return;
  }
  await attempt(model, key, state, res, async () => (await s3.request('PUT', BUCKET, key, undefined, { key, gen: state.gen, offset: 0, size })).status === 200);
  if (model.get(key).acked === state) res.objectsWritten++;
}

/** Runs one mutating request: acknowledged on success; an error answer or a transport error leaves its outcome unknown. */
async function attempt(model: Model, key: string, state: State, res: ChaosResult, send: () => Promise<boolean>): Promise<void> {
  let ok = false;
  try {
    ok = await send();
  } finally {
    if (ok) {
      model.acknowledge(key, state);
      res.opsAcked++;
    } else {
      model.unknown(key, state);
      res.unknownOutcome++;
    }
  }
}

async function verify(
  s3: ChaosS3,
  model: Model,
  keys: string[],
  res: ChaosResult,
  hashOf: (key: string, s: Extract<State, { kind: 'object' }>) => string,
): Promise<void> {
  const observed = new Map<string, State>();
  let next = 0;
  const worker = async () => {
    while (next < keys.length) {
      const key = keys[next++]!;
      let g = await s3.request('GET', BUCKET, key, undefined);
      // 503 is S3's "retry": count it (it is reported), retry as every SDK does, and call the
      // key lost only if it stays unreadable.
      for (let attempt = 0; g.status === 503 && attempt < 5; attempt++) {
        res.unavailableRetries++;
        await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
        g = await s3.request('GET', BUCKET, key, undefined);
      }
      const ok = model.acceptable(key);
      res.keysVerified++;
      if (g.status === 404) {
        observed.set(key, { kind: 'absent' });
        if (ok.some((s) => s.kind === 'absent')) continue;
      } else if (g.status === 200) {
        res.bytesVerified += g.bytes;
        const match = ok.find((s) => s.kind === 'object' && s.size === g.bytes && hashOf(key, s) === g.sha256);
        if (match) {
          observed.set(key, match);
          continue;
        }
      }
      res.objectsLost++;
      res.violations.push(
        `${key}: GET ${g.status} ${g.bytes} B sha256 ${g.sha256.slice(0, 12)}; acceptable: ${ok.map(describe).join(' | ')}` +
          (g.status >= 300 ? ` body ${g.text.slice(0, 200)}` : ''),
      );
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  const listed = await s3.list(BUCKET);
  for (const key of keys) {
    const s = observed.get(key);
    const l = listed.get(key);
    if (s?.kind === 'object' && l !== s.size) res.listingViolations.push(`${key}: GET has ${s.size} B, listing ${l ?? 'absent'}`);
    if (s?.kind === 'absent' && l !== undefined) res.listingViolations.push(`${key}: GET 404 but listed with ${l} B`);
  }
  for (const key of listed.keys()) if (!model.keys.has(key)) res.listingViolations.push(`${key}: listed but never written`);
  // What a GET showed is now the truth: the next cycle's acceptable states build on it.
  for (const [key, s] of observed) model.settle(key, s);
}
