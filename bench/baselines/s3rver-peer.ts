/**
 * A peer: s3rver (npm, a plain-file S3 fake) in its own process, on a directory
 * of the first drive. Optional: when the package is not installed the peer is
 * skipped. Its only credentials are S3RVER/S3RVER; its truncated listings need
 * `--openssl-legacy-provider` on OpenSSL 3 (see shared/perf-limits.md), which
 * the spawner passes.
 * Run as `node --openssl-legacy-provider dist/bench/baselines/s3rver-peer.js DIR`.
 */
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot, spawnReady, type Spawned } from '../spawn.js';

export const S3RVER_KEY = 'S3RVER';

export function s3rverInstalled(): boolean {
  try {
    createRequire(resolve(repoRoot(), 'package.json')).resolve('s3rver');
    return true;
  } catch {
    return false;
  }
}

export function startS3rver(directory: string): Promise<Spawned> {
  const script = resolve(repoRoot(), 'dist/bench/baselines/s3rver-peer.js');
  return spawnReady(process.execPath, ['--openssl-legacy-provider', script, directory], {}, /s3rver listening on (http:\/\/\S+)/);
}

interface S3rverLike {
  run(): Promise<{ address: string; port: number }>;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const require = createRequire(import.meta.url);
  const S3rver = require('s3rver') as new (opts: Record<string, unknown>) => S3rverLike;
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: process.argv[2] ?? resolve('s3rver-data') });
  const { port } = await server.run();
  process.stdout.write(`s3rver listening on http://127.0.0.1:${port}\n`);
}
