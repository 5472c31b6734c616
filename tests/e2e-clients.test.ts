import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from './helpers/server.js';
import {
  AWS,
  PYTHON,
  S3CMD,
  aws,
  awsEnv,
  fileDigest,
  has,
  multipartUnsupported,
  run,
  s3cmd,
  s3cmdConfig,
  warnMissing,
  writeRandomFile,
} from './helpers/clients.js';

// Real third-party clients (Debian packages) against a real `cairn server` process.
// Each client's suite skips, with a warning naming its package, when it is absent.

const MiB = 1 << 20;
/** Per-case budgets: every CLI call starts a Python process, slow on a busy 2-core machine. */
const CASE_MS = 180_000;
const BIG_CASE_MS = 400_000;
const hasAws = has(AWS);
const hasS3cmd = has(S3CMD);
const hasBoto3 = has(PYTHON) && spawnSync(PYTHON, ['-c', 'import boto3'], { stdio: 'ignore' }).status === 0;
if (!hasAws) warnMissing('awscli (/usr/bin/aws)', 'awscli');
if (!hasS3cmd) warnMissing('s3cmd (/usr/bin/s3cmd)', 's3cmd');
if (!hasBoto3) warnMissing('boto3 for /usr/bin/python3', 'python3-boto3');
const anyClient = hasAws || hasS3cmd || hasBoto3;

let server: RunningServer;
let work: string;
/** Set once in beforeAll: why multipart cases skip, or undefined when multipart works. */
let noMultipart: string | undefined;
let seq = 0;
/** A fresh bucket name per case: cases stay independent of each other's leftovers. */
const bucketName = (client: string) => `e2e-${client}-${process.pid}-${++seq}`;

beforeAll(async () => {
  if (!anyClient) return;
  work = await mkdtemp(join(tmpdir(), 'cairn-clients-'));
  server = await startServer();
  noMultipart = await multipartUnsupported(server, bucketName('probe'));
  if (noMultipart) console.warn(`[e2e-clients] multipart cases skip: ${noMultipart}`);
}, 60_000);

afterAll(async () => {
  await server?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe.skipIf(!hasAws)('awscli (/usr/bin/aws)', () => {
  let env: Record<string, string>;
  let big: string;
  let bigSha: string;

  beforeAll(async () => {
    env = await awsEnv(join(work, 'aws'), server, { multipartThreshold: '8MB', multipartChunksize: '8MB', maxConcurrentRequests: 8 });
    big = join(work, 'aws', 'big.bin');
    await writeRandomFile(big, 100 * MiB);
    bigSha = await fileDigest(big, 'sha256');
  }, CASE_MS);

  it('mb, cp, ls, head-object, cp back, rm, rb round trip a small object', async () => {
    const b = bucketName('aws');
    const src = join(work, 'aws', 'small.txt');
    const body = 'small object from awscli\n'.repeat(40);
    await writeFile(src, body);

    await aws(server, env, ['s3', 'mb', `s3://${b}`]);
    const buckets = await aws(server, env, ['s3', 'ls']);
    expect(buckets.stdout).toContain(b);

    await aws(server, env, ['s3', 'cp', src, `s3://${b}/docs/small.txt`]);
    const ls = await aws(server, env, ['s3', 'ls', `s3://${b}/docs/`]);
    expect(ls.stdout).toMatch(new RegExp(`\\s${body.length}\\s+small\\.txt`));

    const head = await aws(server, env, ['s3api', 'head-object', '--bucket', b, '--key', 'docs/small.txt']);
    const meta = JSON.parse(head.stdout) as { ContentLength: number; ETag: string };
    expect(meta.ContentLength).toBe(body.length);
    expect(meta.ETag).toBe(`"${await fileDigest(src, 'md5')}"`);

    const back = join(work, 'aws', 'small.back');
    await aws(server, env, ['s3', 'cp', `s3://${b}/docs/small.txt`, back]);
    expect(await readFile(back, 'utf8')).toBe(body);

    await aws(server, env, ['s3', 'rm', `s3://${b}/docs/small.txt`]);
    const gone = await aws(server, env, ['s3api', 'head-object', '--bucket', b, '--key', 'docs/small.txt'], { allowFailure: true });
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toMatch(/404|Not Found/);

    await aws(server, env, ['s3', 'rb', `s3://${b}`]);
    expect((await aws(server, env, ['s3', 'ls'])).stdout).not.toContain(b);
  }, CASE_MS);

  it('cp of 100 MiB as one PUT (multipart_threshold above the size) reads back identical', async () => {
    const b = bucketName('aws');
    const single = await awsEnv(join(work, 'aws-single'), server, { multipartThreshold: '1GB' });
    await aws(server, single, ['s3', 'mb', `s3://${b}`]);
    await aws(server, single, ['s3', 'cp', big, `s3://${b}/big.bin`], { timeoutMs: 300_000 });
    const head = JSON.parse((await aws(server, single, ['s3api', 'head-object', '--bucket', b, '--key', 'big.bin'])).stdout) as {
      ContentLength: number;
      ETag: string;
    };
    expect(head.ContentLength).toBe(100 * MiB);
    // A single PUT's ETag is the plain MD5, not the multipart "<md5>-<parts>" form.
    expect(head.ETag).toBe(`"${await fileDigest(big, 'md5')}"`);
    const back = join(work, 'aws-single', 'big.back');
    await aws(server, single, ['s3', 'cp', `s3://${b}/big.bin`, back], { timeoutMs: 300_000 });
    expect(await fileDigest(back, 'sha256')).toBe(bigSha);
    await rm(back);
    await aws(server, single, ['s3', 'rb', '--force', `s3://${b}`]);
  }, BIG_CASE_MS);

  it('cp of 100 MiB as parallel multipart (8 MiB parts, 8 in flight) reads back identical', async (ctx) => {
    ctx.skip(noMultipart !== undefined, noMultipart);
    const b = bucketName('aws');
    await aws(server, env, ['s3', 'mb', `s3://${b}`]);
    await aws(server, env, ['s3', 'cp', big, `s3://${b}/big.bin`], { timeoutMs: 300_000 });
    const head = JSON.parse((await aws(server, env, ['s3api', 'head-object', '--bucket', b, '--key', 'big.bin'])).stdout) as {
      ContentLength: number;
      ETag: string;
    };
    expect(head.ContentLength).toBe(100 * MiB);
    expect(head.ETag).toMatch(/^"[0-9a-f]{32}-13"$/); // ceil(100 / 8) parts
    const back = join(work, 'aws', 'big.back');
    await aws(server, env, ['s3', 'cp', `s3://${b}/big.bin`, back], { timeoutMs: 300_000 });
    expect(await fileDigest(back, 'sha256')).toBe(bigSha);
    await rm(back);
    await aws(server, env, ['s3', 'rb', '--force', `s3://${b}`]);
  }, BIG_CASE_MS);

  it('sync uploads a nested tree with special names, downloads it identical, and re-sync is a no-op', async () => {
    const b = bucketName('aws');
    const src = join(work, 'aws', 'tree');
    const names = [
      'top.txt',
      '.hidden',
      'dir one/with space.txt',
      'dir one/nested/deeper/ümlaut-ß.txt',
      'symbols/plus+sign.txt',
      'symbols/percent%41.txt',
      'symbols/amp&eq=q?.txt',
      'symbols/tilde~(paren)[bracket].txt',
      'symbols/semi;colon:comma,.txt',
      'symbols/emoji-😀.txt',
    ];
    for (const [i, n] of names.entries()) {
      await mkdir(dirname(join(src, n)), { recursive: true });
      await writeFile(join(src, n), `${n}\n`.repeat(i + 1));
    }
    await aws(server, env, ['s3', 'mb', `s3://${b}`]);
    await aws(server, env, ['s3', 'sync', src, `s3://${b}/tree/`]);

    const listed = JSON.parse(
      (await aws(server, env, ['s3api', 'list-objects-v2', '--bucket', b, '--prefix', 'tree/'])).stdout,
    ) as { Contents: { Key: string; Size: number }[] };
    expect(listed.Contents.map((o) => o.Key).sort()).toEqual(names.map((n) => `tree/${n}`).sort());

    const again = await aws(server, env, ['s3', 'sync', src, `s3://${b}/tree/`]);
    expect(again.stdout.trim()).toBe('');

    const dest = join(work, 'aws', 'tree-back');
    await aws(server, env, ['s3', 'sync', `s3://${b}/tree/`, dest]);
    const got = (await walk(dest)).map((p) => relative(dest, p)).sort();
    expect(got).toEqual([...names].sort());
    for (const n of names) expect(await readFile(join(dest, n), 'utf8')).toBe(await readFile(join(src, n), 'utf8'));

    await aws(server, env, ['s3', 'rm', '--recursive', `s3://${b}/tree/`]);
    const empty = JSON.parse(
      (await aws(server, env, ['s3api', 'list-objects-v2', '--bucket', b])).stdout || '{}',
    ) as { KeyCount?: number };
    expect(empty.KeyCount ?? 0).toBe(0);
    await aws(server, env, ['s3', 'rb', `s3://${b}`]);
  }, CASE_MS);
});

describe.skipIf(!hasS3cmd)('s3cmd (/usr/bin/s3cmd)', () => {
  let cfg: string;
  let dir: string;

  beforeAll(async () => {
    dir = join(work, 's3cmd');
    cfg = await s3cmdConfig(dir, server);
  });

  it('mb, put, get, ls, la, del, rb round trip a small object', async () => {
    const b = bucketName('s3cmd');
    const src = join(dir, 'small.txt');
    await writeFile(src, 'small object from s3cmd\n'.repeat(50));

    await s3cmd(cfg, ['mb', `s3://${b}`]);
    expect((await s3cmd(cfg, ['ls'])).stdout).toContain(`s3://${b}`);

    await s3cmd(cfg, ['put', src, `s3://${b}/small.txt`]);
    const back = join(dir, 'small.back');
    await s3cmd(cfg, ['get', '--force', `s3://${b}/small.txt`, back]);
    expect(await fileDigest(back, 'md5')).toBe(await fileDigest(src, 'md5'));

    const ls = await s3cmd(cfg, ['ls', `s3://${b}`]);
    expect(ls.stdout).toMatch(new RegExp(`\\s${(await stat(src)).size}\\s+s3://${b}/small\\.txt`));
    expect((await s3cmd(cfg, ['la'])).stdout).toContain(`s3://${b}/small.txt`);

    await s3cmd(cfg, ['del', `s3://${b}/small.txt`]);
    expect((await s3cmd(cfg, ['ls', `s3://${b}`])).stdout).not.toContain('small.txt');
    await s3cmd(cfg, ['rb', `s3://${b}`]);
    expect((await s3cmd(cfg, ['ls'])).stdout).not.toContain(`s3://${b}`);
  }, CASE_MS);

  it('put of 20 MiB with --multipart-chunk-size-mb=5 uploads 4 parts and gets back identical', async (ctx) => {
    ctx.skip(noMultipart !== undefined, noMultipart);
    const b = bucketName('s3cmd');
    const src = join(dir, 'twenty.bin');
    await writeRandomFile(src, 20 * MiB);
    await s3cmd(cfg, ['mb', `s3://${b}`]);
    // --progress makes s3cmd name each part even without a terminal.
    const put = await s3cmd(cfg, ['put', '--progress', '--multipart-chunk-size-mb=5', src, `s3://${b}/twenty.bin`], {
      timeoutMs: 180_000,
    });
    expect(put.stdout + put.stderr).toMatch(/part 4 of 4/);
    const back = join(dir, 'twenty.back');
    await s3cmd(cfg, ['get', '--force', `s3://${b}/twenty.bin`, back], { timeoutMs: 180_000 });
    expect(await fileDigest(back, 'md5')).toBe(await fileDigest(src, 'md5'));
    await s3cmd(cfg, ['del', `s3://${b}/twenty.bin`]);
    await s3cmd(cfg, ['rb', `s3://${b}`]);
  }, CASE_MS);
});

// The boto3 side runs as one Python script per flow; it prints a JSON report of what it
// observed and the assertions stay here, so a failure shows both the value and the
// script's stderr.
const BOTO3_SCRIPT = String.raw`
import hashlib, json, re, sys, urllib.error, urllib.request
import boto3
from botocore.client import Config

endpoint, access_key, secret_key, bucket, mode = sys.argv[1:6]
s3 = boto3.client('s3', endpoint_url=endpoint, aws_access_key_id=access_key,
                  aws_secret_access_key=secret_key, region_name='us-east-1',
                  config=Config(signature_version='s3v4', s3={'addressing_style': 'path'},
                                retries={'max_attempts': 1}))
out = {'boto3': boto3.__version__}

if mode == 'basic':
    s3.create_bucket(Bucket=bucket)
    body = b'hello from boto3\n' * 1000
    put = s3.put_object(Bucket=bucket, Key='greeting.txt', Body=body,
                        ContentType='text/plain', Metadata={'colour': 'blue'})
    got = s3.get_object(Bucket=bucket, Key='greeting.txt')
    out['put_etag'] = put['ETag']
    out['get_etag'] = got['ETag']
    out['md5'] = hashlib.md5(body).hexdigest()
    out['get_equal'] = got['Body'].read() == body
    out['content_type'] = got['ContentType']
    out['metadata'] = got['Metadata']

    for i in range(5):
        s3.put_object(Bucket=bucket, Key='list/k%d' % i, Body=b'x' * i)
    pages = list(s3.get_paginator('list_objects_v2').paginate(
        Bucket=bucket, Prefix='list/', PaginationConfig={'PageSize': 2}))
    out['pages'] = len(pages)
    out['listed'] = [o['Key'] for p in pages for o in p.get('Contents', [])]

    url = s3.generate_presigned_url('get_object', Params={'Bucket': bucket, 'Key': 'greeting.txt'},
                                    ExpiresIn=300)
    with urllib.request.urlopen(url) as r:
        out['presigned_status'] = r.status
        out['presigned_equal'] = r.read() == body
    sig = re.search(r'X-Amz-Signature=([0-9a-f]+)', url).group(1)
    bad = sig[:-1] + ('1' if sig[-1] == '0' else '0')  # same length, one digit off
    try:
        urllib.request.urlopen(url.replace(sig, bad))
        out['tampered_status'] = 200
    except urllib.error.HTTPError as e:
        out['tampered_status'] = e.code

    deleted = s3.delete_objects(Bucket=bucket, Delete={'Objects': [{'Key': k} for k in out['listed']]})
    out['deleted'] = sorted(d['Key'] for d in deleted.get('Deleted', []))
    out['delete_errors'] = deleted.get('Errors', [])
    out['left_after_delete'] = s3.list_objects_v2(Bucket=bucket, Prefix='list/')['KeyCount']
    s3.delete_object(Bucket=bucket, Key='greeting.txt')
    s3.delete_bucket(Bucket=bucket)

elif mode == 'multipart':
    path = sys.argv[6]
    s3.create_bucket(Bucket=bucket)
    with open(path, 'rb') as f:
        s3.upload_fileobj(f, bucket, 'twenty.bin')  # default TransferConfig: 8 MiB threshold and parts
    head = s3.head_object(Bucket=bucket, Key='twenty.bin')
    out['size'] = head['ContentLength']
    out['etag'] = head['ETag']
    h = hashlib.sha256()
    class Sink:
        def write(self, b):
            h.update(b)
            return len(b)
    s3.download_fileobj(bucket, 'twenty.bin', Sink())
    out['sha256'] = h.hexdigest()
    s3.delete_object(Bucket=bucket, Key='twenty.bin')
    s3.delete_bucket(Bucket=bucket)

print(json.dumps(out))
`;

describe.skipIf(!hasBoto3)('boto3 (/usr/bin/python3)', () => {
  let script: string;

  beforeAll(async () => {
    await mkdir(join(work, 'boto3'), { recursive: true });
    script = join(work, 'boto3', 'flow.py');
    await writeFile(script, BOTO3_SCRIPT);
  });

  const boto3 = async (bucket: string, mode: string, ...extra: string[]) => {
    const r = await run(PYTHON, [script, server.endpoint, server.accessKey, server.secretKey, bucket, mode, ...extra], {
      env: { HOME: join(work, 'boto3') },
      timeoutMs: 180_000,
    });
    return JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
  };

  it('put/get, list_objects_v2 paginator, presigned GET, delete_objects', async () => {
    const r = await boto3(bucketName('boto3'), 'basic');
    expect(r.get_equal).toBe(true);
    expect(r.put_etag).toBe(`"${r.md5}"`);
    expect(r.get_etag).toBe(r.put_etag);
    expect(r.content_type).toBe('text/plain');
    expect(r.metadata).toEqual({ colour: 'blue' });
    expect(r.pages).toBe(3);
    expect(r.listed).toEqual(['list/k0', 'list/k1', 'list/k2', 'list/k3', 'list/k4']);
    expect(r.presigned_status).toBe(200);
    expect(r.presigned_equal).toBe(true);
    expect(r.tampered_status).toBe(403);
    expect(r.deleted).toEqual(['list/k0', 'list/k1', 'list/k2', 'list/k3', 'list/k4']);
    expect(r.delete_errors).toEqual([]);
    expect(r.left_after_delete).toBe(0);
  }, CASE_MS);

  it('upload_fileobj of 20 MiB goes multipart (3 parts) and downloads identical', async (ctx) => {
    ctx.skip(noMultipart !== undefined, noMultipart);
    const src = join(work, 'boto3', 'twenty.bin');
    await writeRandomFile(src, 20 * MiB);
    const r = await boto3(bucketName('boto3'), 'multipart', src);
    expect(r.size).toBe(20 * MiB);
    expect(r.etag).toMatch(/^"[0-9a-f]{32}-3"$/);
    expect(r.sha256).toBe(await fileDigest(src, 'sha256'));
  }, CASE_MS);
});

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else out.push(p);
  }
  return out;
}
