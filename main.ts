import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { ServerConfig } from './core/config.js';
import { createKms, kmsConfigFromEnv } from './crypto/kms-config.js';
import type { Logger } from './core/logger.js';
import type { CredentialStore } from './server/auth/index.js';
import { buildApp, type App } from './server/app.js';
import { startLoopDelayMonitor } from './server/loop-delay.js';
import { startMultipartCleanup, type MultipartCleanup } from './server/multipart-cleanup.js';
import { setupOps, type OpsSetup } from './server/ops-setup.js';
import { openObjectLayer } from './storage/index.js';
import type { ObjectLayer } from './storage/object-layer.js';
import type { CommitClient } from './storage/commit-forwarder.js';

export { banner } from './server/banner.js';

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

/** How the cluster primary placed this process (server/cluster.ts); all defaults for a single process. */
export interface StartOptions {
  /** Run once-per-deployment background jobs (multipart cleanup, the healer) here. Default true. */
  background?: boolean;
  /** Listen on this port instead of config.address.port (a restarted worker pinning an ephemeral port). */
  port?: number;
  /** A cluster worker whose object-record writes go to the primary's committer (CAIRN_LMDB_COMMITTER=primary). */
  commits?: CommitClient;
}

/**
 * One server process: storage + HTTP listening on config.address. With
 * `--workers N` the primary (server/cluster.ts) forks N processes that each
 * run exactly this with the same config, the listening socket shared by
 * node:cluster; only the one started with `background` sweeps multipart uploads.
 */
export async function startCairn(config: ServerConfig, logger: Logger, opts: StartOptions = {}): Promise<RunningCairn> {
  if (config.dev) await Promise.all(config.drives.map((d) => mkdir(d, { recursive: true })));
  // Server-side encryption: the KMS from CAIRN_KMS_* and CAIRN_SSE_AUTO=on (encrypt every object with SSE-S3).
  const kms = await createKms(kmsConfigFromEnv(process.env));
  const sseAuto = /^(on|true|1)$/i.test(process.env['CAIRN_SSE_AUTO'] ?? '');
  if (sseAuto && !kms) throw new Error('CAIRN_SSE_AUTO=on needs a KMS (CAIRN_KMS_SECRET_KEY, CAIRN_KMS_KEY_FILE or CAIRN_KMS_VAULT_*)');
  const objects = await openObjectLayer({
    sse: { ...(kms ? { kms } : {}), auto: sseAuto },
    drives: [...config.drives],
    standardParity: config.standardParity,
    reducedParity: config.reducedParity,
    ...(config.driveTimeoutMs !== undefined ? { driveTimeoutMs: config.driveTimeoutMs } : {}),
    ...(config.driveProbeIntervalMs !== undefined ? { driveProbeIntervalMs: config.driveProbeIntervalMs } : {}),
    ...(opts.commits ? { commits: opts.commits } : {}),
    logger: logger.child({ component: 'storage' }),
  });
  let app: App;
  let ops: OpsSetup | undefined;
  try {
    const topology = objects.topology();
    const credentials = staticCredentials(config);
    // Metrics, audit, TLS, health (server/ops-setup.ts).
    ops = setupOps(config, { objects, credentials, logger, ...(kms ? { kmsStatus: () => kms.status() } : {}) });
    app = await buildApp({
      objects,
      credentials,
      region: config.region,
      domains: config.domains,
      logger,
      hostId: createHash('sha256').update(`cairn:${topology.deploymentId}`).digest('base64'),
      ops: ops.ops,
      https: ops.https,
    });
    await listen(app, config.address.host, opts.port ?? config.address.port);
    await ops.started(app.fastify, { background: opts.background ?? true });
  } catch (err) {
    await ops?.close().catch(() => undefined);
    await objects.close().catch(() => undefined);
    throw err;
  }
  const opsSetup = ops;
  const addr = app.fastify.server.address() as AddressInfo;
  const shownHost = config.address.host === '' ? '0.0.0.0' : addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  // Sweep at half the expiry (so an upload lives at most 1.5× it), between 1 s and 1 h.
  const cleanup: MultipartCleanup | undefined =
    config.multipartExpiryMs > 0 && (opts.background ?? true)
      ? startMultipartCleanup(objects, {
          expiryMs: config.multipartExpiryMs,
          intervalMs: Math.min(3_600_000, Math.max(1000, Math.floor(config.multipartExpiryMs / 2))),
          logger: logger.child({ component: 'multipart-cleanup' }),
        })
      : undefined;
  // The healer (heal queue, scanner, drive rebuilds) runs once per deployment, next to the
  // multipart cleanup; every process answers the admin API and /metrics from its published status.
  if (opts.background ?? true) {
    objects.startHealing({
      scannerObjectsPerSecond: config.scanner.objectsPerSecond,
      scannerBytesPerSecond: config.scanner.bytesPerSecond,
      scannerMode: config.scanner.mode,
      scannerIntervalMs: config.scanner.intervalMs,
    });
  }
  opsSetup.metrics.reportHealing(() => objects.healStatus());
  // This process's event-loop delay: a debug line every 10 s (CAIRN_LOG_LEVEL=debug) and
  // the gauge cairn_event_loop_delay_seconds{quantile} on /metrics.
  const loopDelay = startLoopDelayMonitor({ logger: logger.child({ component: 'loop' }), registry: opsSetup.metrics.registry });
  let closing: Promise<void> | undefined;
  return {
    url: `${opsSetup.https ? 'https' : 'http'}://${shownHost}:${addr.port}`,
    port: addr.port,
    objects,
    app,
    close() {
      closing ??= (async () => {
        loopDelay.stop();
        try {
          await cleanup?.stop();
          await app.close();
          await opsSetup.close();
        } finally {
          await objects.close();
          await kms?.close().catch(() => undefined);
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
