import { readFileSync } from 'node:fs';
import type { Server as NetServer } from 'node:net';
import type { SecureContextOptions, Server as TlsServer } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import type { ServerConfig } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import type { ObjectLayer } from '../storage/object-layer.js';
import { AuditLog } from './audit/audit-log.js';
import { FileAuditTarget } from './audit/file-target.js';
import type { AuditTarget } from './audit/record.js';
import { WebhookAuditTarget } from './audit/webhook-target.js';
import type { CredentialStore } from './auth/index.js';
import { startBucketUsageScanner, type BucketUsageScanner } from './bucket-usage.js';
import { ClientIpResolver } from './client-ip.js';
import { workerRole } from './cluster.js';
import { CairnMetrics } from './metrics.js';
import { createOps, type Ops } from './ops.js';
import { listenPlain } from './plain-listener.js';
import { readTlsDir, tlsOptions, watchTlsDir, type TlsReloader } from './tls.js';

/**
 * Builds the operations pieces main.ts wires around the S3 app: metrics,
 * audit targets, trusted-proxy resolution, TLS with reload, the optional
 * plain-HTTP listener and the bucket usage scan. Two phases, because some
 * need the app (`ops`, `https`) and some the listening server (`started`).
 */
export interface OpsSetup {
  ops: Ops;
  metrics: CairnMetrics;
  /** Present when CAIRN_TLS_DIR is set: pass to buildApp. */
  https: SecureContextOptions | undefined;
  /** After the app listens: TLS reload, the plain listener, background scans. */
  started(app: FastifyInstance, opts: { background: boolean }): Promise<{ plainUrl?: string }>;
  close(): Promise<void>;
}

export function setupOps(
  config: ServerConfig,
  deps: {
    objects: ObjectLayer;
    credentials: CredentialStore;
    logger: Logger;
    kmsStatus?: () => Promise<{ online: boolean }>;
    /** This process is one of several cluster workers (server/cluster.ts). */
    clusterWorker?: boolean;
  },
): OpsSetup {
  const { objects, logger } = deps;
  const ops = config.ops;
  let scanner: BucketUsageScanner | undefined;
  const metrics = new CairnMetrics({
    topology: () => objects.topology(),
    bucketUsage: ops.usageScanIntervalMs > 0 ? () => scanner?.current() ?? new Map() : undefined,
    kmsStatus: deps.kmsStatus,
  });

  // With several worker processes, any worker answering /metrics serves the merged figures.
  if (deps.clusterWorker ?? workerRole() !== undefined) metrics.joinCluster((err) => logger.warn({ err: err.message }, 'serving this worker\'s metrics only'));

  const auditLogger = logger.child({ component: 'audit' });
  const targets: AuditTarget[] = [];
  if (ops.auditFile) {
    targets.push(new FileAuditTarget({ path: ops.auditFile, logger: auditLogger, onDrop: (n) => metrics.auditDropped('file', n) }));
  }
  if (ops.auditWebhook) {
    targets.push(
      new WebhookAuditTarget({
        endpoint: ops.auditWebhook.endpoint,
        authToken: ops.auditWebhook.authToken,
        format: ops.auditWebhook.format,
        queueSize: ops.auditWebhook.queueSize,
        logger: auditLogger,
        onDrop: (n) => metrics.auditDropped('webhook', n),
      }),
    );
  }
  const audit = new AuditLog(targets);

  const tlsFiles = ops.tlsDir ? readTlsDir(ops.tlsDir) : undefined;
  let reloader: TlsReloader | undefined;
  let plain: { close(): Promise<void> } | undefined;

  return {
    metrics,
    https: tlsFiles ? tlsOptions(tlsFiles) : undefined,
    ops: createOps({
      objects,
      metrics,
      metricsToken: ops.metricsToken,
      audit,
      clientIp: new ClientIpResolver(ops.trustedProxies),
      domains: config.domains,
      credentials: deps.credentials,
      adminAccessKey: config.rootUser,
      version: packageVersion(),
    }),
    async started(app, opts) {
      if (ops.tlsDir && tlsFiles) {
        const server = app.server as unknown as TlsServer;
        reloader = watchTlsDir(ops.tlsDir, tlsFiles, (o) => server.setSecureContext(o), {
          logger: logger.child({ component: 'tls' }),
        });
      }
      if (opts.background && ops.usageScanIntervalMs > 0) {
        scanner = startBucketUsageScanner(objects, { intervalMs: ops.usageScanIntervalMs, logger: logger.child({ component: 'usage' }) });
      }
      if (ops.httpAddress) {
        const p = await listenPlain(app, ops.httpAddress.host, ops.httpAddress.port);
        plain = p;
        const a = (p.server as NetServer).address();
        if (a && typeof a === 'object') {
          const host = ops.httpAddress.host === '' ? '127.0.0.1' : a.family === 'IPv6' ? `[${a.address}]` : a.address;
          const plainUrl = `http://${host}:${a.port}`;
          logger.info({ url: plainUrl }, 'plain HTTP listener (CAIRN_HTTP_ADDRESS)');
          return { plainUrl };
        }
      }
      return {};
    },
    async close() {
      reloader?.stop();
      await Promise.all([plain?.close(), scanner?.stop()]);
      await audit.close();
    },
  };
}

/** For the admin summary; dist/ or the source tree, whichever this runs from. */
function packageVersion(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'cairn' && pkg.version) return pkg.version;
    } catch {
      // try the next
    }
  }
  return 'unknown';
}
