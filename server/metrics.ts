import { timingSafeEqual, createHash } from 'node:crypto';
import { statfs } from 'node:fs/promises';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { clusterMetricsText, joinClusterMetrics } from './cluster-metrics.js';
import type { HealStatus } from '../storage/heal/types.js';
import type { StorageTopology } from '../storage/object-layer.js';
import type { BucketUsage } from './bucket-usage.js';

/**
 * Everything served at /metrics, in one registry per server (not prom-client's
 * global one, so tests can run several servers in a process). Names are fixed:
 * deploy/prometheus/alerts.yml and deploy/grafana/cairn-dashboard.json use
 * them, and tests/deploy-monitoring.test.ts checks they exist.
 *
 * Request metrics are pushed by the request hooks (server/ops.ts); storage,
 * bucket and KMS gauges are pulled at scrape time from the sources below, so
 * nothing polls the drives between scrapes.
 */

export interface MetricsSources {
  topology(): StorageTopology;
  /** Bucket usage from the periodic scan (server/bucket-usage.ts); absent = no bucket series. */
  bucketUsage?: () => ReadonlyMap<string, BucketUsage>;
  /** KMS reachability; absent when no KMS is configured (then cairn_kms_online is not exported). */
  kmsStatus?: () => Promise<{ online: boolean }>;
}

export interface RequestSample {
  /** S3 operation name (`PutObject`), `Unknown` when the request was refused before routing. */
  api: string;
  status: number;
  durationSeconds: number;
  bytesIn: number;
  bytesOut: number;
}

/**
 * Request counts kept in plain maps between scrapes and added to the prom-client
 * counters when they are collected: a labelled `inc()` hashes and validates its
 * labels object every time, three times per request, which showed in profiles of
 * small GETs. Entries stay once made (at most APIs × statuses), so a request
 * allocates nothing here.
 */
class PendingRequestCounts {
  private readonly requests = new Map<string, Map<number, { labels: { api: string; status: string }; n: number }>>();
  private readonly bytesIn = new Map<string, { labels: { api: string }; n: number }>();
  private readonly bytesOut = new Map<string, { labels: { api: string }; n: number }>();

  add(s: RequestSample): void {
    let byStatus = this.requests.get(s.api);
    if (!byStatus) this.requests.set(s.api, (byStatus = new Map()));
    const r = byStatus.get(s.status);
    if (r) r.n++;
    else byStatus.set(s.status, { labels: { api: s.api, status: String(s.status) }, n: 1 });
    if (s.bytesIn > 0) addTo(this.bytesIn, s.api, s.bytesIn);
    if (s.bytesOut > 0) addTo(this.bytesOut, s.api, s.bytesOut);
  }

  flushRequests(into: Counter<'api' | 'status'>): void {
    for (const byStatus of this.requests.values()) flush(byStatus.values(), into);
  }
  flushBytesIn(into: Counter<'api'>): void {
    flush(this.bytesIn.values(), into);
  }
  flushBytesOut(into: Counter<'api'>): void {
    flush(this.bytesOut.values(), into);
  }
}

function addTo(m: Map<string, { labels: { api: string }; n: number }>, api: string, n: number): void {
  const e = m.get(api);
  if (e) e.n += n;
  else m.set(api, { labels: { api }, n });
}

function flush<L extends string>(entries: Iterable<{ labels: Partial<Record<L, string>>; n: number }>, into: Counter<L>): void {
  for (const e of entries) {
    if (e.n === 0) continue;
    into.inc(e.labels, e.n);
    e.n = 0;
  }
}

/** From 5 ms (small GETs) to 5 min (multi-GiB PUTs). */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** A scrape reads topology and statfs once, however many gauges ask. */
const SNAPSHOT_TTL_MS = 500;
/** KMS status may be a network call (Vault): at most one every few seconds. */
const KMS_TTL_MS = 5000;

interface DriveSnapshot {
  topology: StorageTopology;
  space: Map<string, { total: number; used: number; free: number } | undefined>;
}

export class CairnMetrics {
  readonly registry = new Registry();
  readonly contentType = this.registry.contentType;

  private readonly requests: Counter<'api' | 'status'>;
  private readonly duration: Histogram<'api'>;
  private readonly bytesIn: Counter<'api'>;
  private readonly bytesOut: Counter<'api'>;
  private readonly inflight: Gauge;
  private readonly pending = new PendingRequestCounts();
  /** The duration histogram's labels object per API, made once. */
  private readonly apiLabels = new Map<string, { api: string }>();
  private healSource: (() => Promise<HealStatus>) | undefined;
  private healSnapshot: { at: number; value: Promise<HealStatus | undefined> } | undefined;
  private readonly auditDrops: Counter<'target'>;
  private snapshot: { at: number; value: Promise<DriveSnapshot> } | undefined;
  private kms: { at: number; value: Promise<{ online: boolean; latencyMs: number }> } | undefined;
  private clustered = false;
  private onClusterError: ((err: Error) => void) | undefined;

  constructor(private readonly sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'cairn_' });

    this.requests = new Counter({
      name: 'cairn_http_requests_total',
      help: 'S3 requests answered, by API and HTTP status code',
      labelNames: ['api', 'status'],
      registers,
      collect: () => this.pending.flushRequests(this.requests),
    });
    this.duration = new Histogram({
      name: 'cairn_http_request_duration_seconds',
      help: 'Time from request headers to the last response byte, by API',
      labelNames: ['api'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.bytesIn = new Counter({
      name: 'cairn_http_bytes_received_total',
      help: 'Bytes received on S3 requests (headers and body as read from the connection), by API',
      labelNames: ['api'],
      registers,
      collect: () => this.pending.flushBytesIn(this.bytesIn),
    });
    this.bytesOut = new Counter({
      name: 'cairn_http_bytes_sent_total',
      help: 'Bytes sent in S3 responses (headers and body as written to the connection), by API',
      labelNames: ['api'],
      registers,
      collect: () => this.pending.flushBytesOut(this.bytesOut),
    });
    this.inflight = new Gauge({ name: 'cairn_http_inflight_requests', help: 'S3 requests being served', registers });
    this.auditDrops = new Counter({
      name: 'cairn_audit_dropped_total',
      help: 'Audit records dropped because a target queue was full or a target rejected them, by target',
      labelNames: ['target'],
      registers,
    });

    const self = this;
    new Gauge({
      name: 'cairn_drive_online',
      help: '1 when the drive is online (or healing), 0 when offline',
      labelNames: ['set', 'drive'],
      registers,
      // Merging workers (server/cluster-metrics.ts): a drive any worker sees offline is offline.
      aggregator: 'min',
      async collect() {
        const { topology } = await self.drives();
        this.reset();
        for (const s of topology.sets) {
          for (const d of s.drives) this.set({ set: String(s.index + 1), drive: d.path }, d.state === 'offline' ? 0 : 1);
        }
      },
    });
    new Gauge({
      name: 'cairn_drive_healing',
      help: '1 while the drive is a fresh replacement being healed',
      labelNames: ['set', 'drive'],
      registers,
      aggregator: 'max',
      async collect() {
        const { topology } = await self.drives();
        this.reset();
        for (const s of topology.sets) {
          for (const d of s.drives) this.set({ set: String(s.index + 1), drive: d.path }, d.state === 'healing' ? 1 : 0);
        }
      },
    });
    // Cumulative per-process totals kept by storage (storage/drive-stats.ts); workers are summed.
    const driveIo = (name: string, help: string, pick: (io: { operations: number; errors: number; seconds: number }) => number) =>
      new Counter({
        name,
        help,
        labelNames: ['set', 'drive'],
        registers,
        async collect() {
          const { topology } = await self.drives();
          this.reset();
          for (const s of topology.sets) {
            for (const d of s.drives) if (d.io) this.inc({ set: String(s.index + 1), drive: d.path }, pick(d.io));
          }
        },
      });
    driveIo('cairn_drive_io_operations_total', 'Drive operations (metadata, open, rename, remove) since start', (io) => io.operations);
    driveIo('cairn_drive_io_errors_total', 'Drive operations that failed since start', (io) => io.errors);
    driveIo('cairn_drive_io_seconds_total', 'Time spent in drive operations since start; divide by operations for mean latency', (io) => io.seconds);
    const space = (name: string, help: string, pick: (v: { total: number; used: number; free: number }) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['drive'],
        registers,
        // Every worker reads the same file systems.
        aggregator: 'max',
        async collect() {
          const { space } = await self.drives();
          this.reset();
          for (const [drive, v] of space) if (v) this.set({ drive }, pick(v));
        },
      });
    space('cairn_drive_used_bytes', 'Bytes used on the file system holding the drive', (v) => v.used);
    space('cairn_drive_total_bytes', 'Size of the file system holding the drive', (v) => v.total);
    space('cairn_drive_free_bytes', 'Bytes available to Cairn on the file system holding the drive', (v) => v.free);

    const perSet = (name: string, help: string, pick: (s: StorageTopology['sets'][number]) => number, aggregator: 'min' | 'max') =>
      new Gauge({
        name,
        help,
        labelNames: ['set'],
        registers,
        aggregator,
        async collect() {
          const { topology } = await self.drives();
          this.reset();
          for (const s of topology.sets) this.set({ set: String(s.index + 1) }, pick(s));
        },
      });
    perSet('cairn_set_online_drives', 'Drives of the erasure set that are online', (s) => s.drives.filter((d) => d.state !== 'offline').length, 'min');
    perSet('cairn_set_drives', 'Drives in the erasure set', (s) => s.drives.length, 'max');
    perSet('cairn_set_write_quorum', 'Drives the erasure set needs online to accept writes', (s) => s.writeQuorum, 'max');
    perSet('cairn_set_read_quorum', 'Drives the erasure set needs online to serve reads', (s) => s.readQuorum, 'max');

    this.registerHealMetrics();

    if (sources.bucketUsage) {
      const usage = sources.bucketUsage;
      const perBucket = (name: string, help: string, pick: (u: BucketUsage) => number) =>
        new Gauge({
          name,
          help,
          labelNames: ['bucket'],
          registers,
          // Only the worker running background jobs scans.
          aggregator: 'max',
          collect() {
            this.reset();
            for (const [bucket, u] of usage()) this.set({ bucket }, pick(u));
          },
        });
      perBucket('cairn_bucket_objects', 'Objects in the bucket, as of the last usage scan', (u) => u.objects);
      perBucket('cairn_bucket_bytes', 'Bytes of object data in the bucket, as of the last usage scan', (u) => u.bytes);
    }

    if (sources.kmsStatus) {
      new Gauge({
        name: 'cairn_kms_online',
        help: '1 when the KMS answers, 0 when it is unreachable',
        registers,
        aggregator: 'min',
        async collect() {
          this.set((await self.kmsOnline()) ? 1 : 0);
        },
      });
      new Gauge({
        name: 'cairn_kms_latency_seconds',
        help: 'Round-trip time of the last KMS status probe',
        registers,
        aggregator: 'max',
        async collect() {
          this.set((await self.kmsProbe()).latencyMs / 1000);
        },
      });
    }
  }

  requestStarted(): void {
    this.inflight.inc();
  }

  requestFinished(s: RequestSample): void {
    this.inflight.dec();
    // Counters are added at collect time (PendingRequestCounts); the histogram is observed now.
    this.pending.add(s);
    let labels = this.apiLabels.get(s.api);
    if (!labels) this.apiLabels.set(s.api, (labels = { api: s.api }));
    this.duration.observe(labels, s.durationSeconds);
  }

  auditDropped(target: string, n = 1): void {
    this.auditDrops.inc({ target }, n);
  }

  /** Where the heal series come from (ObjectLayer.healStatus); until set they read 0. */
  reportHealing(source: () => Promise<HealStatus>): void {
    this.healSource = source;
  }

  /**
   * Heal series, pulled from healStatus() at scrape time. Every worker answers
   * healStatus() with the figures the one process running the healer (the
   * background worker) last published, so all workers report the same values:
   * merged across workers (server/cluster-metrics.ts) with `max`, never summed,
   * so N workers do not count one heal N times. cairn_scanner_objects_total
   * counts the current scanner cycle and restarts with each cycle (a counter
   * reset, which rate() handles).
   */
  private registerHealMetrics(): void {
    const registers = [this.registry];
    const self = this;
    const total = (name: string, help: string, pick: (h: HealStatus) => number) =>
      new Counter({
        name,
        help,
        registers,
        aggregator: 'max',
        async collect() {
          const h = await self.heal();
          this.reset();
          this.inc(h ? pick(h) : 0);
        },
      });
    total('cairn_heal_objects_total', 'Objects repaired by healing (queue, scanner, rebuilds, sweeps) since the healer started', (h) => h.totals.objectsHealed);
    total('cairn_heal_bytes_total', 'Shard bytes written to drives by healing since the healer started', (h) => h.totals.bytesHealed);
    total('cairn_heal_failures_total', 'Objects healing could not repair (below read quorum or failing) since the healer started', (h) => h.totals.failures);
    total('cairn_heal_queue_dropped_total', 'Heal queue entries dropped because the queue was full (the scanner finds them later)', (h) => h.queue.dropped);
    total('cairn_scanner_objects_total', 'Objects verified by the background scanner in its current cycle', (h) => h.scanner?.objectsScanned ?? 0);
    new Gauge({
      name: 'cairn_heal_queue_length',
      help: 'Objects waiting in the heal queue',
      registers,
      aggregator: 'max',
      async collect() {
        this.set((await self.heal())?.queue.length ?? 0);
      },
    });
    new Gauge({
      name: 'cairn_heal_active',
      help: '1 when a process runs the healer (queue drain, scanner, rebuilds)',
      registers,
      aggregator: 'max',
      async collect() {
        this.set((await self.heal())?.active ? 1 : 0);
      },
    });
    const perRebuild = (name: string, help: string, pick: (r: HealStatus['rebuilds'][number]) => number | undefined) =>
      new Gauge({
        name,
        help,
        labelNames: ['set', 'drive'],
        registers,
        aggregator: 'max',
        async collect() {
          const h = await self.heal();
          this.reset();
          if (!h) return;
          const { topology } = await self.drives();
          for (const r of h.rebuilds) {
            const v = pick(r);
            // The set label as the drive gauges have it (1-based), found by the drive's path.
            const set = topology.sets.find((s) => s.drives.some((d) => d.path === r.path));
            if (v !== undefined) this.set({ set: String(set ? set.index + 1 : r.set), drive: r.path }, v);
          }
        },
      });
    perRebuild('cairn_heal_rebuild_objects_remaining', 'Objects a drive rebuild still has to go through (absent when the total is unknown)', (r) =>
      r.objectsTotal === undefined ? undefined : Math.max(0, r.objectsTotal - r.objectsScanned),
    );
    perRebuild('cairn_heal_eta_seconds', 'Estimated seconds until a drive rebuild finishes at its current rate', (r) => r.etaSeconds);
  }

  /** One healStatus() per scrape, however many series ask; a failing source reads as no healer. */
  private heal(): Promise<HealStatus | undefined> {
    const source = this.healSource;
    if (!source) return Promise.resolve(undefined);
    const now = Date.now();
    if (this.healSnapshot && now - this.healSnapshot.at < SNAPSHOT_TTL_MS) return this.healSnapshot.value;
    const value = source().catch(() => undefined);
    this.healSnapshot = { at: now, value };
    return value;
  }

  /**
   * In a cluster worker, from now on render() serves the whole cluster's
   * metrics (server/cluster-metrics.ts). False when not a cluster worker.
   */
  joinCluster(onError: (err: Error) => void): boolean {
    this.clustered = joinClusterMetrics(this.registry);
    this.onClusterError = onError;
    return this.clustered;
  }

  async render(): Promise<string> {
    if (this.clustered) {
      try {
        return await clusterMetricsText();
      } catch (err) {
        // A worker still starting or a busy primary: this worker's own figures beat no answer.
        this.onClusterError?.(err as Error);
      }
    }
    return this.registry.metrics();
  }

  private drives(): Promise<DriveSnapshot> {
    const now = Date.now();
    if (this.snapshot && now - this.snapshot.at < SNAPSHOT_TTL_MS) return this.snapshot.value;
    const value = (async () => {
      const topology = this.sources.topology();
      const paths = topology.sets.flatMap((s) => s.drives.map((d) => d.path));
      const space = new Map<string, { total: number; used: number; free: number } | undefined>();
      await Promise.all(
        paths.map(async (p) => {
          try {
            const st = await statfs(p);
            const total = st.blocks * st.bsize;
            space.set(p, { total, used: (st.blocks - st.bfree) * st.bsize, free: st.bavail * st.bsize });
          } catch {
            space.set(p, undefined); // a missing drive: no space series rather than a wrong one
          }
        }),
      );
      return { topology, space };
    })();
    this.snapshot = { at: now, value };
    return value;
  }

  private kmsProbe(): Promise<{ online: boolean; latencyMs: number }> {
    const now = Date.now();
    if (!this.kms || now - this.kms.at >= KMS_TTL_MS) {
      const started = performance.now();
      const value = this.sources.kmsStatus!()
        .catch(() => ({ online: false }))
        .then((s) => ({ online: s.online, latencyMs: performance.now() - started }));
      this.kms = { at: now, value };
    }
    return this.kms.value;
  }

  private kmsOnline(): Promise<boolean> {
    return this.kmsProbe().then((s) => s.online);
  }
}

/**
 * `Authorization: Bearer <token>` against CAIRN_METRICS_TOKEN. No token
 * configured = open. Compared through hashes so the time taken says nothing
 * about the token's length or prefix.
 */
export function metricsAuthorized(expected: string | undefined, authorization: string | undefined): boolean {
  if (!expected) return true;
  const m = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
  if (!m) return false;
  const a = createHash('sha256').update(m[1]!.trim()).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
