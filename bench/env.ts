/**
 * The things a run measures, set up once and torn down at the end: the primary
 * target (a Cairn started on the drives, or any S3 endpoint), and the baselines
 * asked for — the no-op HTTP server, raw disk, the in-process pipeline, s3rver.
 * Everything the bench writes lives in a `cairn-bench-<id>` directory it creates
 * on each drive and removes afterwards; a user's drive content is never touched.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { InProcessStore } from './baselines/in-process.js';
import { RawDiskStore } from './baselines/raw-disk.js';
import { S3RVER_KEY, s3rverInstalled, startS3rver } from './baselines/s3rver-peer.js';
import type { ClientKind } from './client.js';
import { HttpStore } from './http-store.js';
import { CAIRN } from './report.js';
import { startCairn, startNoop, type Spawned } from './spawn.js';
import type { Store } from './store.js';

/** noop-node: the same no-op server driven by the node:http client, the older load generator's ceiling beside the raw client's. */
export const BASELINES = ['noop', 'noop-node', 'raw', 'inproc', 's3rver'] as const;
/** 'plain': with --sse, the same target written without SSE (not selectable: --sse adds it). */
export type BaselineName = (typeof BASELINES)[number] | 'plain';

/** With --sse s3 the primary target's writes carry this header; its name gets SSE_SUFFIX. */
export const SSE_S3_HEADERS: Readonly<Record<string, string>> = { 'x-amz-server-side-encryption': 'AES256' };
export const SSE_SUFFIX = '+sse-s3';

export interface EndpointOptions {
  url: string;
  accessKey: string;
  secretKey: string;
  region: string;
  name: string;
  /** A local server's pid, to sample its RSS and CPU. */
  pid?: number;
}

export interface EnvOptions {
  endpoint?: EndpointOptions;
  /** Drive mount points for a Cairn the bench starts; temp dirs when absent. */
  drives?: string[];
  driveCount: number;
  parity?: number;
  workers?: number;
  /** Node flags for the Cairn processes the bench starts (profiling). */
  serverNodeArgs?: string[];
  baselines: ReadonlySet<BaselineName>;
  /**
   * 's3': the primary target's PUTs ask for SSE-S3, a Cairn the bench starts gets a
   * generated CAIRN_KMS_SECRET_KEY, and the same target without the header is the
   * 'plain' baseline, so the ratio column is SSE / plain from the same minute.
   */
  sse?: 's3';
  /** The load generator's HTTP client for every HTTP target (default raw). */
  client?: ClientKind;
  note(line: string): void;
}

const SOCKETS = 1024; // upper bound; keep-alive sockets are opened only as concurrency needs them
const ACCESS_KEY = 'cairnbench';

export class BenchEnv {
  readonly baselines = new Map<BaselineName, Store>();
  private readonly procs: Spawned[] = [];
  private readonly stores: Store[] = [];
  private readonly secretKey = randomBytes(16).toString('hex');
  private scratch: string[] = [];
  private tempRoot: string | undefined;
  primary!: Store;

  private constructor(private readonly o: EnvOptions) {}

  static async open(o: EnvOptions): Promise<BenchEnv> {
    const env = new BenchEnv(o);
    try {
      await env.setup();
    } catch (err) {
      await env.close();
      throw err;
    }
    return env;
  }

  /** One directory per drive, `<drive>/cairn-bench-<id>/<name>`, created empty. */
  private async dirs(name: string): Promise<string[]> {
    const out = this.scratch.map((s) => join(s, name));
    await Promise.all(out.map((d) => mkdir(d, { recursive: true })));
    return out;
  }

  private async setup(): Promise<void> {
    const needDrives = this.o.endpoint === undefined || this.o.baselines.has('raw') || this.o.baselines.has('inproc') || this.o.baselines.has('s3rver');
    if (needDrives) {
      const id = `cairn-bench-${randomBytes(4).toString('hex')}`;
      if (this.o.drives && this.o.drives.length > 0) {
        this.scratch = this.o.drives.map((d) => join(resolve(d), id));
      } else {
        this.tempRoot = await mkdtemp(join(tmpdir(), 'cairn-bench-'));
        this.scratch = Array.from({ length: this.o.driveCount }, (_, i) => join(this.tempRoot!, `drive${i + 1}`));
      }
    }
    if (this.o.endpoint) {
      const e = this.o.endpoint;
      const opts = { endpoint: e.url, credentials: { accessKey: e.accessKey, secretKey: e.secretKey, region: e.region }, maxSockets: SOCKETS, client: this.o.client ?? 'raw' };
      this.primary = this.track(this.o.sse ? new HttpStore(e.name + SSE_SUFFIX, opts, e.pid, true, SSE_S3_HEADERS) : new HttpStore(e.name, opts, e.pid));
      if (this.o.sse) this.baselines.set('plain', this.track(new HttpStore(e.name, opts, e.pid)));
    } else {
      this.primary = await this.startCairn(CAIRN, 'server', this.o.workers);
      if (this.o.sse) {
        const p = this.primary as HttpStore;
        this.baselines.set('plain', this.track(new HttpStore(CAIRN, p.client.opts, p.pid)));
      }
    }
    if (this.o.baselines.has('noop') || this.o.baselines.has('noop-node')) {
      // One no-op process serves both: runs are one after the other, each in its own bucket.
      const p = await this.spawn(startNoop());
      const opts = this.httpOpts(p.endpoint, ACCESS_KEY, this.secretKey);
      if (this.o.baselines.has('noop')) this.baselines.set('noop', this.track(new HttpStore('noop', opts, p.pid, false)));
      if (this.o.baselines.has('noop-node')) this.baselines.set('noop-node', this.track(new HttpStore('noop-node', { ...opts, client: 'node' }, p.pid, false)));
    }
    if (this.o.baselines.has('raw')) this.baselines.set('raw', this.track(new RawDiskStore(await this.dirs('raw'))));
    if (this.o.baselines.has('inproc')) this.baselines.set('inproc', this.track(await InProcessStore.open(await this.dirs('inproc'), this.o.parity)));
    if (this.o.baselines.has('s3rver')) {
      if (!s3rverInstalled()) this.o.note('s3rver is not installed (npm i -D s3rver): skipping that peer');
      else {
        const [dir] = await this.dirs('s3rver');
        const p = await this.spawn(startS3rver(dir!));
        this.baselines.set('s3rver', this.track(new HttpStore('s3rver', this.httpOpts(p.endpoint, S3RVER_KEY, S3RVER_KEY), p.pid)));
      }
    }
  }

  /** A Cairn on `<scratch>/<sub>` of every drive. */
  async startCairn(name: string, sub: string, workers?: number): Promise<HttpStore> {
    const drives = await this.dirs(sub);
    const p = await this.spawn(
      startCairn({
        drives,
        accessKey: ACCESS_KEY,
        secretKey: this.secretKey,
        ...(workers !== undefined ? { workers } : {}),
        ...(this.o.serverNodeArgs ? { nodeArgs: this.o.serverNodeArgs } : {}),
        env: {
          ...(this.o.parity !== undefined ? { CAIRN_STORAGE_CLASS_STANDARD: `EC:${this.o.parity}` } : {}),
          // A fresh master key per run: what the bench encrypts is thrown away with the drives.
          ...(this.o.sse ? { CAIRN_KMS_SECRET_KEY: `cairn-bench:${randomBytes(32).toString('base64')}` } : {}),
        },
      }),
    );
    const opts = this.httpOpts(p.endpoint, ACCESS_KEY, this.secretKey);
    return this.track(this.o.sse ? new HttpStore(name + SSE_SUFFIX, opts, p.pid, true, SSE_S3_HEADERS) : new HttpStore(name, opts, p.pid));
  }

  private httpOpts(endpoint: string, accessKey: string, secretKey: string) {
    return { endpoint, credentials: { accessKey, secretKey, region: this.o.endpoint?.region ?? 'us-east-1' }, maxSockets: SOCKETS, client: this.o.client ?? 'raw' };
  }

  private async spawn(p: Promise<Spawned>): Promise<Spawned> {
    const s = await p;
    this.procs.push(s);
    return s;
  }

  private track<T extends Store>(s: T): T {
    this.stores.push(s);
    return s;
  }

  /** Whether the primary target's data should be removed by the bench (only an external endpoint needs it). */
  get external(): boolean {
    return this.o.endpoint !== undefined;
  }

  async close(): Promise<void> {
    for (const s of this.stores) await s.close().catch(() => undefined);
    await Promise.all(this.procs.map((p) => p.stop()));
    await Promise.all(this.scratch.map((d) => rm(d, { recursive: true, force: true })));
    if (this.tempRoot) await rm(this.tempRoot, { recursive: true, force: true });
  }
}
