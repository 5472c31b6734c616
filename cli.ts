import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type ServerConfig } from './core/config.js';
import { createLogger, type Logger } from './core/logger.js';
import type { RunningCairn } from './main.js';
import { expandDrivePattern } from './storage/drive-pattern.js';

/** `cairn <command>`: argument parsing and process lifecycle. Wiring is in main.ts. */

const USAGE = `Usage: cairn server [flags] DIR...
       cairn admin heal|drives|kms ...   (\`cairn admin\` lists them)

  DIR may use MinIO ellipsis notation: /data{1...6} is /data1 ... /data6.

Flags:
  --address HOST:PORT   listen address (default :9000 = all interfaces; env CAIRN_ADDRESS)
  --dev                 development mode: drives ./data/d1..d4 when none are given,
                        default credentials cairnadmin/cairnadmin
  --domain D[,D...]     virtual-host domains, BUCKET.D (env CAIRN_DOMAIN)
  --region R            region (default us-east-1; env CAIRN_REGION)
  --log-level L         fatal|error|warn|info|debug|trace|silent (env CAIRN_LOG_LEVEL)
  --workers N|auto      worker processes sharing the port (default auto: one per core;
                        1 = a single process, no cluster; env CAIRN_WORKERS)

Environment (flags win over these):
  CAIRN_ROOT_USER, CAIRN_ROOT_PASSWORD      root credentials (required unless --dev)
  CAIRN_STORAGE_CLASS_STANDARD=EC:N         parity for STANDARD
  CAIRN_STORAGE_CLASS_RRS=EC:N              parity for REDUCED_REDUNDANCY
  CAIRN_VOLUMES                             drives, space-separated, when none are given
  CAIRN_ADDRESS, CAIRN_DOMAIN, CAIRN_REGION, CAIRN_LOG_LEVEL, CAIRN_WORKERS
`;

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function parseServerArgs(argv: string[], env: Readonly<Record<string, string | undefined>>): ServerConfig {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      address: { type: 'string' },
      dev: { type: 'boolean' },
      domain: { type: 'string' },
      region: { type: 'string' },
      'log-level': { type: 'string' },
      workers: { type: 'string' },
    },
  });
  return loadConfig(
    {
      address: values.address,
      drives: positionals,
      dev: values.dev,
      domain: values.domain,
      region: values.region,
      logLevel: values['log-level'],
      workers: values.workers,
    },
    env,
    (arg) => expandDrivePattern(arg).map((p) => resolve(p)),
  );
}

async function server(argv: string[]): Promise<void> {
  let config: ServerConfig;
  try {
    config = parseServerArgs(argv, process.env);
  } catch (err) {
    const msg = err instanceof ConfigError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
      ? (err as Error).message
      : String(err);
    process.stderr.write(`cairn: ${msg}\n\n${USAGE}`);
    process.exit(2);
  }
  const logger = createLogger({ level: config.logLevel });
  if (config.workers > 1) {
    // Loaded only now, and only what each side needs: the primary never opens storage.
    const cluster = (await import('node:cluster')).default;
    if (cluster.isPrimary) return primary(config, logger);
  }
  return worker(config, logger);
}

/** `--workers N` (N > 1): fork, print the banner once all listen, supervise, drain on signals. */
async function primary(config: ServerConfig, logger: Logger): Promise<void> {
  const { runPrimary } = await import('./server/cluster.js');
  // Workers answering /metrics ask the primary for every worker's figures, merged.
  (await import('./server/cluster-metrics.js')).serveClusterMetrics();
  const { banner } = await import('./server/banner.js');
  const log = logger.child({ role: 'primary' });
  // CAIRN_LMDB_COMMITTER=primary: this process runs every worker's object-record commits (storage/commit-host.ts).
  const { committerEnabled } = await import('./storage/commit-protocol.js');
  const committer = committerEnabled(process.env);
  if (committer) (await import('./storage/commit-host.js')).serveCommits(log.child({ component: 'committer' }));
  const cluster = runPrimary({ workers: config.workers, logger: log, advancedIpc: committer });
  let signals = 0;
  const stop = (signal: NodeJS.Signals) => {
    if (++signals > 1) {
      log.warn({ signal }, 'second signal: killing workers without draining');
      cluster.kill();
      process.exit(1);
    }
    log.info({ signal }, 'shutting down: draining workers');
    cluster.shutdown().then((code) => {
      log.info({ code }, 'stopped');
      process.exit(code);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  let ready;
  try {
    ready = await cluster.ready;
  } catch (err) {
    cluster.kill();
    process.stderr.write(`cairn: cannot start: ${(err as Error).message}\n`);
    process.exit(1);
  }
  process.stdout.write(banner(config, ready.topology, ready.url, ready.port).join('\n') + '\n');
}

/**
 * One server process: the whole server with `--workers 1`, or one cluster
 * worker. A worker drains on its primary's request as on a signal; the second
 * signal of the same kind exits at once (a terminal's Ctrl-C reaches the
 * primary and every worker, so the primary's request and the signal count once).
 */
async function worker(config: ServerConfig, logger: Logger): Promise<void> {
  // Loaded only now: storage, fastify and the codecs take a while to import, and
  // a configuration error or --help should answer at once.
  const { banner, startCairn } = await import('./main.js');
  const { notifyReady, onDrainRequest, workerRole } = await import('./server/cluster.js');
  const role = workerRole();
  if (role) logger = logger.child({ worker: role.slot });

  let running: RunningCairn;
  try {
    const { committerEnabled } = await import('./storage/commit-protocol.js');
    const commits = role && committerEnabled(process.env) ? await import('./storage/commit-forwarder.js').then((m) => new m.CommitClient(m.clusterWorkerPort())) : undefined;
    running = await startCairn(config, logger, role ? { background: role.background, ...(role.port !== undefined ? { port: role.port } : {}), ...(commits ? { commits } : {}) } : {});
  } catch (err) {
    logger.fatal({ err }, 'cannot start');
    process.stderr.write(`cairn: cannot start: ${(err as Error).message}\n`);
    process.exit(1);
  }
  if (role) notifyReady({ url: running.url, port: running.port, topology: running.objects.topology() });
  else process.stdout.write(banner(config, running.objects.topology(), running.url, running.port).join('\n') + '\n');

  let stopping: string | undefined;
  const stop = (reason: string) => {
    if (stopping !== undefined) {
      if (reason !== stopping || reason === 'drain') return;
      logger.warn({ signal: reason }, 'second signal: exiting without draining');
      process.exit(1);
    }
    stopping = reason;
    logger.info({ reason }, 'shutting down: draining in-flight requests');
    // A stuck request must not keep the process alive forever.
    const deadline = setTimeout(() => {
      logger.error('shutdown did not finish in 30 s; exiting');
      process.exit(1);
    }, 30_000);
    deadline.unref();
    running.close().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'error while shutting down');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (role) onDrainRequest(() => stop('drain'));
}

/** `cairn admin heal|drives ...` against a running server (admin-client.ts); `cairn admin kms rotate [--new-version] DIR...` (admin-kms.ts). */
async function admin(argv: string[]): Promise<void> {
  const [area, action, ...rest] = argv;
  if (area === 'heal' || area === 'drives') {
    const { adminCommand, AdminApiError, AdminUsageError, ADMIN_USAGE } = await import('./admin-client.js');
    try {
      process.exitCode = await adminCommand(area, argv.slice(1), { env: process.env, write: (t) => process.stdout.write(t), tty: process.stdout.isTTY === true });
    } catch (err) {
      const usage = err instanceof AdminUsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
      const msg = err instanceof AdminApiError || usage ? (err as Error).message : `cannot reach the server: ${(err as Error).message}`;
      process.stderr.write(`cairn admin ${area}: ${msg}\n${usage ? `\n${ADMIN_USAGE}` : ''}`);
      process.exit(usage ? 2 : 1);
    }
    return;
  }
  if (area !== 'kms' || action !== 'rotate') {
    const { ADMIN_USAGE } = await import('./admin-client.js');
    process.stderr.write(ADMIN_USAGE);
    process.exit(2);
  }
  const { values, positionals } = parseArgs({ args: rest, options: { 'new-version': { type: 'boolean' } }, allowPositionals: true });
  const drives = positionals.flatMap((p) => expandDrivePattern(p)).map((d) => resolve(d));
  if (drives.length === 0) {
    process.stderr.write('cairn admin kms rotate: give the drives, as to cairn server\n');
    process.exit(2);
  }
  const { adminKmsRotate } = await import('./admin-kms.js');
  const report = await adminKmsRotate(drives, { newVersion: values['new-version'] === true, env: process.env });
  process.stdout.write(`${JSON.stringify(report)}\n`);
  if (report.failed.length > 0) process.exit(1);
}

export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'server':
      return server(rest);
    case 'admin':
      return admin(rest);
    case '--version':
    case 'version':
      process.stdout.write(`cairn ${version()}\n`);
      return;
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(USAGE);
      return;
    default:
      process.stderr.write(`cairn: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      process.exit(2);
  }
}

await main(process.argv.slice(2));
