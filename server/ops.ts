import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../core/logger.js';
import type { ObjectLayer } from '../storage/object-layer.js';
import { answerAdminHeal, isAdminHealPath, matchAdminHeal } from './admin-heal.js';
import type { AuditLog } from './audit/audit-log.js';
import type { AuditRecord } from './audit/record.js';
import { authenticate, type CredentialStore } from './auth/index.js';
import type { ClientIpResolver } from './client-ip.js';
import { clusterInfo, readiness } from './health.js';
import { metricsAuthorized, type CairnMetrics } from './metrics.js';
import { errorCodeOf } from './request-info.js';
import { routeOf } from './router.js';
import { S3Error } from './s3-error.js';

/**
 * Operations around the S3 front end, as one fastify onRequest hook
 * (registered by app.ts after its own):
 *
 * - answers /health/live, /health/ready and /metrics, and the admin summary
 *   GET /cairn/admin/v1/info, before the S3 router sees them;
 * - for every S3 request: a child logger carrying api/bucket/key, the
 *   in-flight gauge, and when the response is over (finished or cut short)
 *   the request metrics and one audit record.
 *
 * `/metrics` and `/health/*` are also valid path-style S3 URLs (bucket
 * `metrics`, bucket `health`). They are served as operations endpoints only
 * when the request carries no AWS signature: a signed request always goes to
 * S3, so those buckets stay usable with any SDK. The admin path is the
 * exception (it is signed): key `admin/v1/info` of a bucket named `cairn` is
 * shadowed for GET (and the heal/drives paths as server/admin-heal.ts says).
 */

export const ADMIN_INFO_PATH = '/cairn/admin/v1/info';

export interface OpsOptions {
  objects: ObjectLayer;
  metrics: CairnMetrics;
  /** CAIRN_METRICS_TOKEN; undefined = /metrics is open. */
  metricsToken?: string;
  audit: AuditLog;
  clientIp: ClientIpResolver;
  domains: readonly string[];
  credentials: CredentialStore;
  /** Only this access key may use the admin API (the root user, until IAM policies exist). */
  adminAccessKey: string;
  version: string;
}

export interface Ops {
  /**
   * Undefined, synchronously, for a request left to the S3 router (nearly all of them: no
   * promise and microtask per request); a promise when this answers it (health, metrics, admin).
   */
  onRequest(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> | undefined;
}

export function createOps(opts: OpsOptions): Ops {
  return {
    onRequest(request, reply) {
      const rawUrl = request.raw.url ?? '/';
      const q = rawUrl.indexOf('?');
      const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
      const method = request.method;
      if ((method === 'GET' || method === 'HEAD') && (path === '/health/live' || path === '/health/ready' || path === '/metrics') && !isSigned(request, rawUrl)) {
        return answerOpsEndpoint(opts, request, reply, path);
      }
      if (method === 'GET' && path === ADMIN_INFO_PATH && isSigned(request, rawUrl)) {
        return answerAdmin(opts, request, reply, rawUrl, async () => json(reply, 200, await clusterInfo(opts.objects.topology(), opts.version)));
      }
      // Heal and drives (server/admin-heal.ts): same auth as info; which requests it claims is said there.
      const adminHeal = isAdminHealPath(path) && isSigned(request, rawUrl) ? matchAdminHeal(method, path, q < 0 ? '' : rawUrl.slice(q + 1)) : undefined;
      if (adminHeal) {
        return answerAdmin(opts, request, reply, rawUrl, async () => {
          const answer = await answerAdminHeal(adminHeal, opts.objects);
          return json(reply, answer.status, answer.body);
        });
      }
      track(opts, request, reply, rawUrl);
      return undefined;
    },
  };
}

/** /health/live, /health/ready, /metrics (unsigned GET or HEAD). */
async function answerOpsEndpoint(opts: OpsOptions, request: FastifyRequest, reply: FastifyReply, path: string): Promise<FastifyReply> {
  switch (path) {
    case '/health/live':
      return json(reply, 200, { status: 'ok' });
    case '/health/ready': {
      const r = readiness(opts.objects.topology());
      return json(reply, r.ready ? 200 : 503, { status: r.ready ? 'ok' : 'unavailable', sets: r.sets });
    }
    default: {
      if (!metricsAuthorized(opts.metricsToken, request.headers.authorization)) {
        reply.code(401).header('www-authenticate', 'Bearer realm="cairn-metrics"').type('text/plain').send('unauthorized\n');
        return reply;
      }
      reply.code(200).type(opts.metrics.contentType).send(await opts.metrics.render());
      return reply;
    }
  }
}

/** An admin API request: only the admin access key, then `answer`. */
async function answerAdmin(
  opts: OpsOptions,
  request: FastifyRequest,
  reply: FastifyReply,
  rawUrl: string,
  answer: () => Promise<FastifyReply>,
): Promise<FastifyReply> {
  const auth = await authenticate({ method: request.method, rawUrl, headers: request.headers, rawHeaders: request.raw.rawHeaders }, opts.credentials);
  if (auth.accessKey !== opts.adminAccessKey) throw new S3Error('AccessDenied', 403, 'Access Denied.');
  return answer();
}

function json(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  reply.code(status).header('cache-control', 'no-store').type('application/json').send(JSON.stringify(body));
  return reply;
}

/** Any AWS signature, header (SigV4 or V2) or query (presigned): such a request is S3's. */
function isSigned(request: FastifyRequest, rawUrl: string): boolean {
  const auth = request.headers.authorization;
  if (typeof auth === 'string' && /^AWS/i.test(auth.trim())) return true;
  return /[?&](X-Amz-Signature|X-Amz-Credential|Signature)=/i.test(rawUrl);
}

/** The access key a request claims (before, or whatever the outcome of, verification); never the secret or signature. */
export function claimedAccessKey(authorization: string | undefined, rawUrl: string): string | undefined {
  const h = authorization && /Credential=([^/,\s]+)\//.exec(authorization);
  if (h) return h[1];
  const v2 = authorization && /^AWS\s+([^:\s]+):/.exec(authorization);
  if (v2) return v2[1];
  const p = /[?&]X-Amz-Credential=([^&%/]+)(?:%2F|\/)/i.exec(rawUrl);
  if (p) {
    try {
      return decodeURIComponent(p[1]!);
    } catch {
      return p[1];
    }
  }
  return undefined;
}

/** Bytes already counted per connection: a keep-alive socket serves many requests. */
const counted = new WeakMap<Socket, { read: number; written: number }>();

function track(opts: OpsOptions, request: FastifyRequest, reply: FastifyReply, rawUrl: string): void {
  const started = Date.now();
  let api = 'Unknown';
  let bucket: string | undefined;
  let key: string | undefined;
  try {
    const { op } = routeOf(request.raw, opts.domains);
    api = op.op;
    bucket = 'bucket' in op ? op.bucket : undefined;
    key = 'key' in op ? op.key : undefined;
  } catch {
    // The S3 handler routes again and answers the error; here it is just `Unknown`.
  }
  // The request's child logger: every line a handler logs names the operation.
  request.log = (request.log as unknown as Logger).child({ api, bucket, key }) as unknown as typeof request.log;
  opts.metrics.requestStarted();

  const res = reply.raw;
  res.once('close', () => {
    const socket = request.raw.socket as Socket | null;
    let bytesIn = 0;
    let bytesOut = 0;
    if (socket) {
      const prev = counted.get(socket) ?? { read: 0, written: 0 };
      const now = { read: socket.bytesRead, written: socket.bytesWritten };
      bytesIn = Math.max(0, now.read - prev.read);
      bytesOut = Math.max(0, now.written - prev.written);
      counted.set(socket, now);
    }
    const durationMs = Date.now() - started;
    const aborted = !res.writableFinished;
    // A response cut short never got its status to the client; 499 as NGINX logs it, if nothing was sent.
    const status = aborted && !res.headersSent ? 499 : res.statusCode;
    opts.metrics.requestFinished({ api, status, durationSeconds: durationMs / 1000, bytesIn, bytesOut });
    if (!opts.audit.enabled) return;
    const peer = request.raw.socket?.remoteAddress;
    const ua = request.headers['user-agent'];
    const record: AuditRecord = {
      version: 1,
      time: new Date(started).toISOString(),
      requestId: request.id,
      api,
      method: request.method,
      bucket,
      object: key,
      status,
      errorCode: errorCodeOf(request.raw),
      bytesIn,
      bytesOut,
      durationMs,
      accessKey: claimedAccessKey(request.headers.authorization, rawUrl),
      sourceIp: opts.clientIp.resolve(peer, request.headers),
      userAgent: typeof ua === 'string' ? ua : undefined,
      tls: (socket as TLSSocket | null)?.encrypted === true || opts.clientIp.forwardedTls(peer, request.headers),
      ...(aborted ? { aborted: true } : {}),
    };
    opts.audit.record(record);
  });
}
