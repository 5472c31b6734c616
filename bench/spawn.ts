/**
 * Processes the bench starts: a Cairn server on given drive directories, the
 * no-op server, s3rver. Each prints a ready line with its URL; we wait for it,
 * keep the output for error messages, and stop the process at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

export interface Spawned {
  endpoint: string;
  pid: number;
  proc: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

export async function spawnReady(
  command: string,
  args: string[],
  env: Record<string, string | undefined>,
  ready: RegExp,
  timeoutMs = 60_000,
): Promise<Spawned> {
  const proc = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const endpoint = await new Promise<string>((resolveReady, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${args[0] ?? command} did not start in ${timeoutMs / 1000} s:\n${out}`));
    }, timeoutMs);
    const onData = (b: Buffer) => {
      // Keep only the tail: a chatty server must not grow the bench's memory.
      out = (out + b.toString()).slice(-20_000);
      const m = ready.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolveReady(m[1]);
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${args[0] ?? command} exited (${code ?? signal}) before it was ready:\n${out}`));
    });
  });
  return {
    endpoint,
    pid: proc.pid!,
    proc,
    output: () => out,
    stop: () =>
      new Promise<void>((done) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return done();
        const kill = setTimeout(() => proc.kill('SIGKILL'), 30_000);
        proc.once('exit', () => {
          clearTimeout(kill);
          done();
        });
        proc.kill('SIGTERM');
      }),
  };
}

/** The repository root, from dist/bench/ or bench/ alike. */
export function repoRoot(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  return here.includes('/dist/') ? resolve(here, '../..') : resolve(here, '..');
}

export interface CairnOptions {
  drives: string[];
  accessKey: string;
  secretKey: string;
  workers?: number;
  extraArgs?: string[];
  /** Extra node flags for the server (e.g. --cpu-prof). */
  nodeArgs?: string[];
  env?: Record<string, string>;
}

export function startCairn(o: CairnOptions): Promise<Spawned> {
  const cli = resolve(repoRoot(), 'bin/cairn.js');
  const args = [...(o.nodeArgs ?? []), cli, 'server', '--address', '127.0.0.1:0'];
  if (o.workers !== undefined) args.push('--workers', String(o.workers));
  args.push(...(o.extraArgs ?? []), ...o.drives);
  return spawnReady(
    process.execPath,
    args,
    { CAIRN_ROOT_USER: o.accessKey, CAIRN_ROOT_PASSWORD: o.secretKey, CAIRN_LOG_LEVEL: process.env.CAIRN_LOG_LEVEL ?? 'warn', ...o.env },
    /Cairn listening on (https?:\/\/\S+)/,
  );
}

export function startNoop(): Promise<Spawned> {
  const script = resolve(repoRoot(), 'dist/bench/noop-server.js');
  return spawnReady(process.execPath, [script], {}, /noop listening on (http:\/\/\S+)/);
}
