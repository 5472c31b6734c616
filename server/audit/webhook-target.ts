import type { Logger } from '../../core/logger.js';
import { bulkFailures, formatBatch, type WebhookFormat } from './format.js';
import type { AuditRecord, AuditTarget } from './record.js';

export interface WebhookTargetOptions {
  endpoint: string;
  /** `Authorization` value: a bare token becomes `Bearer <token>`; one with a space (`ApiKey x`, `Basic x`) is sent as is. */
  authToken?: string;
  format: WebhookFormat;
  /** Records held while the target is slow or down; past this, new records are dropped and counted. */
  queueSize: number;
  logger: Logger;
  onDrop: (n: number) => void;
  batchSize?: number;
  /** One POST may take this long before it counts as failed. */
  timeoutMs?: number;
  /** Retry backoff: doubles from min to max while the target keeps failing. */
  retryMinMs?: number;
  retryMaxMs?: number;
}

/**
 * HTTP webhook audit target. Records go into a bounded in-memory queue and one
 * sender loop POSTs them in batches, one POST at a time, retrying a failed
 * batch with exponential backoff until it is delivered. Requests only ever
 * append to the queue: a slow or dead target costs memory up to queueSize
 * records, never latency, and what does not fit is dropped and counted
 * (`cairn_audit_dropped_total{target="webhook"}`).
 */
export class WebhookAuditTarget implements AuditTarget {
  readonly name = 'webhook';
  private readonly queue: AuditRecord[] = [];
  private sending = false;
  private closed = false;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly inflight = new AbortController();
  private idle: (() => void) | undefined;
  private readonly batchSize: number;
  private readonly timeoutMs: number;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;
  private readonly authorization: string | undefined;

  constructor(private readonly opts: WebhookTargetOptions) {
    this.batchSize = opts.batchSize ?? 100;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.retryMinMs = opts.retryMinMs ?? 500;
    this.retryMaxMs = opts.retryMaxMs ?? 30_000;
    const t = opts.authToken?.trim();
    this.authorization = t ? (/\s/.test(t) ? t : `Bearer ${t}`) : undefined;
  }

  /** Records waiting (including the batch being sent). */
  get queued(): number {
    return this.queue.length;
  }

  send(record: AuditRecord): void {
    if (this.closed || this.queue.length >= this.opts.queueSize) {
      this.opts.onDrop(1);
      return;
    }
    this.queue.push(record);
    if (!this.sending && !this.retryTimer) void this.pump();
  }

  private async pump(): Promise<void> {
    this.sending = true;
    try {
      while (this.queue.length > 0 && !this.inflight.signal.aborted) {
        const batch = this.queue.slice(0, this.batchSize);
        const error = await this.post(batch);
        if (error === undefined) {
          this.queue.splice(0, batch.length);
          if (this.failures > 0) this.opts.logger.info({ endpoint: this.opts.endpoint, failures: this.failures }, 'audit webhook target recovered');
          this.failures = 0;
          continue;
        }
        this.failures++;
        // Shutting down: that was the last attempt (close() counts what is left).
        if (this.closed) return;
        // One warning per outage, not one per retry.
        if (this.failures === 1) this.opts.logger.warn({ endpoint: this.opts.endpoint, error }, 'audit webhook target failed; retrying');
        const delay = Math.min(this.retryMaxMs, this.retryMinMs * 2 ** Math.min(this.failures - 1, 20));
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          if (!this.sending) void this.pump();
        }, delay);
        return;
      }
    } finally {
      this.sending = false;
      if (this.queue.length === 0 || this.closed || this.inflight.signal.aborted) this.idle?.();
    }
  }

  /** undefined when delivered; otherwise why not. */
  private async post(batch: readonly AuditRecord[]): Promise<string | undefined> {
    const { body, contentType } = formatBatch(this.opts.format, batch);
    const headers: Record<string, string> = { 'content-type': contentType };
    if (this.authorization) headers.authorization = this.authorization;
    try {
      const res = await fetch(this.opts.endpoint, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.any([this.inflight.signal, AbortSignal.timeout(this.timeoutMs)]),
      });
      const text = await res.text();
      if (!res.ok) return `HTTP ${res.status}`;
      if (this.opts.format === 'elasticsearch-bulk') {
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          return 'unparsable _bulk response';
        }
        const { failed, firstError } = bulkFailures(parsed);
        if (failed > 0) {
          // The rest of the batch is in; retrying would index those twice. Count the rejected ones.
          this.opts.onDrop(failed);
          this.opts.logger.warn({ endpoint: this.opts.endpoint, failed, firstError }, 'Elasticsearch rejected audit records');
        }
      }
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  }

  async close(deadlineMs: number): Promise<void> {
    this.closed = true;
    if (this.queue.length > 0) {
      if (this.retryTimer) {
        // Try once more now instead of waiting out the backoff.
        clearTimeout(this.retryTimer);
        this.retryTimer = undefined;
      }
      const done = new Promise<void>((resolve) => (this.idle = resolve));
      if (!this.sending) void this.pump();
      const timer = setTimeout(() => this.inflight.abort(), deadlineMs);
      await done;
      clearTimeout(timer);
      if (this.retryTimer) clearTimeout(this.retryTimer);
    }
    if (this.queue.length > 0) {
      this.opts.onDrop(this.queue.length);
      this.opts.logger.warn({ endpoint: this.opts.endpoint, dropped: this.queue.length }, 'audit records not delivered before shutdown');
      this.queue.length = 0;
    }
  }
}
