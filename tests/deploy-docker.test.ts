import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAddress } from '../core/config.js';
import { expandDrivePattern } from '../storage/drive-pattern.js';

/**
 * No Docker engine runs on these machines, so the Dockerfile is parsed and its essentials
 * checked against the project: the build context (.dockerignore) keeps what `npm run build`
 * needs, the runtime stage is non-root with only the runtime files, the ports, volumes and
 * command agree with what `cairn server` is given, and the HEALTHCHECK command really works
 * (it is run here against a small HTTP server).
 */

const ROOT = resolve(import.meta.dirname, '..');

interface Instruction {
  op: string;
  args: string;
  line: number;
}
interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Dockerfile → stages of instructions (comments dropped, `\` continuations joined, ARGs before FROM resolved). */
function parseDockerfile(text: string): Stage[] {
  const logical: Instruction[] = [];
  let buf = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (buf === '' && (line.trim() === '' || line.trimStart().startsWith('#'))) return;
    if (buf !== '' && line.trimStart().startsWith('#')) return; // comment inside a continuation
    if (buf === '') start = i + 1;
    if (line.endsWith('\\')) {
      buf += line.slice(0, -1) + ' ';
      return;
    }
    buf += line;
    const m = /^\s*(\w+)\s+([\s\S]*)$/.exec(buf);
    if (!m) throw new Error(`Dockerfile line ${start}: cannot parse ${JSON.stringify(buf)}`);
    logical.push({ op: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start });
    buf = '';
  });
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const ins of logical) {
    if (ins.op === 'ARG' && stages.length === 0) {
      const [k, v = ''] = ins.args.split('=');
      globalArgs.set(k!, v);
    } else if (ins.op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`FROM at line ${ins.line}: ${ins.args}`);
      const from = m[1]!.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string, b: string) => globalArgs.get(a ?? b) ?? '');
      stages.push({ from, name: m[2], instructions: [] });
    } else if (stages.length > 0) {
      stages.at(-1)!.instructions.push(ins);
    } else if (ins.op !== 'ARG') {
      throw new Error(`${ins.op} before the first FROM (line ${ins.line})`);
    }
  }
  return stages;
}

/** The JSON (exec) form of CMD, ENTRYPOINT, VOLUME, HEALTHCHECK ... CMD. */
function execForm(args: string): string[] {
  const parsed = JSON.parse(args) as unknown;
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) throw new Error(`not an exec form: ${args}`);
  return parsed;
}

function all(stage: Stage, op: string): Instruction[] {
  return stage.instructions.filter((i) => i.op === op);
}
function last(stage: Stage, op: string): Instruction {
  const found = all(stage, op);
  expect(found.length, `${op} in stage ${stage.name ?? stage.from}`).toBeGreaterThan(0);
  return found.at(-1)!;
}

/** .dockerignore semantics, enough for our file: `*` within a segment, `**` across segments, prefix dirs. */
function dockerignored(patterns: string[], path: string): boolean {
  let ignored = false;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const p = (negate ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, '');
    const re = new RegExp(
      '^' +
        p
          .split('/')
          .map((seg) => (seg === '**' ? '(?:.*/)?' : seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]') + '/'))
          .join('')
          .replace(/\/$/, '') +
        '(?:/.*)?$',
    );
    if (re.test(path)) ignored = !negate;
  }
  return ignored;
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const stages = parseDockerfile(dockerfile);
const build = stages[0]!;
const runtime = stages.at(-1)!;
const entrypoint = execForm(last(runtime, 'ENTRYPOINT').args);
const cmd = execForm(last(runtime, 'CMD').args);

/** The address and drives the image's default command gives the server. */
function defaultServerArgs(): { port: number; drives: string[] } {
  expect(cmd[0]).toBe('server');
  const i = cmd.indexOf('--address');
  const address = parseAddress(i >= 0 ? cmd[i + 1]! : ':9000');
  const drives = cmd.slice(1).filter((a, j) => !a.startsWith('--') && cmd[j] !== '--address').flatMap(expandDrivePattern);
  return { port: address.port, drives };
}

describe('Dockerfile', () => {
  it('is multi-stage on Node 24 slim, the build stage first and the runtime last', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(s.from, `stage ${s.name}`).toBe('node:24-slim');
    expect(build.name).toBeDefined();
    expect(runtime.name).not.toBe(build.name);
  });

  it('builds the native addon in the build stage only, from the lock file', () => {
    const runs = (s: Stage) => all(s, 'RUN').map((r) => r.args).join('\n');
    for (const tool of ['python3', 'make', 'g++']) {
      expect(runs(build), `${tool} installed for node-gyp`).toMatch(new RegExp(`apt-get install[^\\n]*\\s${tool.replace('+', '\\+')}(\\s|$)`));
      expect(runs(runtime), `${tool} not in the runtime stage`).not.toMatch(new RegExp(`\\s${tool.replace(/\+/g, '\\+')}(\\s|$)`));
    }
    expect(runs(runtime)).not.toMatch(/apt-get install|npm (ci|install)/);
    // npm ci (never npm install: it may rewrite the lock), after copying the lock file alone.
    const ciAt = build.instructions.findIndex((i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args));
    expect(ciAt).toBeGreaterThan(0);
    expect(runs(build)).not.toMatch(/\bnpm (install|i)\b/);
    const copies = build.instructions.slice(0, ciAt).filter((i) => i.op === 'COPY').map((i) => i.args);
    expect(copies.some((c) => c.includes('package-lock.json') && c.includes('package.json'))).toBe(true);
    expect(runs(build)).not.toMatch(/--ignore-scripts/); // the addon is built by its install script
    const order = ['npm ci', 'npm run build', 'npm prune --omit=dev'].map((s) => runs(build).indexOf(s));
    expect(order.every((x) => x >= 0), 'npm ci, npm run build, npm prune --omit=dev').toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    // What `npm run build` is: tsc into dist/ (the runtime copies dist/).
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string>; bin: Record<string, string> };
    expect(pkg.scripts.build).toMatch(/\btsc\b/);
    const tsconfig = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')) as { compilerOptions: { outDir: string } };
    expect(tsconfig.compilerOptions.outDir.replace(/^\.\//, '')).toBe('dist');
  });

  it('runtime stage has only dist, bin, node_modules and package.json, copied from the build stage', () => {
    const copied = all(runtime, 'COPY').map((c) => {
      const parts = c.args.split(/\s+/).filter((p) => !p.startsWith('--'));
      expect(c.args, 'copied from the build stage').toContain(`--from=${build.name}`);
      return parts.slice(0, -1).map((src) => relative('/src', src));
    });
    expect(copied.flat().sort()).toEqual(['bin', 'dist', 'node_modules', 'package.json']);
    const workdir = last(runtime, 'WORKDIR').args;
    // ENTRYPOINT runs bin/cairn.js relative to WORKDIR; package.json names the same file.
    expect(entrypoint).toEqual(['node', 'bin/cairn.js']);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(pkg.bin.cairn).toBe('bin/cairn.js');
    expect(workdir).toMatch(/^\//);
    expect(readFileSync(join(ROOT, 'bin/cairn.js'), 'utf8')).toContain('../dist/cli.js');
  });

  it('runs as a numeric non-root user', () => {
    const user = last(runtime, 'USER').args;
    const [uid, gid] = user.split(':');
    expect(uid).toMatch(/^\d+$/); // numeric: Kubernetes' runAsNonRoot can check it
    expect(Number(uid)).toBe(1000);
    expect(Number(gid ?? uid)).not.toBe(0);
    // Nothing after USER switches back to root.
    const at = runtime.instructions.lastIndexOf(last(runtime, 'USER'));
    expect(runtime.instructions.slice(at + 1).some((i) => i.op === 'RUN')).toBe(false);
  });

  it('exposes the port and declares a volume per drive of the default command', () => {
    const { port, drives } = defaultServerArgs();
    expect(port).toBe(9000);
    expect(all(runtime, 'EXPOSE').flatMap((e) => e.args.split(/\s+/))).toContain(String(port));
    const volumes = all(runtime, 'VOLUME').flatMap((v) => execForm(v.args));
    expect(drives).toEqual(['/data1', '/data2', '/data3', '/data4']);
    expect(volumes.sort()).toEqual([...drives].sort());
    // The mount points exist and belong to the runtime user, so fresh named volumes do too.
    const runs = all(runtime, 'RUN').map((r) => r.args).join('\n');
    for (const d of drives) expect(runs).toMatch(new RegExp(`mkdir -p[^\\n]*${d}\\b`));
    expect(runs).toMatch(/chown 1000:1000/);
  });

  it('.dockerignore keeps host builds out and everything the build needs in', () => {
    const patterns = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    for (const p of ['node_modules', 'node_modules/lmdb/package.json', 'dist/cli.js', '.git/HEAD', 'core/config.test.ts']) {
      expect(dockerignored(patterns, p), `${p} ignored`).toBe(true);
    }
    const tsconfig = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')) as { include: string[] };
    const needed = ['package.json', 'package-lock.json', 'tsconfig.json', 'bin/cairn.js'];
    for (const inc of tsconfig.include) {
      const abs = join(ROOT, inc);
      needed.push(...(statSync(abs).isDirectory() ? walk(abs) : [abs]).map((f) => relative(ROOT, f)).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')));
    }
    expect(needed.length).toBeGreaterThan(20);
    for (const f of needed) expect(dockerignored(patterns, f), `${f} must reach the build`).toBe(false);
  });

  describe('HEALTHCHECK', () => {
    const hc = last(runtime, 'HEALTHCHECK').args;
    const m = /^((?:--\S+\s+)*)CMD\s+(\[[\s\S]*\])$/.exec(hc);
    const probe = execForm(m?.[2] ?? 'null');
    let server: Server;
    let status = 200;
    const paths: string[] = [];

    beforeAll(async () => {
      server = createServer((req, res) => {
        paths.push(req.url ?? '');
        res.statusCode = req.url === '/health/live' ? status : 404;
        res.end();
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    function runProbe(env: Record<string, string>): Promise<number | null> {
      return new Promise((res, rej) => {
        const child = spawn(process.execPath, probe.slice(1), { env: { PATH: process.env.PATH ?? '', ...env }, stdio: 'ignore' });
        child.on('error', rej);
        child.on('exit', (code) => res(code));
      });
    }

    it('uses node (the slim image has no curl) on /health/live with a timeout', () => {
      expect(m?.[1]).toMatch(/--timeout=\d+s/);
      expect(m?.[1]).toMatch(/--interval=\d+s/);
      expect(probe[0]).toBe('node');
      expect(probe.join(' ')).toContain('/health/live');
      expect(probe.join(' ')).not.toMatch(/\b(curl|wget)\b/);
    });

    it('passes on 200 and fails on 503 or when nothing listens', async () => {
      const port = (server.address() as AddressInfo).port;
      status = 200;
      expect(await runProbe({ CAIRN_ADDRESS: `:${port}` })).toBe(0);
      expect(paths.at(-1)).toBe('/health/live');
      status = 503;
      expect(await runProbe({ CAIRN_ADDRESS: `:${port}` })).toBe(1);
      // A port where nothing listens: find one by closing a fresh server.
      const spare = createServer();
      await new Promise<void>((r) => spare.listen(0, '127.0.0.1', r));
      const dead = (spare.address() as AddressInfo).port;
      await new Promise<void>((r) => spare.close(() => r()));
      expect(await runProbe({ CAIRN_ADDRESS: `:${dead}` })).toBe(1);
      // With TLS configured it speaks HTTPS: against this plain-HTTP server that fails.
      status = 200;
      expect(await runProbe({ CAIRN_ADDRESS: `:${port}`, CAIRN_TLS_DIR: '/nonexistent' })).toBe(1);
    });
  });
});
