import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { adminCommand, endpointFrom, formatBytes, formatDrives, formatEta, formatHealView, healBusy, percentDone } from './admin-client.js';
import type { HealView } from './server/admin-heal.js';

const progress = { objectsScanned: 0, objectsHealed: 0, objectsFailed: 0, bytesDone: 0, objectsPerSecond: 0, bytesPerSecond: 0, startedAt: 't0', updatedAt: 't1' };

const view = (over: Partial<HealView> = {}): HealView => ({
  active: true,
  queue: { length: 0, dropped: 0 },
  rebuilds: [],
  sweeps: [],
  scanner: undefined,
  totals: { objectsHealed: 0, bytesHealed: 0, failures: 0, orphansRemoved: 0, danglingRemoved: 0 },
  updatedAt: '2026-11-25T21:00:00.000Z',
  sets: [
    {
      set: 1,
      drives: [
        { slot: 1, path: '/d1', state: 'online' },
        { slot: 2, path: '/d2', state: 'healing' },
      ],
      online: 2,
      total: 2,
      readQuorum: 1,
      writeQuorum: 2,
      readable: true,
      writable: true,
      quorum: 'degraded',
    },
  ],
  ...over,
});

describe('formatting', () => {
  it('ETA in hours, minutes and seconds; bytes in binary units; percent by objects, else bytes', () => {
    expect(formatEta(undefined)).toBe('-');
    expect(formatEta(7.4)).toBe('7s');
    expect(formatEta(245)).toBe('4m 05s');
    expect(formatEta(3723)).toBe('1h 02m 03s');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(12 * 1024 * 1024)).toBe('12.0 MiB');
    expect(formatBytes(undefined)).toBe('?');
    expect(percentDone({ ...progress, objectsScanned: 25, objectsTotal: 100 })).toBe(25);
    expect(percentDone({ ...progress, bytesDone: 3, bytesTotal: 4 })).toBe(75);
    expect(percentDone(progress)).toBeUndefined();
  });

  it('the heal table shows drives, set quorum, queue and each job with rate, ETA and percent', () => {
    const text = formatHealView(
      view({
        queue: { length: 3, dropped: 1 },
        rebuilds: [{ ...progress, set: 0, slot: 1, path: '/d2', objectsScanned: 40, objectsTotal: 160, bytesDone: 4 * 1024 * 1024, bytesTotal: 16 * 1024 * 1024, objectsPerSecond: 8, bytesPerSecond: 2_500_000, etaSeconds: 15 }],
        sweeps: [{ ...progress, id: 'sw1', bucket: 'photos', prefix: '2024/', deep: true, state: 'running', objectsScanned: 5 }],
        scanner: { ...progress, mode: 'normal', cycle: 4, running: false },
        totals: { objectsHealed: 41, bytesHealed: 2048, failures: 2, orphansRemoved: 0, danglingRemoved: 1 },
      }),
    );
    expect(text).toContain('Healer: active');
    expect(text).toMatch(/1\s+2\/2\s+1\s+2\s+degraded/);
    expect(text).toMatch(/1\s+2\s+healing\s+\/d2/);
    expect(text).toContain('Queue: 3 objects waiting, 1 dropped');
    // The rebuild's set is the table's numbering (found by path), not the healer's internal one.
    expect(text).toMatch(/rebuild set 1 \/d2\s+running\s+40\/160\s+4\.0 MiB\/16\.0 MiB\s+8\.0 obj\/s, 2\.5 MB\/s\s+15s\s+25\.0%/);
    expect(text).toMatch(/sweep sw1 photos\/2024\/ deep\s+running\s+5\/\?/);
    expect(text).toMatch(/scanner normal cycle 4\s+idle/);
    expect(text).toContain('Healed since start: 41 objects, 2.0 KiB; failures 2');
  });

  it('no jobs: says so; busy only while a rebuild, a healing drive, a queued or running sweep, or queued objects remain', () => {
    expect(formatHealView(view())).toContain('Jobs: none');
    // The fixture's set has a healing drive: its rebuild may just not have started.
    expect(healBusy(view())).toBe(true);
    const allOnline = view().sets.map((s) => ({ ...s, drives: s.drives.map((d) => ({ ...d, state: 'online' as const })) }));
    expect(healBusy(view({ sets: allOnline }))).toBe(false);
    expect(healBusy(view({ sets: allOnline, queue: { length: 1, dropped: 0 } }))).toBe(true);
    expect(healBusy(view({ sets: allOnline, sweeps: [{ ...progress, id: 'a', deep: false, state: 'done' }] }))).toBe(false);
    expect(healBusy(view({ sets: allOnline, sweeps: [{ ...progress, id: 'a', deep: false, state: 'queued' }] }))).toBe(true);
    expect(healBusy(view({ sets: allOnline, scanner: { ...progress, mode: 'deep', cycle: 1, running: true } }))).toBe(false);
  });

  it('the drive table shows state, I/O counters, mean latency and space', () => {
    const text = formatDrives({
      drives: [
        { set: 1, slot: 1, path: '/d1', state: 'online', io: { operations: 200, errors: 1, seconds: 0.5 }, totalBytes: 1024 ** 3, freeBytes: 512 * 1024 ** 2 },
        { set: 1, slot: 2, path: '/d2', state: 'offline' },
      ],
      sets: view().sets,
    });
    expect(text).toMatch(/1\s+1\s+online\s+200\s+1\s+2\.50 ms\s+512\.0 MiB\s+1\.0 GiB\s+\/d1/);
    expect(text).toMatch(/1\s+2\s+offline\s+-\s+-\s+-\s+-\s+-\s+\/d2/);
    expect(text).toContain('set 1: 2/2 online (read quorum 1, write quorum 2) degraded');
  });
});

describe('endpointFrom', () => {
  it('flags win over the environment; the endpoint defaults to the local server', () => {
    expect(endpointFrom({}, { CAIRN_ROOT_USER: 'u', CAIRN_ROOT_PASSWORD: 'p' })).toEqual({ endpoint: 'http://127.0.0.1:9000', accessKey: 'u', secretKey: 'p', region: 'us-east-1' });
    expect(
      endpointFrom({ endpoint: 'http://h:1', 'access-key': 'a', 'secret-key': 's', region: 'eu-1' }, { CAIRN_ROOT_USER: 'u', CAIRN_ROOT_PASSWORD: 'p', CAIRN_ENDPOINT: 'http://x:2' }),
    ).toEqual({ endpoint: 'http://h:1', accessKey: 'a', secretKey: 's', region: 'eu-1' });
    expect(endpointFrom({}, { CAIRN_ROOT_USER: 'u', CAIRN_ROOT_PASSWORD: 'p', CAIRN_ENDPOINT: 'http://x:2' }).endpoint).toBe('http://x:2');
    expect(() => endpointFrom({}, {})).toThrow(/credentials/);
  });
});

describe('heal status --watch', () => {
  it('rides out an unreachable server, then polls until nothing runs', async () => {
    // A port that refuses until the fake server binds it.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));

    const done = view({ sets: view().sets.map((s) => ({ ...s, drives: s.drives.map((d) => ({ ...d, state: 'online' as const })) })) });
    const answers = [view({ queue: { length: 2, dropped: 0 } }), view(), done];
    const seen: string[] = [];
    const fake = createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${/^AWS4-HMAC-SHA256 Credential=u\//.test(req.headers.authorization ?? '') ? 'signed' : 'unsigned'}`);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(answers.shift() ?? done));
    });
    let out = '';
    const running = adminCommand('heal', ['--watch', '--endpoint', `http://127.0.0.1:${port}`], {
      env: { CAIRN_ROOT_USER: 'u', CAIRN_ROOT_PASSWORD: 'p' },
      write: (t) => (out += t),
      watchEveryMs: 20,
    });
    await new Promise((r) => setTimeout(r, 100));
    await new Promise<void>((r) => fake.listen(port, '127.0.0.1', r));
    try {
      expect(await running).toBe(0);
    } finally {
      await new Promise((r) => fake.close(r));
    }
    expect(out).toMatch(/^server unreachable \(.*\); retrying\n/);
    // Busy (2 queued and a healing drive, then the healing drive) until the third answer.
    expect(out.match(/^Healer: /gm)).toHaveLength(3);
    expect(out).toContain('Queue: 2 objects waiting');
    expect(seen[0]).toBe('GET /cairn/admin/v1/heal signed');
  });
});
