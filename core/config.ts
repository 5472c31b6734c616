import { availableParallelism } from 'node:os';
import { CairnError } from './errors.js';
import { loadOpsConfig, type OpsConfig } from './config-ops.js';

/**
 * Server configuration: every input (flags, then environment, then defaults)
 * resolved and validated once into an all-required, frozen object. Nothing else
 * in Cairn reads process.env for settings.
 */

export class ConfigError extends CairnError<'InvalidConfig'> {
  constructor(message: string) {
    super('InvalidConfig', message);
  }
}

export interface ListenAddress {
  /** '' means every interface. */
  readonly host: string;
  readonly port: number;
}

export interface ServerConfig {
  readonly address: ListenAddress;
  /** Drive directories, ellipsis patterns already expanded. */
  readonly drives: readonly string[];
  /** Virtual-host domains: `bucket.<domain>` addresses a bucket. */
  readonly domains: readonly string[];
  readonly region: string;
  readonly logLevel: LogLevel;
  readonly rootUser: string;
  readonly rootPassword: string;
  /** True when the default credentials are in use (dev mode); the banner warns. */
  readonly defaultCredentials: boolean;
  readonly dev: boolean;
  /** Worker processes sharing the port (server/cluster.ts); 1 = a single process, no cluster. */
  readonly workers: number;
  /** Parity drives per erasure set for each storage class; undefined = storage default. */
  readonly standardParity: number | undefined;
  readonly reducedParity: number | undefined;
  /** Incomplete multipart uploads older than this are aborted in the background; 0 = never. */
  readonly multipartExpiryMs: number;
  /** TLS, metrics, audit and proxy settings (core/config-ops.ts). */
  readonly ops: OpsConfig;
  /** The background scanner of the healer (storage/heal), started in the background worker. */
  readonly scanner: ScannerConfig;
  /** CAIRN_DRIVE_TIMEOUT_MS: every drive call's timeout (a drive past it goes offline); undefined = storage defaults. */
  readonly driveTimeoutMs: number | undefined;
  /** CAIRN_DRIVE_PROBE_INTERVAL_MS: how often offline drives are probed; undefined = storage default. */
  readonly driveProbeIntervalMs: number | undefined;
}

/** CAIRN_SCANNER_*: how fast and how thoroughly the healer's scanner verifies stored objects. */
export interface ScannerConfig {
  /** Objects verified per second across the deployment; 0 = scanner off. */
  readonly objectsPerSecond: number;
  /** Shard bytes read per second in deep mode. */
  readonly bytesPerSecond: number;
  /** normal: records and shard files' presence and size; deep: also every block's bitrot hash. */
  readonly mode: 'normal' | 'deep';
  /** Pause between two scanner cycles. */
  readonly intervalMs: number;
}

/** What the command line may set. Every field is optional; flags override the environment. */
export interface ConfigInput {
  address?: string;
  drives?: readonly string[];
  domain?: string;
  region?: string;
  logLevel?: string;
  workers?: string | number;
  dev?: boolean;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_ADDRESS = ':9000';
export const DEV_DRIVES = ['./data/d1', './data/d2', './data/d3', './data/d4'];
export const DEV_CREDENTIALS = { user: 'cairnadmin', password: 'cairnadmin' } as const;

/**
 * Resolve and validate. `expandDrives` turns one argument (possibly a
 * `/d{1...6}` pattern) into directories; it lives in storage/, which core may
 * not import, so the caller passes it in.
 */
export function loadConfig(
  input: ConfigInput,
  env: Readonly<Record<string, string | undefined>>,
  expandDrives: (arg: string) => string[] = (a) => [a],
): ServerConfig {
  const dev = input.dev ?? false;
  const address = parseAddress(input.address ?? env.CAIRN_ADDRESS ?? DEFAULT_ADDRESS);

  let driveArgs = input.drives ?? [];
  if (driveArgs.length === 0) {
    const fromEnv = env.CAIRN_VOLUMES?.trim();
    if (fromEnv) driveArgs = fromEnv.split(/\s+/);
  }
  if (driveArgs.length === 0 && dev) driveArgs = DEV_DRIVES;
  if (driveArgs.length === 0) throw new ConfigError('no drives given: cairn server [flags] DIR... (or --dev)');
  const drives = driveArgs.flatMap((a) => {
    try {
      return expandDrives(a);
    } catch (err) {
      throw new ConfigError(`bad drive argument ${JSON.stringify(a)}: ${(err as Error).message}`);
    }
  });
  if (new Set(drives).size !== drives.length) throw new ConfigError('the same drive is listed twice');

  const domains = (input.domain ?? env.CAIRN_DOMAIN ?? '')
    .split(',')
    .map((d) => d.trim().toLowerCase().replace(/\.$/, ''))
    .filter((d) => d.length > 0);
  for (const d of domains) {
    if (!/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(d)) throw new ConfigError(`invalid domain ${JSON.stringify(d)}`);
  }

  const region = input.region ?? env.CAIRN_REGION ?? 'us-east-1';
  if (!/^[a-z0-9-]{1,64}$/.test(region)) throw new ConfigError(`invalid region ${JSON.stringify(region)}`);

  const logLevel = (input.logLevel ?? env.CAIRN_LOG_LEVEL ?? 'info').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError(`invalid log level ${JSON.stringify(logLevel)} (one of ${LOG_LEVELS.join(', ')})`);
  }

  let rootUser = env.CAIRN_ROOT_USER ?? '';
  let rootPassword = env.CAIRN_ROOT_PASSWORD ?? '';
  let defaultCredentials = false;
  if (!rootUser && !rootPassword && dev) {
    rootUser = DEV_CREDENTIALS.user;
    rootPassword = DEV_CREDENTIALS.password;
    defaultCredentials = true;
  }
  if (!rootUser || !rootPassword) {
    throw new ConfigError('CAIRN_ROOT_USER and CAIRN_ROOT_PASSWORD must be set (or run with --dev)');
  }
  // Same bounds as MinIO: short keys are guessable, and SigV4 forbids nothing shorter anyway.
  if (rootUser.length < 3 || !/^[\x21-\x7e]+$/.test(rootUser)) {
    throw new ConfigError('CAIRN_ROOT_USER must be at least 3 printable ASCII characters without spaces');
  }
  if (rootPassword.length < 8) throw new ConfigError('CAIRN_ROOT_PASSWORD must be at least 8 characters');

  // One per core by default: each worker is a whole server (storage + HTTP) on the shared port.
  const workersRaw = input.workers ?? env.CAIRN_WORKERS ?? 'auto';
  const workers = workersRaw === 'auto' ? availableParallelism() : Number(workersRaw);
  if (!Number.isInteger(workers) || workers < 1 || workers > 256) {
    throw new ConfigError(`invalid worker count ${JSON.stringify(workersRaw)}`);
  }

  const standardParity = parseStorageClass('CAIRN_STORAGE_CLASS_STANDARD', env.CAIRN_STORAGE_CLASS_STANDARD);
  const reducedParity = parseStorageClass('CAIRN_STORAGE_CLASS_RRS', env.CAIRN_STORAGE_CLASS_RRS);
  if (standardParity !== undefined && reducedParity !== undefined && reducedParity > standardParity) {
    throw new ConfigError('CAIRN_STORAGE_CLASS_RRS parity must not exceed CAIRN_STORAGE_CLASS_STANDARD parity');
  }

  const multipartExpiryMs = parseDuration('CAIRN_MULTIPART_EXPIRY', env.CAIRN_MULTIPART_EXPIRY ?? DEFAULT_MULTIPART_EXPIRY);

  return Object.freeze({
    address: Object.freeze(address),
    drives: Object.freeze(drives),
    domains: Object.freeze(domains),
    region,
    logLevel: logLevel as LogLevel,
    rootUser,
    rootPassword,
    defaultCredentials,
    dev,
    workers,
    standardParity,
    reducedParity,
    multipartExpiryMs,
    ops: loadOpsConfig(env),
    scanner: Object.freeze(loadScannerConfig(env)),
    driveTimeoutMs: positiveMs('CAIRN_DRIVE_TIMEOUT_MS', env.CAIRN_DRIVE_TIMEOUT_MS),
    driveProbeIntervalMs: positiveMs('CAIRN_DRIVE_PROBE_INTERVAL_MS', env.CAIRN_DRIVE_PROBE_INTERVAL_MS),
  });
}

/** An optional whole number of milliseconds > 0. */
function positiveMs(name: string, v: string | undefined): number | undefined {
  if (v === undefined || v.trim() === '') return undefined;
  const n = Number(v.trim());
  if (!Number.isInteger(n) || n <= 0) throw new ConfigError(`${name} must be a whole number of milliseconds > 0, got ${JSON.stringify(v)}`);
  return n;
}

function loadScannerConfig(env: Readonly<Record<string, string | undefined>>): ScannerConfig {
  const rateRaw = (env.CAIRN_SCANNER_RATE ?? '200').trim();
  const objectsPerSecond = Number(rateRaw);
  if (rateRaw === '' || !Number.isFinite(objectsPerSecond) || objectsPerSecond < 0) {
    throw new ConfigError(`CAIRN_SCANNER_RATE must be objects per second (0 = off), got ${JSON.stringify(rateRaw)}`);
  }
  const mode = (env.CAIRN_SCANNER_MODE ?? 'normal').trim().toLowerCase();
  if (mode !== 'normal' && mode !== 'deep') throw new ConfigError(`CAIRN_SCANNER_MODE must be normal or deep, got ${JSON.stringify(mode)}`);
  const bytesPerSecond = parseByteSize('CAIRN_SCANNER_BYTES_RATE', env.CAIRN_SCANNER_BYTES_RATE ?? '64MiB');
  if (bytesPerSecond <= 0) throw new ConfigError('CAIRN_SCANNER_BYTES_RATE must be more than 0 (CAIRN_SCANNER_RATE=0 turns the scanner off)');
  return {
    objectsPerSecond,
    bytesPerSecond,
    mode,
    intervalMs: parseDuration('CAIRN_SCANNER_INTERVAL', env.CAIRN_SCANNER_INTERVAL ?? '1h'),
  };
}

/** `64MiB`, `500MB`, `1GiB`, `4096` (bytes); binary (KiB, MiB, GiB) and decimal (KB, MB, GB) units. */
export function parseByteSize(name: string, v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?$/i.exec(v.trim());
  if (!m) throw new ConfigError(`${name} must be a size like 64MiB or 500MB, got ${JSON.stringify(v)}`);
  const unit = { b: 1, kb: 1e3, kib: 1024, mb: 1e6, mib: 1024 ** 2, gb: 1e9, gib: 1024 ** 3 }[(m[2] ?? 'b').toLowerCase() as 'b'];
  return Math.round(Number(m[1]) * unit);
}

/** One day, as MinIO's default for stale uploads. */
export const DEFAULT_MULTIPART_EXPIRY = '24h';

/** `90s`, `30m`, `24h`, `7d`, `500ms`; a bare number is seconds; `0` or `off` disables. */
export function parseDuration(name: string, v: string): number {
  const s = v.trim().toLowerCase();
  if (s === 'off' || s === '0') return 0;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(s);
  if (!m) throw new ConfigError(`${name} must be a duration like 90s, 30m, 24h or 7d, got ${JSON.stringify(v)}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Math.round(Number(m[1]) * unit);
}

/** `host:port`, `:port` (all interfaces), `[v6]:port`. */
export function parseAddress(s: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(s.trim());
  if (!m) throw new ConfigError(`invalid address ${JSON.stringify(s)} (expected HOST:PORT or :PORT)`);
  const port = Number(m[3]);
  if (port > 65535) throw new ConfigError(`invalid port in ${JSON.stringify(s)}`);
  return { host: m[1] ?? m[2] ?? '', port };
}

/** `EC:N` → N. */
export function parseStorageClass(name: string, v: string | undefined): number | undefined {
  if (v === undefined || v.trim() === '') return undefined;
  const m = /^EC:(\d{1,2})$/i.exec(v.trim());
  if (!m) throw new ConfigError(`${name} must look like EC:N, got ${JSON.stringify(v)}`);
  return Number(m[1]);
}
