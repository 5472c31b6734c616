import cluster from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';

/**
 * /metrics with several worker processes (server/cluster.ts). Prometheus
 * scrapes the shared port and reaches whichever worker accepts, so a worker
 * answering with only its own counters would make every series jump between
 * workers' values. Instead the worker asks the primary, the primary collects
 * every worker's registry over the cluster IPC channel (prom-client's
 * AggregatorRegistry) and merges them: counters and histograms summed, each
 * gauge as its `aggregator` option says (server/metrics.ts).
 *
 * Primary: call serveClusterMetrics() once. Worker: joinClusterMetrics() with
 * its registry, then clusterMetricsText() per scrape.
 */

const REQ = 'cairn:metrics-req';
const RES = 'cairn:metrics-res';

interface MetricsRequest {
  type: typeof REQ;
  id: number;
}
interface MetricsResponse {
  type: typeof RES;
  id: number;
  text?: string;
  error?: string;
}

/** In the cluster primary. */
export function serveClusterMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, msg: unknown) => {
    const m = msg as MetricsRequest | null;
    if (m?.type !== REQ) return;
    aggregator.clusterMetrics().then(
      (text) => worker.isConnected() && worker.send({ type: RES, id: m.id, text } satisfies MetricsResponse),
      (err: Error) => worker.isConnected() && worker.send({ type: RES, id: m.id, error: err.message } satisfies MetricsResponse),
    );
  });
}

let joined = false;
let nextId = 0;
const pending = new Map<number, (r: MetricsResponse) => void>();

/** In a worker: answer the primary's collection requests with `registry`. True when running as a cluster worker. */
export function joinClusterMetrics(registry: Registry): boolean {
  if (!cluster.isWorker || !process.send) return false;
  if (!joined) {
    joined = true;
    new AggregatorRegistry(); // installs prom-client's worker-side listener
    process.on('message', (msg: unknown) => {
      const m = msg as MetricsResponse | null;
      if (m?.type !== RES) return;
      pending.get(m.id)?.(m);
      pending.delete(m.id);
    });
  }
  AggregatorRegistry.setRegistries([registry]);
  return true;
}

/**
 * The whole cluster's metrics, via the primary. Rejects when the primary does
 * not answer in time (it gives up on a worker after 5 s); the caller then
 * serves its own.
 */
export function clusterMetricsText(timeoutMs = 7000): Promise<string> {
  return new Promise((resolve, reject) => {
    const id = nextId++;
    const timer = setTimeout(() => {
      pending.delete(id);
      reject(new Error('the cluster primary did not answer the metrics request'));
    }, timeoutMs);
    pending.set(id, (r) => {
      clearTimeout(timer);
      if (r.text !== undefined) resolve(r.text);
      else reject(new Error(r.error ?? 'metrics aggregation failed'));
    });
    process.send!({ type: REQ, id } satisfies MetricsRequest);
  });
}
