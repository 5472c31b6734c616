import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** openssl is on every machine these tests run on (Debian package openssl). */
export const OPENSSL = existsSync('/usr/bin/openssl') ? '/usr/bin/openssl' : 'openssl';

export interface TestCa {
  dir: string;
  caCert: string; // PEM path
  caKey: string;
}

/** A throwaway CA made with `openssl req -x509`. */
export function makeCa(dir: string, name = 'Cairn Test CA'): TestCa {
  mkdirSync(dir, { recursive: true });
  const caKey = join(dir, 'ca.key');
  const caCert = join(dir, 'ca.crt');
  execFileSync(OPENSSL, [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', `/CN=${name}`, '-keyout', caKey, '-out', caCert,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ], { stdio: 'pipe' });
  return { dir, caCert, caKey };
}

/**
 * A server certificate for localhost / 127.0.0.1 signed by `ca`, written in
 * the cert-manager layout (tls.crt, tls.key, ca.crt) into `outDir`.
 * `cn` makes certificates distinguishable (reload tests).
 */
export function issueServerCert(ca: TestCa, outDir: string, cn: string): void {
  mkdirSync(outDir, { recursive: true });
  const work = join(ca.dir, `issue-${cn}`);
  mkdirSync(work, { recursive: true });
  const key = join(work, 'tls.key');
  const csr = join(work, 'tls.csr');
  const crt = join(work, 'tls.crt');
  const ext = join(work, 'ext.cnf');
  writeFileSync(ext, 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  execFileSync(OPENSSL, ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${cn}`, '-keyout', key, '-out', csr], { stdio: 'pipe' });
  execFileSync(OPENSSL, ['x509', '-req', '-in', csr, '-CA', ca.caCert, '-CAkey', ca.caKey, '-CAcreateserial', '-days', '2', '-extfile', ext, '-out', crt], { stdio: 'pipe' });
  // Key first, then certificate, as a renewal writes them; the reloader must cope with the moment in between.
  writeFileSync(join(outDir, 'tls.key'), readFileSync(key));
  writeFileSync(join(outDir, 'tls.crt'), readFileSync(crt));
  writeFileSync(join(outDir, 'ca.crt'), readFileSync(ca.caCert));
}
