import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { existsSync } from 'node:fs';

/** A real `cairn server` process on an ephemeral port with temporary drives. */
export interface RunningServer {
  endpoint: string; // http://127.0.0.1:PORT
  port: number;
  accessKey: string;
  secretKey: string;
  region: string;
  drives: string[];
  root: string;
  proc: ChildProcess;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface StartOptions {
  drives?: number;
  args?: string[];
  env?: Record<string, string>;
  /** Reuse drive directories (restart scenarios). */
  driveDirs?: string[];
  keepDrives?: boolean;
}

const CLI = resolve(import.meta.dirname, '../../bin/cairn.js');
const READY = /Cairn listening on (https?:\/\/[^\s]+)/;

export async function startServer(opts: StartOptions = {}): Promise<RunningServer> {
  if (!existsSync(resolve(import.meta.dirname, '../../dist/cli.js'))) {
    throw new Error('dist/cli.js missing: run `npm run build` (npm test does it)');
  }
  const root = await mkdtemp(join(tmpdir(), 'cairn-e2e-'));
  const drives = opts.driveDirs ?? Array.from({ length: opts.drives ?? 4 }, (_, i) => join(root, `d${i + 1}`));
  const accessKey = 'cairnadmin';
  const secretKey = 'cairn-test-secret-key';
  const proc = spawn(process.execPath, [CLI, 'server', '--address', '127.0.0.1:0', ...(opts.args ?? []), ...drives], {
    env: {
      ...process.env,
      CAIRN_ROOT_USER: accessKey,
      CAIRN_ROOT_PASSWORD: secretKey,
      CAIRN_LOG_LEVEL: process.env.CAIRN_LOG_LEVEL ?? 'warn',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const endpoint = await new Promise<string>((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 30 s:\n${out}`)), 30_000);
    const onData = (b: Buffer) => {
      out += b.toString();
      const m = READY.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolveReady(m[1]);
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before ready:\n${out}`));
    });
  });
  const port = Number(new URL(endpoint).port);
  return {
    endpoint,
    port,
    accessKey,
    secretKey,
    region: 'us-east-1',
    drives,
    root,
    proc,
    output: () => out,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      const exited = new Promise<number | null>((r) => {
        if (proc.exitCode !== null || proc.signalCode !== null) r(proc.exitCode);
        else proc.once('exit', (code) => r(code));
      });
      proc.kill(signal);
      const code = await exited;
      if (!opts.keepDrives && !opts.driveDirs) await rm(root, { recursive: true, force: true });
      return code;
    },
  };
}
