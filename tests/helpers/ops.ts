import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** Helpers shared by the tests/e2e-ops-*.test.ts suites. */

/** A TCP port nothing listens on right now (for third-party daemons that cannot bind port 0 and report it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/** Polls `fn` until it returns a value (not undefined), or fails with the last error / `what`. */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A child process whose output is kept for failure messages; `stop()` ends exactly this process. */
export interface Daemon {
  proc: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

export function startDaemon(cmd: string, args: string[]): Daemon {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  proc.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  return {
    proc,
    output: () => out,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
        setTimeout(() => proc.kill('SIGKILL'), 5000).unref();
      }),
  };
}

/** GET over plain HTTP with optional headers: status, headers and text body. */
export async function httpGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; contentType: string | null }> {
  const res = await fetch(url, { headers });
  return { status: res.status, body: await res.text(), contentType: res.headers.get('content-type') };
}
