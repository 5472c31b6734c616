import type { AuditRecord } from './record.js';

export type WebhookFormat = 'json' | 'elasticsearch-bulk';

/**
 * The body of one POST carrying `records`.
 *
 * - `json`: newline-delimited JSON (`application/x-ndjson`), one record per
 *   line; what Vector, Fluent Bit, Logstash's http input and most log shippers
 *   accept. A batch of one is a single JSON object followed by a newline.
 * - `elasticsearch-bulk`: the `_bulk` API body (point the endpoint at
 *   `https://es:9200/<index or data stream>/_bulk`). Each record is a `create`
 *   with `_id` = request id, so a batch retried after a lost response does not
 *   index twice (the duplicate answers 409, which counts as delivered), and
 *   carries `@timestamp`, which data streams require.
 */
export function formatBatch(format: WebhookFormat, records: readonly AuditRecord[]): { body: string; contentType: string } {
  let body = '';
  if (format === 'json') {
    for (const r of records) body += JSON.stringify(r) + '\n';
  } else {
    for (const r of records) {
      body += JSON.stringify({ create: { _id: r.requestId } }) + '\n';
      body += JSON.stringify({ '@timestamp': r.time, ...r }) + '\n';
    }
  }
  return { body, contentType: 'application/x-ndjson' };
}

/**
 * How many items of an Elasticsearch `_bulk` response failed for good. The
 * response is 200 even when items fail; 409 (already indexed by an earlier
 * attempt of the same batch) is success for us.
 */
export function bulkFailures(response: unknown): { failed: number; firstError?: string } {
  const r = response as { errors?: boolean; items?: Array<Record<string, { status?: number; error?: unknown }>> } | null;
  if (!r || r.errors !== true || !Array.isArray(r.items)) return { failed: 0 };
  let failed = 0;
  let firstError: string | undefined;
  for (const item of r.items) {
    const result = Object.values(item)[0];
    if (result && (result.status ?? 0) >= 300 && result.status !== 409) {
      failed++;
      firstError ??= JSON.stringify(result.error ?? result.status);
    }
  }
  return { failed, firstError };
}
