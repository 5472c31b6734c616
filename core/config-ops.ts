import { isIP } from 'node:net';
import { ConfigError, parseAddress, parseDuration, type ListenAddress } from './config.js';

/**
 * Operations settings (issue 7): TLS, metrics, audit, proxies. Part of
 * ServerConfig as `ops`; resolved and validated once like the rest.
 */
export interface OpsConfig {
  /** CAIRN_TLS_DIR: tls.crt + tls.key (+ ca.crt). When set, the main address serves HTTPS only. */
  readonly tlsDir: string | undefined;
  /** CAIRN_HTTP_ADDRESS: an extra plain-HTTP listener next to HTTPS (only with CAIRN_TLS_DIR). */
  readonly httpAddress: ListenAddress | undefined;
  /** CAIRN_METRICS_TOKEN: bearer token /metrics requires; undefined = open. */
  readonly metricsToken: string | undefined;
  /** CAIRN_AUDIT_FILE: JSON lines appended here. */
  readonly auditFile: string | undefined;
  readonly auditWebhook:
    | {
        /** CAIRN_AUDIT_WEBHOOK_ENDPOINT */
        readonly endpoint: string;
        /** CAIRN_AUDIT_WEBHOOK_AUTH_TOKEN */
        readonly authToken: string | undefined;
        /** CAIRN_AUDIT_WEBHOOK_FORMAT: json (default) | elasticsearch-bulk */
        readonly format: 'json' | 'elasticsearch-bulk';
        /** CAIRN_AUDIT_WEBHOOK_QUEUE_SIZE: records held while the target is slow or down (default 10000). */
        readonly queueSize: number;
      }
    | undefined;
  /** CAIRN_TRUSTED_PROXIES: comma-separated CIDRs whose X-Forwarded-For / X-Real-IP are believed. */
  readonly trustedProxies: readonly string[];
  /** CAIRN_USAGE_SCAN_INTERVAL: how often bucket usage is recomputed for metrics (default 5m; 0 = never). */
  readonly usageScanIntervalMs: number;
}

export const DEFAULT_AUDIT_QUEUE_SIZE = 10_000;
export const DEFAULT_USAGE_SCAN_INTERVAL = '5m';

export function loadOpsConfig(env: Readonly<Record<string, string | undefined>>): OpsConfig {
  const nonEmpty = (v: string | undefined) => (v !== undefined && v.trim() !== '' ? v.trim() : undefined);

  const tlsDir = nonEmpty(env.CAIRN_TLS_DIR);
  const httpRaw = nonEmpty(env.CAIRN_HTTP_ADDRESS);
  if (httpRaw && !tlsDir) {
    throw new ConfigError('CAIRN_HTTP_ADDRESS adds a plain-HTTP port next to HTTPS and needs CAIRN_TLS_DIR; without TLS, CAIRN_ADDRESS is already HTTP');
  }
  const httpAddress = httpRaw ? parseAddress(httpRaw) : undefined;

  let auditWebhook: OpsConfig['auditWebhook'];
  const endpoint = nonEmpty(env.CAIRN_AUDIT_WEBHOOK_ENDPOINT);
  if (endpoint) {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new ConfigError(`CAIRN_AUDIT_WEBHOOK_ENDPOINT is not a URL: ${JSON.stringify(endpoint)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ConfigError('CAIRN_AUDIT_WEBHOOK_ENDPOINT must be an http:// or https:// URL');
    }
    const format = (nonEmpty(env.CAIRN_AUDIT_WEBHOOK_FORMAT) ?? 'json').toLowerCase();
    if (format !== 'json' && format !== 'elasticsearch-bulk') {
      throw new ConfigError(`CAIRN_AUDIT_WEBHOOK_FORMAT must be json or elasticsearch-bulk, got ${JSON.stringify(format)}`);
    }
    const queueRaw = nonEmpty(env.CAIRN_AUDIT_WEBHOOK_QUEUE_SIZE) ?? String(DEFAULT_AUDIT_QUEUE_SIZE);
    const queueSize = Number(queueRaw);
    if (!Number.isInteger(queueSize) || queueSize < 1 || queueSize > 10_000_000) {
      throw new ConfigError(`CAIRN_AUDIT_WEBHOOK_QUEUE_SIZE must be a whole number from 1 to 10000000, got ${JSON.stringify(queueRaw)}`);
    }
    auditWebhook = { endpoint, authToken: nonEmpty(env.CAIRN_AUDIT_WEBHOOK_AUTH_TOKEN), format, queueSize };
  }

  const trustedProxies = (env.CAIRN_TRUSTED_PROXIES ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  for (const c of trustedProxies) {
    const [addr = '', bits, ...rest] = c.split('/');
    const v = isIP(addr.replace(/^\[|\]$/g, ''));
    const max = v === 4 ? 32 : 128;
    if (v === 0 || rest.length > 0 || (bits !== undefined && (!/^\d{1,3}$/.test(bits) || Number(bits) > max))) {
      throw new ConfigError(`CAIRN_TRUSTED_PROXIES: not an IP address or CIDR: ${JSON.stringify(c)}`);
    }
  }

  return Object.freeze({
    tlsDir,
    httpAddress: httpAddress && Object.freeze(httpAddress),
    metricsToken: nonEmpty(env.CAIRN_METRICS_TOKEN),
    auditFile: nonEmpty(env.CAIRN_AUDIT_FILE),
    auditWebhook: auditWebhook && Object.freeze(auditWebhook),
    trustedProxies: Object.freeze(trustedProxies),
    usageScanIntervalMs: parseDuration('CAIRN_USAGE_SCAN_INTERVAL', env.CAIRN_USAGE_SCAN_INTERVAL ?? DEFAULT_USAGE_SCAN_INTERVAL),
  });
}
