import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { parseArgs } from 'node:util';
import { SignatureV4 } from '@smithy/signature-v4';
import type { DrivesView, HealView } from './server/admin-heal.js';
import type { HealProgress, HealSweepStatus } from './storage/heal/types.js';

/**
 * `cairn admin heal ...` and `cairn admin drives`: a client of a running
 * server's admin API (server/admin-heal.ts). Requests are signed with AWS's
 * reference SigV4 signer (@smithy/signature-v4) as the root user; output is a
 * table for people or the server's JSON (`--json`) for scripts.
 */

export const ADMIN_USAGE = `Usage:
  cairn admin heal [status] [--watch [--interval S]] [--json]
                                                   what the healer does: drives, set quorum, queue, jobs;
                                                   --watch: again every S seconds (default 2) until no
                                                   rebuild, healing drive, sweep or queued heal is left
  cairn admin heal start [--bucket B] [--prefix P] [--deep] [--json]
                                                   sweep a bucket/prefix (or everything) now
  cairn admin drives [--json]                      drive table: state, I/O counters, space
  cairn admin kms rotate [--new-version] DIR...    re-seal object keys (server stopped)

Flags of heal and drives:
  --endpoint URL        server (default env CAIRN_ENDPOINT, else http://127.0.0.1:9000)
  --access-key K        root user (default env CAIRN_ROOT_USER)
  --secret-key S        root password (default env CAIRN_ROOT_PASSWORD)
  --region R            signing region (default env CAIRN_REGION, else us-east-1)
`;

export interface AdminEndpoint {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
}

/** An answer other than 2xx, with the S3 error code when the server sent one. */
export class AdminApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

type SourceData = string | ArrayBuffer | ArrayBufferView;

function bytes(data: SourceData): Buffer {
  if (typeof data === 'string') return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

/** The hash the signer asks for, on node:crypto. */
class Sha256 {
  private h: Hash | Hmac;
  constructor(private readonly secret?: SourceData) {
    this.h = this.fresh();
  }
  private fresh(): Hash | Hmac {
    return this.secret !== undefined ? createHmac('sha256', bytes(this.secret)) : createHash('sha256');
  }
  update(data: SourceData): void {
    this.h.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
  reset(): void {
    this.h = this.fresh();
  }
}

export class AdminClient {
  private readonly url: URL;
  private readonly signer: SignatureV4;

  constructor(readonly target: AdminEndpoint) {
    this.url = new URL(target.endpoint);
    this.signer = new SignatureV4({
      service: 's3',
      region: target.region,
      credentials: { accessKeyId: target.accessKey, secretAccessKey: target.secretKey },
      sha256: Sha256,
      uriEscapePath: false,
    });
  }

  healStatus(): Promise<HealView> {
    return this.call('GET', '/cairn/admin/v1/heal') as Promise<HealView>;
  }

  startHeal(req: { bucket?: string; prefix?: string; deep?: boolean }): Promise<HealSweepStatus> {
    const query: Record<string, string> = {};
    if (req.bucket) query.bucket = req.bucket;
    if (req.prefix) query.prefix = req.prefix;
    if (req.deep) query.deep = 'true';
    return this.call('POST', '/cairn/admin/v1/heal', query) as Promise<HealSweepStatus>;
  }

  drives(): Promise<DrivesView> {
    return this.call('GET', '/cairn/admin/v1/drives') as Promise<DrivesView>;
  }

  private async call(method: 'GET' | 'POST', path: string, query: Record<string, string> = {}): Promise<unknown> {
    const signed = await this.signer.sign({
      method,
      protocol: this.url.protocol,
      hostname: this.url.hostname,
      ...(this.url.port ? { port: Number(this.url.port) } : {}),
      path,
      query,
      // The body is always empty; UNSIGNED-PAYLOAD says so without hashing it.
      headers: { host: this.url.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    });
    // RFC 3986 as SigV4 canonicalizes it (URLSearchParams would send a space as '+').
    const enc = (v: string) => encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    const qs = Object.entries(query)
      .map(([k, v]) => `${enc(k)}=${enc(v)}`)
      .join('&');
    const headers = { ...(signed.headers as Record<string, string>) };
    delete headers.host; // fetch sets it, from the same URL
    const res = await fetch(new URL(qs ? `${path}?${qs}` : path, this.url), { method, headers });
    const text = await res.text();
    if (!res.ok) {
      const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
      const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1];
      throw new AdminApiError(res.status, code, `${method} ${path}: ${res.status} ${code ?? ''}${message ? `: ${message}` : ''}`.trim());
    }
    return JSON.parse(text) as unknown;
  }
}

// ---- formatting ----

/** `1h 02m 03s`, `4m 05s`, `7s`; `-` when unknown. */
export function formatEta(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '-';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m ${String(r).padStart(2, '0')}s`;
  if (m > 0) return `${m}m ${String(r).padStart(2, '0')}s`;
  return `${r}s`;
}

/** Binary units, one decimal: `12.0 MiB`. */
export function formatBytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '?';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** Done share of a job: by objects when their total is known, else by bytes. */
export function percentDone(p: HealProgress): number | undefined {
  if (p.objectsTotal !== undefined && p.objectsTotal > 0) return Math.min(100, (100 * p.objectsScanned) / p.objectsTotal);
  if (p.bytesTotal !== undefined && p.bytesTotal > 0) return Math.min(100, (100 * p.bytesDone) / p.bytesTotal);
  return undefined;
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => '  ' + cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)];
}

function progressCells(p: HealProgress): string[] {
  const pct = percentDone(p);
  return [
    `${p.objectsScanned}/${p.objectsTotal ?? '?'}`,
    `${formatBytes(p.bytesDone)}/${formatBytes(p.bytesTotal)}`,
    `${p.objectsPerSecond.toFixed(1)} obj/s, ${(p.bytesPerSecond / 1e6).toFixed(1)} MB/s`,
    formatEta(p.etaSeconds),
    pct === undefined ? '-' : `${pct.toFixed(1)}%`,
  ];
}

/** True while something an operator waits for runs: a rebuild (or a drive still healing, whose rebuild may not have started), a queued or running sweep, or queued objects. */
export function healBusy(view: HealView): boolean {
  return (
    view.rebuilds.length > 0 ||
    view.queue.length > 0 ||
    view.sweeps.some((s) => s.state === 'queued' || s.state === 'running') ||
    view.sets.some((s) => s.drives.some((d) => d.state === 'healing'))
  );
}

/** `cairn admin heal status` as a table. */
export function formatHealView(view: HealView): string {
  const out: string[] = [];
  out.push(`Healer: ${view.active ? 'active' : 'not running'} (status of ${view.updatedAt})`, '');
  out.push('Sets');
  out.push(
    ...table(
      ['SET', 'ONLINE', 'READ QUORUM', 'WRITE QUORUM', 'STATE'],
      view.sets.map((s) => [String(s.set), `${s.online}/${s.total}`, String(s.readQuorum), String(s.writeQuorum), s.quorum]),
    ),
  );
  out.push('', 'Drives');
  out.push(
    ...table(
      ['SET', 'SLOT', 'STATE', 'PATH'],
      view.sets.flatMap((s) => s.drives.map((d) => [String(s.set), String(d.slot), d.state, d.path])),
    ),
  );
  out.push('', `Queue: ${view.queue.length} objects waiting, ${view.queue.dropped} dropped`, '');
  const jobs: string[][] = [];
  for (const r of view.rebuilds) {
    // The set as the table above numbers it, found by the drive's path.
    const set = view.sets.find((s) => s.drives.some((d) => d.path === r.path));
    jobs.push([`rebuild set ${set?.set ?? r.set} ${r.path}`, 'running', ...progressCells(r)]);
  }
  for (const s of view.sweeps) {
    const what = `sweep ${s.id}${s.bucket ? ` ${s.bucket}/${s.prefix ?? ''}` : ' (all)'}${s.deep ? ' deep' : ''}`;
    jobs.push([what, s.state + (s.error ? `: ${s.error}` : ''), ...progressCells(s)]);
  }
  if (view.scanner) {
    jobs.push([`scanner ${view.scanner.mode} cycle ${view.scanner.cycle}`, view.scanner.running ? 'running' : 'idle', ...progressCells(view.scanner)]);
  }
  if (jobs.length === 0) out.push('Jobs: none');
  else out.push('Jobs', ...table(['JOB', 'STATE', 'OBJECTS', 'BYTES', 'RATE', 'ETA', 'DONE'], jobs));
  const t = view.totals;
  out.push(
    '',
    `Healed since start: ${t.objectsHealed} objects, ${formatBytes(t.bytesHealed)}; failures ${t.failures}; ` +
      `orphan data dirs removed ${t.orphansRemoved}; dangling records removed ${t.danglingRemoved}`,
  );
  return out.join('\n') + '\n';
}

/** `cairn admin drives` as a table. */
export function formatDrives(view: DrivesView): string {
  const rows = view.drives.map((d) => [
    String(d.set),
    String(d.slot),
    d.state,
    d.io ? String(d.io.operations) : '-',
    d.io ? String(d.io.errors) : '-',
    d.io && d.io.operations > 0 ? `${((1000 * d.io.seconds) / d.io.operations).toFixed(2)} ms` : '-',
    d.freeBytes === undefined ? '-' : formatBytes(d.freeBytes),
    d.totalBytes === undefined ? '-' : formatBytes(d.totalBytes),
    d.path,
  ]);
  const sets = view.sets.map((s) => `set ${s.set}: ${s.online}/${s.total} online (read quorum ${s.readQuorum}, write quorum ${s.writeQuorum}) ${s.quorum}`);
  return [...table(['SET', 'SLOT', 'STATE', 'OPS', 'ERRORS', 'MEAN', 'FREE', 'TOTAL', 'PATH'], rows), '', ...sets].join('\n') + '\n';
}

// ---- commands ----

const CONNECTION_FLAGS = {
  endpoint: { type: 'string' },
  'access-key': { type: 'string' },
  'secret-key': { type: 'string' },
  region: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** Usage problems: the caller prints the usage and exits 2. */
export class AdminUsageError extends Error {}

export function endpointFrom(values: { endpoint?: string; 'access-key'?: string; 'secret-key'?: string; region?: string }, env: Readonly<Record<string, string | undefined>>): AdminEndpoint {
  const accessKey = values['access-key'] ?? env.CAIRN_ROOT_USER;
  const secretKey = values['secret-key'] ?? env.CAIRN_ROOT_PASSWORD;
  if (!accessKey || !secretKey) throw new AdminUsageError('credentials needed: --access-key/--secret-key or CAIRN_ROOT_USER/CAIRN_ROOT_PASSWORD');
  return {
    endpoint: values.endpoint ?? env.CAIRN_ENDPOINT ?? 'http://127.0.0.1:9000',
    accessKey,
    secretKey,
    region: values.region ?? env.CAIRN_REGION ?? 'us-east-1',
  };
}

export interface AdminIo {
  env: Readonly<Record<string, string | undefined>>;
  write(text: string): void;
  /** Watch refresh period, ms, unless --interval says otherwise. Default 2000. */
  watchEveryMs?: number;
  /** True when the output is a terminal (then --watch redraws the screen). */
  tty?: boolean;
}

/** `cairn admin heal ...` / `cairn admin drives ...`: the process exit code. */
export async function adminCommand(area: 'heal' | 'drives', argv: string[], io: AdminIo): Promise<number> {
  if (area === 'drives') {
    const { values, positionals } = parseArgs({ args: argv, options: CONNECTION_FLAGS, allowPositionals: true, strict: true });
    if (positionals.length > 0) throw new AdminUsageError(`unexpected ${positionals.join(' ')}`);
    const view = await new AdminClient(endpointFrom(values, io.env)).drives();
    io.write(values.json ? `${JSON.stringify(view, null, 2)}\n` : formatDrives(view));
    return 0;
  }
  const [action = 'status', ...rest] = argv[0]?.startsWith('--') ? ['status', ...argv] : argv;
  if (action === 'start') {
    const { values, positionals } = parseArgs({
      args: rest,
      options: { ...CONNECTION_FLAGS, bucket: { type: 'string' }, prefix: { type: 'string' }, deep: { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length > 0) throw new AdminUsageError(`unexpected ${positionals.join(' ')}`);
    if (values.prefix !== undefined && values.bucket === undefined) throw new AdminUsageError('--prefix needs --bucket');
    const sweep = await new AdminClient(endpointFrom(values, io.env)).startHeal({
      ...(values.bucket !== undefined ? { bucket: values.bucket } : {}),
      ...(values.prefix !== undefined ? { prefix: values.prefix } : {}),
      deep: values.deep === true,
    });
    io.write(values.json ? `${JSON.stringify(sweep, null, 2)}\n` : `heal sweep ${sweep.id} ${sweep.state}${sweep.bucket ? ` (${sweep.bucket}/${sweep.prefix ?? ''})` : ' (everything)'}${sweep.deep ? ', deep' : ''}\n`);
    return 0;
  }
  if (action !== 'status') throw new AdminUsageError(`unknown heal action ${JSON.stringify(action)}`);
  const { values, positionals } = parseArgs({
    args: rest,
    options: { ...CONNECTION_FLAGS, watch: { type: 'boolean' }, interval: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 0) throw new AdminUsageError(`unexpected ${positionals.join(' ')}`);
  const everyMs = values.interval === undefined ? (io.watchEveryMs ?? 2000) : Number(values.interval) * 1000;
  if (values.interval !== undefined && !(everyMs >= 50)) throw new AdminUsageError(`--interval must be seconds ≥ 0.05, got ${JSON.stringify(values.interval)}`);
  const client = new AdminClient(endpointFrom(values, io.env));
  for (;;) {
    let view: HealView;
    try {
      view = await client.healStatus();
    } catch (err) {
      // --watch rides out a server restart (a replaced drive is rebuilt right after one):
      // an unreachable server is reported and asked again; an answer with an error is not retried.
      if (!values.watch || err instanceof AdminApiError) throw err;
      io.write(`server unreachable (${(err as Error).message}); retrying\n`);
      await new Promise((r) => setTimeout(r, everyMs));
      continue;
    }
    if (values.watch && io.tty) io.write('\x1b[H\x1b[2J');
    io.write(values.json ? `${JSON.stringify(view, null, 2)}\n` : formatHealView(view));
    // The scanner cycles forever: --watch waits for rebuilds, sweeps and the queue only.
    if (!values.watch || !healBusy(view)) return 0;
    await new Promise((r) => setTimeout(r, everyMs));
    if (!io.tty) io.write('\n');
  }
}
