import { rename } from 'node:fs/promises';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest, signHeaders } from './helpers/raw-s3.js';
import { md5hex, sdkClient } from './helpers/sdk.js';
import { startServer, type RunningServer } from './helpers/server.js';

/**
 * A drive directory renamed away under load (what the chaos harness does): the
 * drive goes offline, every request keeps succeeding on the other three (EC 2+2
 * has quorum with one drive gone), and once the directory is back the drive's
 * probe brings it online again. One worker, so the admin summary always comes
 * from the process whose drives we watch.
 */

const PROBE_MS = 200;
let server: RunningServer;
let s3: S3Client;

beforeAll(async () => {
  server = await startServer({
    drives: 4,
    env: { CAIRN_WORKERS: '1', CAIRN_DRIVE_TIMEOUT_MS: '3000', CAIRN_DRIVE_PROBE_INTERVAL_MS: String(PROBE_MS) },
  });
  s3 = sdkClient(server);
  await s3.send(new CreateBucketCommand({ Bucket: 'health' }));
});
afterAll(async () => {
  s3?.destroy();
  if (process.env.DEBUG_HEALTH) console.log(server?.output());
  await server?.stop();
});

async function driveStates(): Promise<string[]> {
  const path = '/cairn/admin/v1/info';
  const res = await rawRequest(server, { method: 'GET', url: path, headers: await signHeaders(server, { method: 'GET', path }) });
  expect(res.status).toBe(200);
  const info = JSON.parse(res.body) as { sets: Array<{ driveList: Array<{ path: string; state: string }> }> };
  return info.sets.flatMap((s) => s.driveList.map((d) => d.state));
}

/** Deterministic bodies: every other one streamed as shard files, the rest inline. */
const bodyFor = (i: number) => Buffer.alloc(i % 2 === 0 ? 300 * 1024 + i : 1000 + i, `body ${i} `);

describe('drive health', () => {
  it('a drive renamed away goes offline while requests keep succeeding, and rejoins when put back', async () => {
    const written = new Map<string, string>();
    let n = 0;
    const round = async () => {
      const i = n++;
      const key = `k${i}`;
      const body = bodyFor(i);
      await s3.send(new PutObjectCommand({ Bucket: 'health', Key: key, Body: body }));
      written.set(key, md5hex(body));
      // Read back an earlier object too, so reads span before, during and after the outage.
      const back = `k${Math.floor(i / 2)}`;
      const got = await s3.send(new GetObjectCommand({ Bucket: 'health', Key: back }));
      expect(md5hex(Buffer.from(await got.Body!.transformToByteArray()))).toBe(written.get(back));
    };
    for (let i = 0; i < 4; i++) await round();
    expect(await driveStates()).toEqual(['online', 'online', 'online', 'online']);

    const drive = server.drives[1]!;
    await rename(drive, `${drive}.away`);
    // Keep the SDK busy while the drive is gone; every request must succeed.
    let states = await driveStates();
    for (let tries = 0; states[1] !== 'offline' && tries < 100; tries++) {
      await round();
      states = await driveStates();
    }
    expect(states).toEqual(['online', 'offline', 'online', 'online']);
    for (let i = 0; i < 6; i++) await round();

    await rename(`${drive}.away`, drive);
    for (let tries = 0; states[1] !== 'online' && tries < 100; tries++) {
      await round();
      states = await driveStates();
    }
    expect(states).toEqual(['online', 'online', 'online', 'online']);
    for (let i = 0; i < 4; i++) await round();

    // Every object written, before, during and after the outage, reads back intact.
    for (const [key, md5] of written) {
      const got = await s3.send(new GetObjectCommand({ Bucket: 'health', Key: key }));
      expect(md5hex(Buffer.from(await got.Body!.transformToByteArray()))).toBe(md5);
    }
  });
});
