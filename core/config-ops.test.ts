import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';
import { loadOpsConfig } from './config-ops.js';

describe('loadOpsConfig', () => {
  it('defaults: no TLS, open metrics, no audit, no trusted proxies, usage scan every 5 min', () => {
    expect(loadOpsConfig({})).toEqual({
      tlsDir: undefined,
      httpAddress: undefined,
      metricsToken: undefined,
      auditFile: undefined,
      auditWebhook: undefined,
      trustedProxies: [],
      usageScanIntervalMs: 300_000,
    });
  });

  it('reads every variable', () => {
    const c = loadOpsConfig({
      CAIRN_TLS_DIR: '/etc/cairn/tls',
      CAIRN_HTTP_ADDRESS: '127.0.0.1:9080',
      CAIRN_METRICS_TOKEN: 'tok',
      CAIRN_AUDIT_FILE: '/var/log/cairn-audit.log',
      CAIRN_AUDIT_WEBHOOK_ENDPOINT: 'https://es:9200/audit/_bulk',
      CAIRN_AUDIT_WEBHOOK_AUTH_TOKEN: 'ApiKey abc',
      CAIRN_AUDIT_WEBHOOK_FORMAT: 'elasticsearch-bulk',
      CAIRN_AUDIT_WEBHOOK_QUEUE_SIZE: '50',
      CAIRN_TRUSTED_PROXIES: '10.0.0.0/8, 192.168.1.1,fd00::/8',
      CAIRN_USAGE_SCAN_INTERVAL: '30s',
    });
    expect(c.tlsDir).toBe('/etc/cairn/tls');
    expect(c.httpAddress).toEqual({ host: '127.0.0.1', port: 9080 });
    expect(c.metricsToken).toBe('tok');
    expect(c.auditWebhook).toEqual({ endpoint: 'https://es:9200/audit/_bulk', authToken: 'ApiKey abc', format: 'elasticsearch-bulk', queueSize: 50 });
    expect(c.trustedProxies).toEqual(['10.0.0.0/8', '192.168.1.1', 'fd00::/8']);
    expect(c.usageScanIntervalMs).toBe(30_000);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('rejects bad values with the variable name', () => {
    expect(() => loadOpsConfig({ CAIRN_HTTP_ADDRESS: ':9080' })).toThrow(/needs CAIRN_TLS_DIR/);
    expect(() => loadOpsConfig({ CAIRN_AUDIT_WEBHOOK_ENDPOINT: 'not a url' })).toThrow(/CAIRN_AUDIT_WEBHOOK_ENDPOINT/);
    expect(() => loadOpsConfig({ CAIRN_AUDIT_WEBHOOK_ENDPOINT: 'ftp://x/' })).toThrow(/http/);
    expect(() => loadOpsConfig({ CAIRN_AUDIT_WEBHOOK_ENDPOINT: 'http://x/', CAIRN_AUDIT_WEBHOOK_FORMAT: 'xml' })).toThrow(/FORMAT/);
    expect(() => loadOpsConfig({ CAIRN_AUDIT_WEBHOOK_ENDPOINT: 'http://x/', CAIRN_AUDIT_WEBHOOK_QUEUE_SIZE: '0' })).toThrow(/QUEUE_SIZE/);
    expect(() => loadOpsConfig({ CAIRN_TRUSTED_PROXIES: '10.0.0.0/40' })).toThrow(ConfigError);
    expect(() => loadOpsConfig({ CAIRN_TRUSTED_PROXIES: 'proxy.local' })).toThrow(/TRUSTED_PROXIES/);
  });

  it('is part of ServerConfig', () => {
    const c = loadConfig({ drives: ['/d1'] }, { CAIRN_ROOT_USER: 'admin', CAIRN_ROOT_PASSWORD: 'password1', CAIRN_METRICS_TOKEN: 'x' });
    expect(c.ops.metricsToken).toBe('x');
  });
});
