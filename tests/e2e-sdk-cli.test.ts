import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from './helpers/server.js';

/** `cairn server`: configuration, banner and refusal to start without credentials. */

const CLI = resolve(import.meta.dirname, '../bin/cairn.js');
const started: RunningServer[] = [];

afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()));
});

async function runCli(args: string[], env: Record<string, string | undefined>): Promise<{ code: number | null; out: string }> {
  const clean = { ...process.env };
  delete clean.CAIRN_ROOT_USER;
  delete clean.CAIRN_ROOT_PASSWORD;
  const proc = spawn(process.execPath, [CLI, ...args], { env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (b: Buffer) => (out += b.toString()));
  proc.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const [code] = (await once(proc, 'exit')) as [number | null];
  return { code, out };
}

describe('cairn server', () => {
  it('expands drive patterns, applies storage-class parity and prints the layout before the ready line', async () => {
    const root = await mkdtemp(join(tmpdir(), 'cairn-cli-'));
    try {
      const server = await startServer({
        driveDirs: [join(root, 'd{1...6}')],
        env: { CAIRN_STORAGE_CLASS_STANDARD: 'EC:2', CAIRN_STORAGE_CLASS_RRS: 'EC:1', CAIRN_REGION: 'eu-test-1' },
      });
      started.push(server);
      const out = server.output();
      expect(out).toContain('Drives:    6 in 1 erasure set');
      expect(out).toContain('4 data + 2 parity');
      expect(out).toContain('STANDARD EC:2, REDUCED_REDUNDANCY EC:1');
      expect(out).toContain('region eu-test-1');
      for (let i = 1; i <= 6; i++) expect(out).toContain(join(root, `d${i}`));
      expect(out).not.toContain('WARNING: using the default credentials');
      const lines = out.trim().split('\n');
      expect(lines.some((l) => l === `Cairn listening on ${server.endpoint}`)).toBe(true);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('refuses to start without credentials, or with bad settings', async () => {
    const noCreds = await runCli(['server', '--address', '127.0.0.1:0', join(tmpdir(), 'never-used')], {});
    expect(noCreds.code).toBe(2);
    expect(noCreds.out).toContain('CAIRN_ROOT_USER and CAIRN_ROOT_PASSWORD must be set');

    const badParity = await runCli(['server', '--address', '127.0.0.1:0', join(tmpdir(), 'never-used')], {
      CAIRN_ROOT_USER: 'admin',
      CAIRN_ROOT_PASSWORD: 'long-enough-secret',
      CAIRN_STORAGE_CLASS_STANDARD: 'three',
    });
    expect(badParity.code).toBe(2);
    expect(badParity.out).toContain('CAIRN_STORAGE_CLASS_STANDARD must look like EC:N');

    const badFlag = await runCli(['server', '--no-such-flag'], {});
    expect(badFlag.code).toBe(2);
  });
});
