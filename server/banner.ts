import type { ServerConfig } from '../core/config.js';
import type { StorageTopology } from '../storage/object-layer.js';

/**
 * The startup banner. Its own file (types only) so the cluster primary can
 * print it without loading storage, fastify or the codecs.
 */

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
  const local = config.address.host === '' ? `${url.startsWith('https:') ? 'https' : 'http'}://127.0.0.1:${port}` : url;
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
  lines.push(`Workers:   ${config.workers === 1 ? '1 (single process)' : `${config.workers} processes sharing the port`}`);
  lines.push(`Cairn listening on ${url}`);
  return lines;
}
