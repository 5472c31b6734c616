/**
 * Power-loss proof (issue 5, item 5): runs `cairn server` under strace and
 * checks, from the system calls themselves, that before the 200 of a PUT was
 * written to the client socket
 *   - every shard file of a streamed object was fdatasync'd, then renamed into data/, and that
 *     directory fsync'd,
 *   - and the LMDB env (data.mdb) was synced after those renames (the metadata commit);
 * for an inline object (4 KiB, no shard files) that the LMDB sync came before the 200.
 * Skipped with a message when strace is not installed (Debian package `strace`).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChaosS3 } from '../bench/chaos/s3.js';

const haveStrace = spawnSync('strace', ['-V']).status === 0;
if (!haveStrace) console.warn('tests/fsync.test.ts skipped: strace is not installed (apt-get install strace)');

const CLI = resolve(import.meta.dirname, '../bin/cairn.js');
const CREDS = { accessKey: 'fsyncadmin', secretKey: 'fsyncadmin-secret', region: 'us-east-1' };

/** One strace event: a completed syscall (`unfinished`/`resumed` pairs joined at the completion line). */
interface Event {
  line: number;
  call: string;
  args: string;
}

/**
 * Parses `strace -f -y -s 80` output. A call split by another thread's call is
 * placed where it completed (the `resumed` line): "synced before X" must mean
 * the sync returned before X started.
 */
function parseTrace(text: string): Event[] {
  const pending = new Map<string, { call: string; args: string }>();
  const out: Event[] = [];
  text.split('\n').forEach((raw, line) => {
    const m = /^(\d+)\s+(?:[\d:.]+\s+)?(.*)$/.exec(raw);
    if (!m) return;
    const [, pid, rest] = m as unknown as [string, string, string];
    const unfinished = /^(\w+)\((.*) <unfinished \.\.\.>$/.exec(rest);
    if (unfinished) return void pending.set(pid, { call: unfinished[1]!, args: unfinished[2]! });
    const resumed = /^<\.\.\. (\w+) resumed>(.*)$/.exec(rest);
    if (resumed) {
      const p = pending.get(pid);
      pending.delete(pid);
      return void out.push({ line, call: resumed[1]!, args: (p?.args ?? '') + resumed[2]! });
    }
    const full = /^(\w+)\((.*)$/.exec(rest);
    if (full) out.push({ line, call: full[1]!, args: full[2]! });
  });
  return out;
}

const isResponse = (e: Event, status: number) =>
  /^(write|writev|sendmsg|sendto)$/.test(e.call) && /^\d+<(socket|TCP)/.test(e.args) && e.args.includes(`HTTP/1.1 ${status}`);
const isSync = (e: Event) => /^(fdatasync|fsync|msync)$/.test(e.call);
const fdPath = (e: Event) => /^\d+<([^>]*)>/.exec(e.args)?.[1];
const renamePaths = (e: Event) => {
  const m = /"([^"]*)", (?:-?\w+, )?"([^"]*)"/.exec(e.args);
  return m ? { from: m[1]!, to: m[2]! } : undefined;
};

describe.skipIf(!haveStrace)('an acknowledged PUT has been synced (strace)', () => {
  let root = '';
  let trace = '';
  let events: Event[] = [];

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'cairn-fsync-'));
    const drives = [1, 2, 3, 4].map((i) => join(root, `d${i}`));
    const traceFile = join(root, 'strace.txt');
    const proc = spawn(
      'strace',
      ['-f', '-tt', '-y', '-s', '80', '-e', 'trace=fdatasync,fsync,msync,rename,renameat,renameat2,write,writev,sendmsg,sendto', '-o', traceFile,
        process.execPath, CLI, 'server', '--address', '127.0.0.1:0', '--workers', '1', ...drives],
      // Own process group: killing strace alone would leave the traced server running.
      { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CAIRN_ROOT_USER: CREDS.accessKey, CAIRN_ROOT_PASSWORD: CREDS.secretKey, CAIRN_LOG_LEVEL: 'warn' } },
    );
    let out = '';
    const endpoint = await new Promise<string>((ok, fail) => {
      const t = setTimeout(() => fail(new Error(`server did not start:\n${out}`)), 60_000);
      const on = (b: Buffer) => {
        out += b.toString();
        const m = /Cairn listening on (http:\/\/\S+)/.exec(out);
        if (m?.[1]) {
          clearTimeout(t);
          ok(m[1]);
        }
      };
      proc.stdout.on('data', on);
      proc.stderr.on('data', on);
    });
    const s3 = new ChaosS3(endpoint, CREDS, 1);
    try {
      expect((await s3.request('PUT', 'fsync', undefined, undefined)).status).toBe(200);
      // 404 markers fence each PUT in the trace: its window runs from the marker's answer to its own.
      expect((await s3.request('GET', 'fsync', 'marker-1', undefined)).status).toBe(404);
      expect((await s3.request('PUT', 'fsync', 'big', undefined, { key: 'big', gen: 1, offset: 0, size: 3 * 1024 * 1024 })).status).toBe(200);
      expect((await s3.request('GET', 'fsync', 'marker-2', undefined)).status).toBe(404);
      expect((await s3.request('PUT', 'fsync', 'small', undefined, { key: 'small', gen: 1, offset: 0, size: 4096 })).status).toBe(200);
      expect((await s3.request('GET', 'fsync', 'marker-3', undefined)).status).toBe(404);
    } finally {
      s3.close();
      const exited = new Promise((r) => proc.once('exit', r));
      process.kill(-proc.pid!, 'SIGKILL'); // strace and the server it traces
      await exited;
    }
    trace = await readFile(traceFile, 'utf8');
    events = parseTrace(trace);
  }, 90_000);

  afterAll(async () => {
    if (root && !process.env.CAIRN_KEEP_FSYNC_TRACE) await rm(root, { recursive: true, force: true });
  });

  /** A shard file staged under .cairn/tmp (not the healer's status file, staged there as sys-<hex> before its rename). */
  const isShardTmp = (path: string | undefined): boolean => !!path && path.includes('/.cairn/tmp/') && !/\/sys-[0-9a-f]+$/.test(path);

  /** Events strictly between the n-th 404 answer and the first 200 answer after it. */
  function window(n: number): Event[] {
    const notFound = events.filter((e) => isResponse(e, 404));
    const start = notFound[n - 1];
    expect(start, `404 answer #${n} in the trace`).toBeDefined();
    const end = events.find((e) => e.line > start!.line && isResponse(e, 200));
    expect(end, `200 answer after 404 #${n}`).toBeDefined();
    return events.filter((e) => e.line > start!.line && e.line < end!.line);
  }

  it('fdatasyncs each shard file, renames it into data/, then syncs LMDB, all before the 200 (3 MiB object)', () => {
    const w = window(1);
    const shardSyncs = w.filter((e) => isSync(e) && isShardTmp(fdPath(e)));
    expect(shardSyncs.length, 'one fdatasync per shard file (4 drives)').toBe(4);
    const renames = w.filter((e) => /^rename/.test(e.call) && isShardTmp(renamePaths(e)?.from));
    for (const s of shardSyncs) {
      const file = fdPath(s)!;
      const r = renames.find((e) => file === renamePaths(e)!.from || file.startsWith(renamePaths(e)!.from + '/'));
      expect(r, `rename of ${file} into data/`).toBeDefined();
      expect(r!.line, `${file}: fdatasync before rename`).toBeGreaterThan(s.line);
      expect(renamePaths(r!)!.to).toMatch(/\/data\//);
    }
    // Each rename is made durable by an fsync of the directory it landed in, before the record commits.
    const dirSyncs = renames.map((r) => {
      const parent = renamePaths(r)!.to.replace(/\/[^/]+$/, '');
      const d = w.find((e) => isSync(e) && e.line > r.line && fdPath(e) === parent);
      expect(d, `fsync of ${parent} after its rename`).toBeDefined();
      return d!.line;
    });
    const lastRename = Math.max(...renames.map((e) => e.line), ...dirSyncs);
    const lmdbSyncs = w.filter((e) => isSync(e) && e.line > lastRename && /data\.mdb|\/meta\b/.test(e.args));
    // Each drive has its own env: all 4 commits must be durable before the answer.
    const envs = new Set(lmdbSyncs.map((e) => fdPath(e) ?? e.args));
    expect(envs.size, `LMDB syncs after the renames:\n${lmdbSyncs.map((e) => e.args).join('\n')}`).toBe(4);
  });

  it('syncs LMDB before the 200 of an inline object (4 KiB)', () => {
    const w = window(2);
    expect(w.filter((e) => isSync(e) && isShardTmp(fdPath(e)))).toHaveLength(0);
    const lmdbSyncs = w.filter((e) => isSync(e) && /data\.mdb|\/meta\b/.test(e.args));
    expect(new Set(lmdbSyncs.map((e) => fdPath(e) ?? e.args)).size, 'LMDB env syncs before the 200').toBe(4);
  });

  it('traced the server at all (guards against a vacuous pass)', () => {
    expect(existsSync(root)).toBe(true);
    expect(trace.length).toBeGreaterThan(0);
    expect(events.some((e) => isResponse(e, 200))).toBe(true);
  });
});
