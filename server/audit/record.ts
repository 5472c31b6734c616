/**
 * One audit record per S3 API call. Field names are stable: downstream
 * pipelines (Elasticsearch mappings, SIEM parsers) key on them. Add fields,
 * never rename; bump `version` if a meaning changes.
 */
export interface AuditRecord {
  version: 1;
  /** ISO 8601, when the request arrived. */
  time: string;
  requestId: string;
  /** S3 operation (`PutObject`), `Unknown` when refused before routing. */
  api: string;
  method: string;
  bucket?: string;
  object?: string;
  status: number;
  /** S3 error code (`NoSuchKey`) when the call failed. */
  errorCode?: string;
  /** Bytes read from / written to the connection for this request, headers included. */
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  /** The access key the request was signed with (also when the signature was wrong); absent = anonymous. */
  accessKey?: string;
  /** Client address: the TCP peer, or what a trusted proxy says (server/client-ip.ts). */
  sourceIp: string;
  userAgent?: string;
  /** The client's connection was encrypted (to Cairn, or to a trusted proxy sending X-Forwarded-Proto: https). */
  tls: boolean;
  /** The response was cut short (client gone, or an error after the headers went out). */
  aborted?: boolean;
}

/** Where records go. `send` never throws and never waits: targets queue or drop. */
export interface AuditTarget {
  readonly name: string;
  send(record: AuditRecord): void;
  /** Deliver what is queued, giving up at `deadlineMs` from now. */
  close(deadlineMs: number): Promise<void>;
}
