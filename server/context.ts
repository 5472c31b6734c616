import { createHash } from 'node:crypto';
import type { SecureContextOptions } from 'node:tls';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../core/logger.js';
import type { ObjectLayer } from '../storage/object-layer.js';
import type { AuthContext, CredentialStore } from './auth/index.js';
import type { RoutedRequest } from './router.js';
import type { Ops } from './ops.js';
import type { XmlChild } from './xml.js';

/** What the S3 front end is built from; main.ts provides the concrete pieces. */
export interface ServerDeps {
  objects: ObjectLayer;
  credentials: CredentialStore;
  region: string;
  domains: readonly string[];
  logger: Logger;
  /** Constant x-amz-id-2 for this node (AWS sends an opaque host id). */
  hostId: string;
  /** Metrics, audit, request logs, health and admin endpoints (server/ops.ts); absent in unit tests. */
  ops?: Ops;
  /** Serve HTTPS with these options (server/tls.ts) instead of plain HTTP. */
  https?: SecureContextOptions;
}

/** Everything a handler needs about the one request it serves. Built once per request in app.ts. */
export interface RequestContext {
  readonly deps: ServerDeps;
  readonly requestId: string;
  /** Child of the process logger carrying the request id. */
  readonly log: Logger;
  /** Fires when the client goes away before the response is complete; passed to every storage call. */
  readonly signal: AbortSignal;
  readonly req: FastifyRequest;
  readonly reply: FastifyReply;
  readonly routed: RoutedRequest;
  readonly auth: AuthContext;
}

/** Owner shown in listings: one root identity for now (IAM is a later issue). */
export function ownerOf(accessKey: string): { id: string; displayName: string } {
  // A canonical user id is 64 hex characters, opaque and stable per identity.
  return { id: createHash('sha256').update(`cairn-owner:${accessKey}`).digest('hex'), displayName: accessKey };
}

/** The `<ID>` and `<DisplayName>` children of Owner (and Initiator) elements. */
export function ownerXml(accessKey: string): XmlChild[] {
  const o = ownerOf(accessKey);
  return [
    ['ID', o.id],
    ['DisplayName', o.displayName],
  ];
}

/**
 * Tell a client that sent `Expect: 100-continue` to go ahead. Called only by
 * handlers that are about to read the body, after authentication, so a
 * rejected PUT is answered without the client ever sending its payload.
 */
export function continueIfExpected(ctx: RequestContext): void {
  const expect = ctx.req.headers.expect;
  const res = ctx.reply.raw as typeof ctx.reply.raw & { _sent100?: boolean };
  if (typeof expect === 'string' && expect.toLowerCase() === '100-continue' && !res._sent100 && !res.headersSent) {
    res.writeContinue();
  }
}

export function sendXml(ctx: RequestContext, body: string | Buffer, status = 200): void {
  // As bytes: a string body is measured by fastify (flattening the rope) and
  // encoded again in the socket write; a 200 KB listing went out ~2x slower.
  ctx.reply.code(status).header('content-type', 'application/xml').send(typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
}
