import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { makeCa, issueServerCert } from '../tests/helpers/certs.js';
import { createLogger } from '../core/logger.js';
import { readTlsDir, tlsOptions, watchTlsDir } from './tls.js';

const root = mkdtempSync(join(tmpdir(), 'cairn-tls-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const logger = createLogger({ level: 'silent' });

/** CN of the certificate a new connection is served. */
function peerCn(port: number, ca: Buffer, opts: { minVersion?: 'TLSv1'; maxVersion?: 'TLSv1.1' | 'TLSv1.2'; ciphers?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, ca, servername: 'localhost', ...opts }, () => {
      const cn = s.getPeerCertificate().subject.CN;
      s.end();
      resolve(Array.isArray(cn) ? cn.join(',') : (cn ?? ''));
    });
    s.on('error', reject);
  });
}

async function until(cond: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('TLS directory', () => {
  const ca = makeCa(join(root, 'ca'));
  const caPem = readFileSync(ca.caCert);

  it('rejects a directory without files, and a key that does not match the certificate', () => {
    expect(() => readTlsDir(join(root, 'empty'))).toThrow(/need tls.crt and tls.key/);
    const a = join(root, 'a');
    const b = join(root, 'b');
    issueServerCert(ca, a, 'a');
    issueServerCert(ca, b, 'b');
    writeFileSync(join(a, 'tls.key'), readFileSync(join(b, 'tls.key')));
    expect(() => readTlsDir(a)).toThrow(/invalid TLS certificate or key/);
  });

  it('serves TLS 1.2+ only, and new connections get a renewed certificate without a restart', async () => {
    const dir = join(root, 'live');
    issueServerCert(ca, dir, 'first');
    const files = readTlsDir(dir);
    const server: Server = createServer(tlsOptions(files), (_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const reloader = watchTlsDir(dir, files, (o) => server.setSecureContext(o), { logger, pollMs: 60_000, debounceMs: 50 });
    try {
      expect(await peerCn(port, caPem)).toBe('first');
      expect(tlsOptions(files).minVersion).toBe('TLSv1.2');
      expect(await peerCn(port, caPem, { maxVersion: 'TLSv1.2' })).toBe('first');
      // A client that offers only TLS 1.0/1.1 (and lowers its own OpenSSL security level to be allowed to) is refused.
      await expect(peerCn(port, caPem, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' })).rejects.toThrow(/version|protocol/i);

      // A renewal: fs.watch sees it (the poll is set to a minute, longer than this test waits).
      issueServerCert(ca, dir, 'second');
      await until(async () => (await peerCn(port, caPem)) === 'second');

      // A half-written renewal (key of another certificate) is not applied; the explicit check says so.
      const other = join(root, 'other');
      issueServerCert(ca, other, 'third');
      writeFileSync(join(dir, 'tls.key'), readFileSync(join(other, 'tls.key')));
      expect(await reloader.check()).toBe(false);
      expect(await peerCn(port, caPem)).toBe('second');
      // ...and is once the certificate matches.
      writeFileSync(join(dir, 'tls.crt'), readFileSync(join(other, 'tls.crt')));
      await reloader.check();
      expect(await peerCn(port, caPem)).toBe('third');
    } finally {
      reloader.stop();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
