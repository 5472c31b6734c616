import { createHash } from 'node:crypto';
import { existsSync, readFileSync, watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { Logger } from '../core/logger.js';

/**
 * TLS from a directory in the cert-manager / kubernetes.io/tls Secret layout:
 * `tls.crt` (leaf + intermediates, PEM), `tls.key`, optional `ca.crt`.
 * TLS 1.2 is the floor. The directory is watched and the server's secure
 * context swapped when the files change, so renewals need no restart: new
 * connections get the new certificate, open ones keep theirs.
 *
 * Kubernetes updates a mounted Secret by swapping a `..data` symlink, which
 * fs.watch on the directory sees as a rename; fs.watch is not reliable
 * everywhere (network file systems, some container runtimes), so a poll that
 * compares file contents runs as well.
 */

export const TLS_MIN_VERSION = 'TLSv1.2';

export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
}

/** Reads and checks the files now (startup): a broken directory stops the server with a clear message. */
export function readTlsDir(dir: string): TlsFiles {
  const certPath = join(dir, 'tls.crt');
  const keyPath = join(dir, 'tls.key');
  const caPath = join(dir, 'ca.crt');
  let files: TlsFiles;
  try {
    files = { cert: readFileSync(certPath), key: readFileSync(keyPath), ca: existsSync(caPath) ? readFileSync(caPath) : undefined };
  } catch (err) {
    throw new Error(`cannot read TLS files in ${dir} (need tls.crt and tls.key): ${(err as Error).message}`);
  }
  validate(files, dir);
  return files;
}

async function readTlsDirAsync(dir: string): Promise<TlsFiles> {
  const [cert, key, ca] = await Promise.all([
    readFile(join(dir, 'tls.crt')),
    readFile(join(dir, 'tls.key')),
    readFile(join(dir, 'ca.crt')).catch(() => undefined),
  ]);
  return { cert, key, ca };
}

/** Options for https.createServer and server.setSecureContext. */
export function tlsOptions(files: TlsFiles): SecureContextOptions {
  // ca.crt is what clients verify us with; passed along it only matters if client certificates are ever requested.
  return { cert: files.cert, key: files.key, ...(files.ca ? { ca: files.ca } : {}), minVersion: TLS_MIN_VERSION };
}

/** A key that does not match the certificate, or garbage PEM, fails here rather than on the first handshake. */
function validate(files: TlsFiles, dir: string): void {
  try {
    createSecureContext(tlsOptions(files));
  } catch (err) {
    throw new Error(`invalid TLS certificate or key in ${dir}: ${(err as Error).message}`);
  }
}

function fingerprint(f: TlsFiles): string {
  const h = createHash('sha256');
  for (const b of [f.cert, f.key, f.ca ?? Buffer.alloc(0)]) h.update(createHash('sha256').update(b).digest());
  return h.digest('hex');
}

export interface TlsReloader {
  /** Read the files now and apply them if they changed and are valid. Resolves true when applied. */
  check(): Promise<boolean>;
  stop(): void;
}

export function watchTlsDir(
  dir: string,
  initial: TlsFiles,
  apply: (options: SecureContextOptions) => void,
  opts: { logger: Logger; pollMs?: number; debounceMs?: number },
): TlsReloader {
  let current = fingerprint(initial);
  let checking: Promise<boolean> | undefined;
  let again = false;
  let stopped = false;

  const checkOnce = async (): Promise<boolean> => {
    let files: TlsFiles;
    try {
      files = await readTlsDirAsync(dir);
    } catch {
      // Mid-swap (a file briefly missing): the next event or poll will see the complete set.
      return false;
    }
    const fp = fingerprint(files);
    if (fp === current) return false;
    try {
      validate(files, dir);
    } catch (err) {
      // cert-manager writes key and certificate together, but a hand edit may be half done: keep serving the old pair.
      opts.logger.warn({ err: (err as Error).message, dir }, 'TLS files changed but are not usable yet; keeping the current certificate');
      return false;
    }
    apply(tlsOptions(files));
    current = fp;
    opts.logger.info({ dir }, 'TLS certificate reloaded');
    return true;
  };

  const check = (): Promise<boolean> => {
    if (checking) {
      again = true;
      return checking;
    }
    checking = checkOnce().finally(() => {
      checking = undefined;
      if (again && !stopped) {
        again = false;
        void check();
      }
    });
    return checking;
  };

  let debounce: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dir, { persistent: false }, () => {
      clearTimeout(debounce);
      debounce = setTimeout(() => void check(), opts.debounceMs ?? 200).unref();
    });
    watcher.on('error', () => watcher?.close());
  } catch {
    watcher = undefined; // polling covers it
  }
  const poll = setInterval(() => void check(), opts.pollMs ?? 30_000).unref();

  return {
    check,
    stop() {
      stopped = true;
      clearInterval(poll);
      clearTimeout(debounce);
      watcher?.close();
    },
  };
}
