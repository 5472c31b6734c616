import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { accessSync, constants, createReadStream, createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { RunningServer } from './server.js';

/**
 * Helpers for driving real third-party S3 clients (Debian's awscli, s3cmd, boto3)
 * against a spawned Cairn. Absolute paths on purpose: on the CI machine pyenv shims
 * come first on PATH and would pick a different Python without these packages.
 */
export const AWS = '/usr/bin/aws';
export const S3CMD = '/usr/bin/s3cmd';
export const PYTHON = '/usr/bin/python3';

/** True when `path` exists and is executable. */
export function has(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A client's suite cannot run: say which Debian package brings it, once, loudly. */
export function warnMissing(client: string, pkg: string): void {
  console.warn(`[e2e-clients] ${client} not found: skipping its suite (apt-get install ${pkg})`);
}

export interface RunOptions {
  env?: Record<string, string>;
  cwd?: string;
  timeoutMs?: number;
  /** Resolve with the result instead of throwing on a non-zero exit. */
  allowFailure?: boolean;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The command line, for messages. */
  command: string;
}

export class CommandError extends Error {
  constructor(readonly result: RunResult) {
    super(
      `${result.command}\nexited with ${result.code ?? result.signal}\n--- stdout ---\n${tail(result.stdout)}\n--- stderr ---\n${tail(result.stderr)}`,
    );
    this.name = 'CommandError';
  }
}

function tail(s: string, max = 4000): string {
  return s.length > max ? `…${s.slice(-max)}` : s;
}

/**
 * Environment for a child client: ours plus `env`, minus anything that could point a
 * client at other credentials, endpoints or another Python installation.
 */
function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(AWS_|S3CMD|BOTO_|PYTHON|PYENV|VIRTUAL_ENV)/.test(k)) continue;
    out[k] = v;
  }
  return { ...out, ...env };
}

/**
 * Runs a command with a timeout; stdout/stderr are captured and shown in the error
 * when it fails, so a failing client step explains itself in the test output.
 */
export async function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const command = [cmd, ...args].map((a) => (/[\s'"]/.test(a) ? JSON.stringify(a) : a)).join(' ');
  const child = spawn(cmd, args, { env: cleanEnv(opts.env ?? {}), cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timeoutMs = opts.timeoutMs ?? 120_000;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  if (timedOut) stderr += `\n[killed after ${timeoutMs} ms]`;
  const result: RunResult = { code, signal, stdout, stderr, command };
  if (code !== 0 && !opts.allowFailure) throw new CommandError(result);
  return result;
}

export interface AwsConfigOptions {
  multipartThreshold?: string; // e.g. '8MB'
  multipartChunksize?: string;
  maxConcurrentRequests?: number;
}

/**
 * Writes an AWS CLI config and credentials file under `dir` and returns the env that
 * selects them. HOME points into `dir` as well so nothing from the machine leaks in.
 */
export async function awsEnv(dir: string, server: RunningServer, opts: AwsConfigOptions = {}): Promise<Record<string, string>> {
  await mkdir(dir, { recursive: true });
  const config = join(dir, 'aws-config');
  const credentials = join(dir, 'aws-credentials');
  const s3 = [
    '    addressing_style = path',
    opts.multipartThreshold ? `    multipart_threshold = ${opts.multipartThreshold}` : '',
    opts.multipartChunksize ? `    multipart_chunksize = ${opts.multipartChunksize}` : '',
    opts.maxConcurrentRequests ? `    max_concurrent_requests = ${opts.maxConcurrentRequests}` : '',
  ].filter(Boolean);
  await writeFile(config, ['[default]', `region = ${server.region}`, 'output = json', 's3 =', ...s3, ''].join('\n'));
  await writeFile(
    credentials,
    ['[default]', `aws_access_key_id = ${server.accessKey}`, `aws_secret_access_key = ${server.secretKey}`, ''].join('\n'),
  );
  return {
    HOME: dir,
    AWS_CONFIG_FILE: config,
    AWS_SHARED_CREDENTIALS_FILE: credentials,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
  };
}

/** `aws --endpoint-url <server> ...args` with the env from awsEnv(). */
export function aws(server: RunningServer, env: Record<string, string>, args: string[], opts: RunOptions = {}) {
  return run(AWS, ['--endpoint-url', server.endpoint, '--no-cli-pager', ...args], { ...opts, env: { ...env, ...opts.env } });
}

/** Writes an s3cmd config (path-style, plain HTTP, SigV4) and returns its path. */
export async function s3cmdConfig(dir: string, server: RunningServer): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, 's3cfg');
  const hostPort = new URL(server.endpoint).host;
  await writeFile(
    path,
    [
      '[default]',
      `access_key = ${server.accessKey}`,
      `secret_key = ${server.secretKey}`,
      `host_base = ${hostPort}`,
      // No %(bucket)s placeholder: path-style requests to the one endpoint.
      `host_bucket = ${hostPort}`,
      `bucket_location = ${server.region}`,
      'use_https = False',
      'signature_v2 = False',
      'check_ssl_certificate = False',
      'guess_mime_type = False',
      'progress_meter = False',
      '',
    ].join('\n'),
  );
  return path;
}

/** `s3cmd -c <config> ...args`, HOME isolated to the config's directory. */
export function s3cmd(config: string, args: string[], opts: RunOptions = {}) {
  return run(S3CMD, ['-c', config, ...args], { ...opts, env: { HOME: join(config, '..'), ...opts.env } });
}

/** Writes `size` random bytes to `path` in 1 MiB chunks (never one big buffer). */
export async function writeRandomFile(path: string, size: number): Promise<void> {
  const out = createWriteStream(path);
  const chunk = 1 << 20;
  for (let left = size; left > 0; left -= chunk) {
    if (!out.write(randomBytes(Math.min(chunk, left)))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/** Hex digest of a file, streamed. */
export async function fileDigest(path: string, algorithm: 'sha256' | 'md5'): Promise<string> {
  const h = createHash(algorithm);
  for await (const b of createReadStream(path)) h.update(b as Buffer);
  return h.digest('hex');
}

/** True when a client's output says the server answered NotImplemented (501). */
export function saysNotImplemented(r: RunResult): boolean {
  return /NotImplemented|\b501\b/.test(r.stdout + r.stderr);
}

/**
 * Asks the server whether multipart upload exists yet (CreateMultipartUpload in a
 * scratch bucket `bucket`, then Abort, then the bucket is removed). Resolves to a reason string when it does not, so
 * multipart cases skip with that reason instead of failing. Any other error
 * resolves to undefined: the multipart cases then run and show the real failure.
 */
export async function multipartUnsupported(server: RunningServer, bucket: string): Promise<string | undefined> {
  const client = new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey },
  });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  try {
    const r = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'probe' }));
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'probe', UploadId: r.UploadId }));
    return undefined;
  } catch (err) {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (e.name === 'NotImplemented' || e.$metadata?.httpStatusCode === 501) {
      return 'server answers NotImplemented for CreateMultipartUpload (multipart is the next issue)';
    }
    return undefined;
  } finally {
    await client.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => {});
    client.destroy();
  }
}
