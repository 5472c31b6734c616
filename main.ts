import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { ServerConfig } from './core/config.js';
import type { Logger } from './core/logger.js';
import type { CredentialStore } from './server/auth/index.js';
import { buildApp, type App } from './server/app.js';
import { startMultipartCleanup, type MultipartCleanup } from './server/multipart-cleanup.js';
import { openObjectLayer } from './storage/index.js';
import type { ObjectLayer, StorageTopology } from './storage/object-layer.js';

/**
 * The composition root: the only place that constructs concrete
 * implementations (object layer, credential store, HTTP app) and wires them.
 */

export interface RunningCairn {
  /** `http://HOST:PORT` as bound (the port is real even when 0 was asked). */
  url: string;
  port: number;
  objects: ObjectLayer;
  app: App;
  /** Drain in-flight requests, then close the object layer. Idempotent. */
  close(): Promise<void>;
}

/** Root credentials from the config. IAM users and STS come later and will replace this. */
function staticCredentials(config: ServerConfig): CredentialStore {
  return {
    async lookup(accessKey) {
      return accessKey === config.rootUser ? { secretKey: config.rootPassword } : undefined;
    },
  };
}

/**
 * One server process: storage + HTTP listening on config.address.
 *
 * Multi-worker seam: with `workers > 1` the plan is a primary that forks N
 * processes each running exactly this function with the same config (the
 * listening socket shared by node:cluster), while one of them owns background
 * work. Until then the CLI runs a single one.
 */
export async function startCairn(config: ServerConfig, logger: Logger): Promise<RunningCairn> {
  if (config.dev) await Promise.all(config.drives.map((d) => mkdir(d, { recursive: true })));
  const objects = await openObjectLayer({
    drives: [...config.drives],
    standardParity: config.standardParity,
    reducedParity: config.reducedParity,
    logger: logger.child({ component: 'storage' }),
  });
  let app: App;
  try {
    const topology = objects.topology();
    app = await buildApp({
      objects,
      credentials: staticCredentials(config),
      region: config.region,
      domains: config.domains,
      logger,
      hostId: createHash('sha256').update(`cairn:${topology.deploymentId}`).digest('base64'),
    });
    await listen(app, config.address.host, config.address.port);
  } catch (err) {
    await objects.close().catch(() => undefined);
    throw err;
  }
  const addr = app.fastify.server.address() as AddressInfo;
  const shownHost = config.address.host === '' ? '0.0.0.0' : addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  // Sweep at half the expiry (so an upload lives at most 1.5× it), between 1 s and 1 h.
  const cleanup: MultipartCleanup | undefined =
    config.multipartExpiryMs > 0
      ? startMultipartCleanup(objects, {
          expiryMs: config.multipartExpiryMs,
          intervalMs: Math.min(3_600_000, Math.max(1000, Math.floor(config.multipartExpiryMs / 2))),
          logger: logger.child({ component: 'multipart-cleanup' }),
        })
      : undefined;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${addr.port}`,
    port: addr.port,
    objects,
    app,
    close() {
      closing ??= (async () => {
        try {
          await cleanup?.stop();
          await app.close();
        } finally {
          await objects.close();
        }
      })();
      return closing;
    },
  };
}

/** `''` = every interface: IPv6 dual-stack when the host has it, IPv4 otherwise. */
async function listen(app: App, host: string, port: number): Promise<void> {
  if (host !== '') {
    await app.fastify.listen({ host, port });
    return;
  }
  try {
    await app.fastify.listen({ host: '::', port });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EAFNOSUPPORT' && (err as NodeJS.ErrnoException).code !== 'EADDRNOTAVAIL') throw err;
    await app.fastify.listen({ host: '0.0.0.0', port });
  }
}

/** Startup banner; the last line is the readiness line tools wait for. */
export function banner(config: ServerConfig, topology: StorageTopology, url: string, port: number): string[] {
  const lines: string[] = [];
  lines.push(`Cairn S3 server${config.dev ? ' (dev mode)' : ''}`);
  if (config.defaultCredentials) {
    lines.push(
      `WARNING: using the default credentials ${config.rootUser} / ${config.rootPassword}. ` +
        'Set CAIRN_ROOT_USER and CAIRN_ROOT_PASSWORD before storing anything you care about.',
    );
  }
  const local = config.address.host === '' ? `http://127.0.0.1:${port}` : url;
  lines.push(`Endpoint:  ${local}   region ${config.region}`);
  if (config.domains.length > 0) lines.push(`Domains:   ${config.domains.map((d) => `BUCKET.${d}`).join(', ')}`);
  const drives = topology.sets.reduce((n, s) => n + s.drives.length, 0);
  lines.push(`Drives:    ${drives} in ${topology.sets.length} erasure set${topology.sets.length === 1 ? '' : 's'}`);
  for (const s of topology.sets) {
    lines.push(
      `  set ${s.index + 1}: ${s.dataShards} data + ${s.parityShards} parity ` +
        `(read quorum ${s.readQuorum}, write quorum ${s.writeQuorum})`,
    );
    for (const d of s.drives) lines.push(`    ${d.path}${d.state === 'online' ? '' : ` [${d.state}]`}`);
  }
  const classes = Object.entries(topology.storageClasses).map(([name, c]) => `${name} EC:${c.parity}`);
  if (classes.length > 0) lines.push(`Storage classes: ${classes.join(', ')}`);
  if (config.workers > 1) lines.push(`Note: --workers ${config.workers} requested; this version runs 1 worker.`);
  lines.push(`Cairn listening on ${url}`);
  return lines;
}
