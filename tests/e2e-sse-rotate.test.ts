import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  CreateBucketCommand,
  DeleteBucketEncryptionCommand,
  GetBucketEncryptionCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketEncryptionCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aws, awsEnv, fileDigest, has, run, writeRandomFile, AWS } from './helpers/clients.js';
import { failure, sdkClient } from './helpers/sdk.js';
import { startServer, type RunningServer } from './helpers/server.js';

/**
 * SSE with a key-file KMS: bucket default encryption, CAIRN_SSE_AUTO=on,
 * awscli --sse / --sse-c, and `cairn admin kms rotate` (old objects still read).
 */

const CLI = resolve(import.meta.dirname, '../bin/cairn.js');
let root: string;
let keyFile: string;
let server: RunningServer;
let s3: S3Client;
let drives: string[];

async function start(env: Record<string, string> = {}) {
  server = await startServer({ driveDirs: drives, env: { CAIRN_KMS_KEY_FILE: keyFile, ...env } });
  s3 = sdkClient(server);
}
async function stop() {
  s3?.destroy();
  await server?.stop();
}
const bodyOf = async (Bucket: string, Key: string) =>
  Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket, Key }))).Body!.transformToByteArray());

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cairn-sse-rotate-'));
  keyFile = join(root, 'keys.json');
  drives = [1, 2, 3, 4].map((i) => join(root, `d${i}`));
  await writeFile(
    keyFile,
    JSON.stringify({ format: 'cairn-kms-keys', version: 1, default: 'main', keys: { main: { '1': randomBytes(32).toString('base64') } } }),
    { mode: 0o600 },
  );
  await start();
  await s3.send(new CreateBucketCommand({ Bucket: 'enc' }));
}, 60_000);

afterAll(async () => {
  await stop();
  await rm(root, { recursive: true, force: true });
});

describe('bucket default encryption', () => {
  it('Get before Put is ServerSideEncryptionConfigurationNotFoundError; Put applies to new objects; Delete removes it', async () => {
    const none = await failure(s3.send(new GetBucketEncryptionCommand({ Bucket: 'enc' })));
    expect([none.name, none.status]).toEqual(['ServerSideEncryptionConfigurationNotFoundError', 404]);
    await s3.send(
      new PutBucketEncryptionCommand({
        Bucket: 'enc',
        ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'main' } }] },
      }),
    );
    const got = await s3.send(new GetBucketEncryptionCommand({ Bucket: 'enc' }));
    expect(got.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault).toEqual({ SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'main' });
    const put = await s3.send(new PutObjectCommand({ Bucket: 'enc', Key: 'by-default', Body: 'default encrypted' }));
    expect([put.ServerSideEncryption, put.SSEKMSKeyId]).toEqual(['aws:kms', 'main']);
    // An explicit request wins over the default.
    const s3put = await s3.send(new PutObjectCommand({ Bucket: 'enc', Key: 'explicit', Body: 'x', ServerSideEncryption: 'AES256' }));
    expect(s3put.ServerSideEncryption).toBe('AES256');
    await s3.send(new DeleteBucketEncryptionCommand({ Bucket: 'enc' }));
    expect((await failure(s3.send(new GetBucketEncryptionCommand({ Bucket: 'enc' })))).status).toBe(404);
    const plain = await s3.send(new PutObjectCommand({ Bucket: 'enc', Key: 'after-delete', Body: 'plain' }));
    expect(plain.ServerSideEncryption).toBeUndefined();
    expect((await bodyOf('enc', 'by-default')).toString()).toBe('default encrypted');
  });
});

describe.runIf(has(AWS))('awscli', () => {
  it('aws s3 cp --sse AES256 / --sse aws:kms / --sse-c round-trips (multipart above 8 MB)', async () => {
    const dir = join(root, 'awscli');
    const env = await awsEnv(dir, server);
    const src = join(dir, 'src.bin');
    await writeRandomFile(src, 9 * 1024 * 1024 + 3);
    const want = await fileDigest(src, 'sha256');
    const key = randomBytes(32);
    const keyPath = join(dir, 'customer.key');
    await writeFile(keyPath, key);
    const cases: Array<[string, string[], string[]]> = [
      ['sse-s3', ['--sse', 'AES256'], []],
      ['sse-kms', ['--sse', 'aws:kms', '--sse-kms-key-id', 'main'], []],
      ['sse-c', ['--sse-c', 'AES256', '--sse-c-key', `fileb://${keyPath}`], ['--sse-c', 'AES256', '--sse-c-key', `fileb://${keyPath}`]],
    ];
    for (const [name, up, down] of cases) {
      await aws(server, env, ['s3', 'cp', src, `s3://enc/cli/${name}`, ...up]);
      const out = join(dir, `${name}.out`);
      await aws(server, env, ['s3', 'cp', `s3://enc/cli/${name}`, out, ...down]);
      expect(await fileDigest(out, 'sha256'), name).toBe(want);
    }
    const head = JSON.parse((await aws(server, env, ['s3api', 'head-object', '--bucket', 'enc', '--key', 'cli/sse-kms'])).stdout);
    expect(head.ServerSideEncryption).toBe('aws:kms');
    const noKey = await aws(server, env, ['s3', 'cp', 's3://enc/cli/sse-c', join(dir, 'nokey.out')], { allowFailure: true });
    expect(noKey.code).not.toBe(0);
  }, 120_000);
});

describe('CAIRN_SSE_AUTO and rotation', () => {
  it('encrypts every object with SSE-S3; after `cairn admin kms rotate --new-version` old objects still read and records name the new version', async () => {
    await stop();
    await start({ CAIRN_SSE_AUTO: 'on' });
    await s3.send(new CreateBucketCommand({ Bucket: 'auto' }));
    const body = randomBytes(200 * 1024);
    const put = await s3.send(new PutObjectCommand({ Bucket: 'auto', Key: 'a', Body: body }));
    expect(put.ServerSideEncryption).toBe('AES256');
    const before = (await s3.send(new HeadObjectCommand({ Bucket: 'auto', Key: 'a' }))).LastModified;
    await stop();
    const r = await run(process.execPath, [CLI, 'admin', 'kms', 'rotate', '--new-version', ...drives], {
      env: { ...process.env, CAIRN_KMS_KEY_FILE: keyFile } as Record<string, string>,
    });
    const report = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(report.keyVersion).toBe(2);
    expect(report.failed).toEqual([]);
    expect(report.rotated).toBeGreaterThanOrEqual(3); // a, by-default, explicit, cli/sse-s3, cli/sse-kms …
    const keys = JSON.parse(await readFile(keyFile, 'utf8'));
    expect(Object.keys(keys.keys.main)).toEqual(['1', '2']);
    // Running it again finds nothing left to rotate.
    const again = JSON.parse((await run(process.execPath, [CLI, 'admin', 'kms', 'rotate', ...drives], { env: { ...process.env, CAIRN_KMS_KEY_FILE: keyFile } as Record<string, string> })).stdout.trim().split('\n').pop()!);
    expect(again.rotated).toBe(0);
    await start({ CAIRN_SSE_AUTO: 'on' });
    expect((await bodyOf('auto', 'a')).equals(body)).toBe(true);
    expect((await bodyOf('enc', 'by-default')).toString()).toBe('default encrypted');
    expect((await s3.send(new HeadObjectCommand({ Bucket: 'auto', Key: 'a' }))).LastModified).toEqual(before);
  }, 120_000);
});
