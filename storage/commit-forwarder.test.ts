import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckedDrive } from './checked-drive.js';
import { CommitClient, CommitterError, forwardCommits, type CommitPort } from './commit-forwarder.js';
import { createCommitHost, type CommitHost } from './commit-host.js';
import type { CommitReply, CommitRequest } from './commit-protocol.js';
import { driveContract, record } from './drive.contract.js';
import type { Drive } from './drive.js';
import { LocalDrive } from './local-drive.js';
import type { ObjectRecord } from './metadata-record.js';

/**
 * The one-committer mode's worker side against a real committer (createCommitHost)
 * on real LMDB dirs. The channel between them is v8 serialization, what the
 * cluster IPC channel does with `serialization: 'advanced'`; the cluster path
 * itself runs in tests/e2e-lmdb-committer.test.ts.
 */

/** A port to `host`, counting messages; `fault` may rewrite what the committer answers. */
function portTo(host: CommitHost, fault?: (r: CommitReply) => CommitReply) {
  const handlers: Array<(m: unknown) => void> = [];
  const closers: Array<() => void> = [];
  const stats = { requests: 0, ops: 0, replies: 0 };
  const port: CommitPort = {
    send(msg: CommitRequest) {
      stats.requests++;
      stats.ops += msg.ops.length;
      host.handle(deserialize(serialize(msg)) as CommitRequest, (reply) => {
        stats.replies++;
        const out = deserialize(serialize(fault ? fault(reply) : reply));
        setImmediate(() => handlers.forEach((h) => h(out)));
      });
    },
    onMessage: (h) => void handlers.push(h),
    onClose: (h) => void closers.push(h),
  };
  return { port, stats, close: () => closers.forEach((c) => c()) };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-commit-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A LocalDrive whose object-record writes go through `port`; the host is closed after the test. */
async function forwarded(dir: string, client: CommitClient): Promise<Drive> {
  const local = await LocalDrive.open(dir);
  cleanups.push(() => local.close());
  return await forwardCommits(local, client);
}

driveContract('LocalDrive with object commits forwarded to a committer', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-commit-'));
  const host = createCommitHost();
  const client = new CommitClient(portTo(host).port);
  const drive = await forwardCommits(await LocalDrive.open(dir), client);
  return {
    drive,
    cleanup: async () => {
      await host.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe('forwarded commits', () => {
  it('return what the local drive returns, records (inline bytes as a Buffer) and removed uploads included', async () => {
    const host = createCommitHost();
    cleanups.push(() => host.close());
    const viaCommitter = await forwarded(await tempDir(), new CommitClient(portTo(host).port));
    const local = await LocalDrive.open(await tempDir());
    cleanups.push(() => local.close());

    const withInline = (r: ObjectRecord): ObjectRecord => ({ ...r, inline: Buffer.from('inline-shard-bytes') });
    const upload = {
      bucket: 'b', key: 'mp', uploadId: 'u1', initiated: 1, dataDir: 'up-dir', storageClass: 'STANDARD',
      layout: record(1, 'x').layout, headers: {}, userMetadata: {},
    };
    const part = { number: 1, size: 5, etag: 'pe', modTime: 3, checksums: {}, file: 'part.1.w', writeId: 'w' };
    const script = async (d: Drive) => {
      const out: unknown[] = [];
      out.push(await d.commitObject('b', 'k', withInline(record(10, 'd10'))));
      out.push(await d.commitObject('b', 'k', record(20, 'd20', 'e2')));
      out.push(await d.commitObject('b', 'k', record(15, 'd15')));
      out.push(await d.commitObject('b', 'k', record(30, 'd30'), { conditions: { ifNoneMatch: '*' } }));
      out.push(await d.commitObject('b', 'k', record(30, 'd30'), { conditions: { ifMatch: 'e2' } }));
      out.push(await d.commitObject('b', 'mp', record(5, 'd5'), { completeUpload: 'nope' }));
      await d.putUpload(upload);
      await d.commitPart('b', 'mp', 'u1', part);
      out.push(await d.commitObject('b', 'mp', record(6, 'up-dir'), { completeUpload: 'u1' }));
      await d.restoreObject('b', 'k', record(30, 'd30'), record(20, 'd20', 'e2'));
      out.push(d.getObject('b', 'k'));
      await d.restoreObject('b', 'k', record(99, 'other'));
      out.push(d.getObject('b', 'k'));
      out.push(await d.deleteObject('b', 'k', record(1, 'not-it')));
      out.push(await d.deleteObject('b', 'k'));
      out.push(await d.deleteObject('b', 'k'));
      await d.restoreObject('b', 'mp', record(6, 'up-dir'));
      out.push(d.getObject('b', 'mp'));
      return out;
    };
    const got = await script(viaCommitter);
    expect(got).toEqual(await script(local));
    // Spot checks, so the comparison cannot pass on two equally wrong answers.
    expect(got[0]).toEqual({ status: 'committed' });
    const second = got[1] as { status: string; previous?: ObjectRecord };
    expect(second.status).toBe('committed');
    expect(Buffer.isBuffer(second.previous?.inline)).toBe(true);
    expect(second.previous?.inline?.toString()).toBe('inline-shard-bytes');
    expect(got[2]).toEqual({ status: 'superseded' });
    expect(got[3]).toEqual({ status: 'precondition' });
    expect((got[4] as { status: string }).status).toBe('committed');
    expect(got[5]).toEqual({ status: 'upload-missing' });
    expect((got[6] as { removedUpload?: { upload: { uploadId: string }; parts: unknown[] } }).removedUpload?.upload.uploadId).toBe('u1');
    expect((got[6] as { removedUpload?: { parts: unknown[] } }).removedUpload?.parts).toEqual([part]);
    expect((got[7] as ObjectRecord).dataDir).toBe('d20');
    expect(got[9]).toBeUndefined();
    expect((got[10] as ObjectRecord).dataDir).toBe('d20');
    expect(got[11]).toBeUndefined();
    expect(got[12]).toBeUndefined();
  });

  it('sends the ops of one event turn in one message: a burst on six drives is one request', async () => {
    const host = createCommitHost();
    cleanups.push(() => host.close());
    const { port, stats } = portTo(host);
    const client = new CommitClient(port);
    const drives = await Promise.all(Array.from({ length: 6 }, async () => forwarded(await tempDir(), client)));
    const results = await Promise.all(
      Array.from({ length: 64 }, (_, i) => Promise.all(drives.map((d) => d.commitObject('b', `k${i}`, record(1, `d${i}`))))),
    );
    expect(results.flat().every((r) => r.status === 'committed')).toBe(true);
    expect(stats).toMatchObject({ requests: 1, ops: 64 * 6 });
    expect(stats.replies).toBeLessThanOrEqual(6);
    for (const d of drives) expect(d.getObject('b', 'k63')?.dataDir).toBe('d63');
    expect(client.inFlight).toBe(0);
  });

  it("rejects with the committer's error and its errno code", async () => {
    const host = createCommitHost();
    cleanups.push(() => host.close());
    const client = new CommitClient(portTo(host).port);
    // The committer cannot open this "drive": its .cairn is a file.
    const bad = await tempDir();
    await writeFile(join(bad, '.cairn'), 'not a directory');
    const local = await LocalDrive.open(await tempDir());
    cleanups.push(() => local.close());
    const d = await forwardCommits(Object.assign(Object.create(local) as LocalDrive, { path: bad }), client);
    const err = await d.commitObject('b', 'k', record(1, 'd')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommitterError);
    expect((err as CommitterError).code).toMatch(/^(ENOTDIR|EEXIST)$/);
  });

  it('refuses to commit into a directory that replaced the one the worker opened (ESTALE)', async () => {
    const host = createCommitHost();
    cleanups.push(() => host.close());
    const dir = await tempDir();
    const d = await forwarded(dir, new CommitClient(portTo(host).port));
    await rename(dir, `${dir}-old`);
    cleanups.push(() => rm(`${dir}-old`, { recursive: true, force: true }));
    await mkdir(dir);
    await expect(d.commitObject('b', 'k', record(1, 'd'))).rejects.toMatchObject({ code: 'ESTALE' });
    const fresh = await LocalDrive.open(dir);
    expect(fresh.getObject('b', 'k')).toBeUndefined();
    await fresh.close();
  });

  it('an EIO in the committer takes the drive offline in the worker, through CheckedDrive', async () => {
    const host = createCommitHost();
    cleanups.push(() => host.close());
    const eio = (r: CommitReply): CommitReply => ({ ...r, results: r.results.map((x) => ({ id: x.id, ok: false, message: 'input/output error', code: 'EIO' })) });
    const client = new CommitClient(portTo(host, eio).port);
    const dir = await tempDir();
    const checked = new CheckedDrive(dir, await forwarded(dir, client), { probeIntervalMs: 60_000 });
    cleanups.push(() => checked.close().catch(() => undefined));
    expect(checked.online).toBe(true);
    await expect(checked.commitObject('b', 'k', record(1, 'd'))).rejects.toMatchObject({ code: 'EIO' });
    expect(checked.online).toBe(false);
  });

  it('a committer that does not answer times out like a dead drive; a closed channel fails every call', async () => {
    const silent: CommitPort = { send: () => undefined, onMessage: () => undefined, onClose: () => undefined };
    const dir = await tempDir();
    const checked = new CheckedDrive(dir, await forwarded(dir, new CommitClient(silent)), { metadataTimeoutMs: 100, probeIntervalMs: 60_000 });
    cleanups.push(() => checked.close().catch(() => undefined));
    await expect(checked.deleteObject('b', 'k')).rejects.toThrow();
    expect(checked.online).toBe(false);

    const host = createCommitHost();
    cleanups.push(() => host.close());
    const { port, close } = portTo(host);
    const client = new CommitClient(port);
    const d = await forwarded(await tempDir(), client);
    const pending = d.commitObject('b', 'k', record(1, 'd'));
    close();
    await expect(pending).rejects.toMatchObject({ code: 'ENOTCONN' });
    await expect(d.restoreObject('b', 'k', record(1, 'd'))).rejects.toMatchObject({ code: 'ENOTCONN' });
  });
});
