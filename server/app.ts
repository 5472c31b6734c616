import { randomBytes } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Logger } from '../core/logger.js';
import { authenticate } from './auth/index.js';
import type { RequestContext, ServerDeps } from './context.js';
import { dispatch } from './dispatch.js';
import { errorXml, invalidUri, toS3Error } from './errors.js';
import { postObject } from './handlers/post-object.js';
import { RangeNotSatisfiable } from './range.js';
import { noteErrorCode } from './request-info.js';
import { lazyChild } from './request-logger.js';
import { routeOf, type RoutedRequest } from './router.js';
import { S3Error } from './s3-error.js';

/**
 * The HTTP front end. Fastify provides the server, hooks and lifecycle; S3
 * semantics live in our router: one wildcard route receives every request and
 * routeRequest() reads the raw URL. Bodies are never parsed by fastify — the
 * catch-all content-type parser leaves `req.raw` untouched for the handler to
 * stream (so bodyLimit does not apply to object data).
 */

const METHODS = ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'] as const;

/** AWS-style 16-character request ids: a per-process random prefix and a counter. */
function requestIdGenerator(): () => string {
  const prefix = randomBytes(3).toString('hex').toUpperCase();
  let n = 0;
  return () => prefix + (n++).toString(16).toUpperCase().padStart(10, '0');
}

export interface App {
  fastify: FastifyInstance;
  /** Stop accepting requests, let in-flight ones finish (or abort at the deadline), close sockets. */
  close(): Promise<void>;
}

export async function buildApp(deps: ServerDeps): Promise<App> {
  const nextId = requestIdGenerator();
  let closing = false;

  const app = Fastify({
    // pino's Logger is what fastify's logger is; its types just do not say so.
    loggerInstance: deps.logger as FastifyBaseLogger,
    // HTTPS when configured (server/tls.ts); main.ts swaps the certificate on renewal.
    ...(deps.https ? { https: deps.https } : {}),
    // One debug line per request from our onResponse hook instead of fastify's two info lines.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => nextId(),
    // Request loggers are made on the first line they write (server/request-logger.ts).
    childLoggerFactory: (logger, bindings, opts) => lazyChild(logger as unknown as Logger, bindings, opts) as unknown as FastifyBaseLogger,
    exposeHeadRoutes: false,
    // We answer 503 ourselves during shutdown, as S3 XML.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // Uploads may take long; header and keep-alive timeouts still guard idle sockets.
    requestTimeout: 0,
    routerOptions: {
      ignoreTrailingSlash: false,
      ignoreDuplicateSlashes: false,
      // The wildcard carries whole keys; this keeps find-my-way from ever refusing a long one.
      maxParamLength: 64 * 1024,
    },
    frameworkErrors: (err, request, reply) => sendError(request, reply, err, resourceOf(request.raw.url), deps.hostId),
    clientErrorHandler: (err: NodeJS.ErrnoException, socket: Socket) => answerClientError(err, socket, nextId(), deps.hostId),
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null));

  // Node sends `100 Continue` on its own unless someone listens for checkContinue.
  // We take it over so the handler decides, after authentication, whether the
  // client may send its body (see continueIfExpected).
  app.server.on('checkContinue', (req, res) => app.server.emit('request', req, res));
  // Any other Expect value (empty, `200`, ...) gets 417 from Node unless someone listens.
  // S3 ignores expectations it does not know; only `100-continue` means anything.
  app.server.on('checkExpectation', (req, res) => app.server.emit('request', req, res));

  // Callback style, not async: fastify then runs it without a promise and a microtask per request.
  app.addHook('onRequest', (request, reply, done) => {
    // An empty Content-Type is no media type at all: without this fastify's
    // parser answers 415 before our handler (S3 stores no Content-Type then).
    // Signatures are checked against rawHeaders, which keep the header as sent.
    const contentType = request.headers['content-type'];
    if (typeof contentType === 'string' && contentType.trim() === '') {
      delete request.headers['content-type'];
    }
    reply.header('x-amz-request-id', request.id);
    reply.header('x-amz-id-2', deps.hostId);
    reply.header('server', 'Cairn');
    if (closing) {
      reply.header('connection', 'close');
      done(new S3Error('ServiceUnavailable', 503, 'The server is shutting down; please retry.'));
      return;
    }
    done();
  });

  // Health, metrics and admin endpoints; per-request metrics, audit and log context (server/ops.ts).
  if (deps.ops) {
    const ops = deps.ops;
    // Callback style, as above: an S3 request passes on synchronously, only ops endpoints wait.
    app.addHook('onRequest', (request, reply, done) => {
      const answering = ops.onRequest(request, reply);
      if (answering === undefined) done();
      else answering.then(() => done(), (err: Error) => done(err));
    });
  }

  // The line is debug: without that level the hook (one more async step per request) is not installed.
  if (deps.logger.isLevelEnabled('debug')) {
    app.addHook('onResponse', async (request, reply) => {
      request.log.debug(
        { method: request.method, url: redactUrl(request.raw.url), status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
        'request',
      );
    });
  }

  app.setErrorHandler((err, request, reply) => sendError(request, reply, err, resourceOf(request.raw.url), deps.hostId));
  app.setNotFoundHandler((request, reply) => {
    // Only methods outside METHODS land here; the wildcard route takes every path.
    const err = (METHODS as readonly string[]).includes(request.method)
      ? invalidUri()
      : new S3Error('MethodNotAllowed', 405, 'The specified method is not allowed against this resource.');
    sendError(request, reply, err, resourceOf(request.raw.url), deps.hostId);
  });

  app.route({
    method: [...METHODS],
    url: '/*',
    handler: async (request, reply) => {
      let routed: RoutedRequest | undefined;
      try {
        const rawUrl = request.raw.url ?? '/';
        routed = routeOf(request.raw, deps.domains);
        if (routed.op.op === 'PostObject') {
          // A browser form carries its signature as a form field, over the policy:
          // the handler authenticates it once the fields before the file are read.
          const signal = clientGone(request, reply);
          await postObject({ deps, requestId: request.id, log: request.log as unknown as Logger, signal, req: request, reply, routed }, routed.op);
          return reply;
        }
        const auth = await authenticate(
          { method: request.method, rawUrl, headers: request.headers, rawHeaders: request.raw.rawHeaders },
          deps.credentials,
        );
        const ctx: RequestContext = {
          deps,
          requestId: request.id,
          // fastify's per-request child of deps.logger, carrying reqId.
          log: request.log as unknown as Logger,
          signal: clientGone(request, reply),
          req: request,
          reply,
          routed,
          auth,
        };
        await dispatch(ctx, routed.op);
      } catch (err) {
        sendError(request, reply, err, routed?.resource ?? resourceOf(request.raw.url), deps.hostId);
      }
      return reply;
    },
  });

  await app.ready();
  return {
    fastify: app,
    async close() {
      closing = true;
      await app.close();
    },
  };
}

/**
 * An AbortSignal that fires when the client disconnects before we finished
 * answering: mid-upload (request closed before complete) or mid-download.
 */
function clientGone(request: FastifyRequest, reply: FastifyReply): AbortSignal {
  const ac = new AbortController();
  const req = request.raw;
  const res = reply.raw;
  // One listener, on the response: a client that goes away closes the socket, which closes
  // the response too (mid-upload as well); the request's own 'close' also fires after a
  // normal end of the body, so it told nothing more and cost an add and a remove per request.
  res.once('close', () => {
    if (res.writableFinished) return;
    ac.abort(new Error(req.complete ? 'client disconnected before the response completed' : 'client disconnected during upload'));
  });
  return ac.signal;
}

/** Presigned URLs carry their signature and security token in the query: never log those. */
export function redactUrl(rawUrl: string | undefined): string | undefined {
  return rawUrl?.replace(/([?&]X-Amz-(?:Signature|Security-Token|Credential)=)[^&]*/gi, '$1[redacted]');
}

function resourceOf(rawUrl: string | undefined): string {
  const u = rawUrl ?? '/';
  const q = u.indexOf('?');
  const path = q < 0 ? u : u.slice(0, q);
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** Every error response goes through here: S3 XML, a clean header set, the request id. */
export function sendError(
  request: FastifyRequest,
  reply: FastifyReply,
  err: unknown,
  resource: string,
  hostId: string,
): void {
  const { s3, internal } = toS3Error(err);
  noteErrorCode(request.raw, s3.code);
  if (internal) request.log.error({ err, requestId: request.id }, 'internal error');
  else request.log.debug({ code: s3.code, message: s3.message }, 'request failed');

  if (reply.sent || reply.raw.headersSent) {
    // Headers (maybe part of a body) are out: the only honest signal left is a broken connection.
    reply.raw.destroy();
    return;
  }
  for (const name of Object.keys(reply.getHeaders())) reply.removeHeader(name);
  reply.header('x-amz-request-id', request.id);
  reply.header('x-amz-id-2', hostId);
  reply.header('server', 'Cairn');
  if (s3 instanceof RangeNotSatisfiable) reply.header('content-range', `bytes */${s3.size}`);
  const body = errorXml(s3, resource, request.id, hostId);
  const send = () => {
    if (reply.sent || reply.raw.destroyed) return;
    reply.code(s3.status).header('content-type', 'application/xml').send(body);
  };
  if (request.raw.complete || request.raw.destroyed || awaitingContinue(request, reply)) send();
  else drainThen(request, send);
}

/** The client asked for `100 Continue` and did not get it: it will not send a body (node closes after our answer). */
function awaitingContinue(request: FastifyRequest, reply: FastifyReply): boolean {
  const expect = request.headers.expect;
  return (
    typeof expect === 'string' &&
    expect.toLowerCase() === '100-continue' &&
    !(reply.raw as typeof reply.raw & { _sent100?: boolean })._sent100
  );
}

/** Past this much unread body after an error, we answer at once and let the connection close. */
const DRAIN_LIMIT = 64 << 20;

/**
 * Answer an error only once the request body is in. Answering while the client
 * was still sending (the SDK after `100 Continue`, refused for a missing
 * bucket) made about half such calls fail client-side with EPIPE instead of
 * reading our error document (tests/e2e-sdk.test.ts, "missing bucket"). So the
 * rest of the body is read and discarded first, which also keeps the
 * connection usable, up to DRAIN_LIMIT; past that the error goes out at once
 * and the connection closes, as S3 does with large unwanted uploads.
 */
function drainThen(request: FastifyRequest, send: () => void): void {
  const raw = request.raw;
  let done = false;
  let drained = 0;
  const finish = () => {
    if (done) return;
    done = true;
    send();
  };
  raw.unpipe();
  raw.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > DRAIN_LIMIT) finish();
  });
  raw.once('end', finish);
  raw.once('close', finish);
  raw.once('error', finish);
  raw.resume();
}

/** Errors node's HTTP parser raises before a request exists (oversized headers, garbage). */
function answerClientError(err: NodeJS.ErrnoException, socket: Socket, requestId: string, hostId: string): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  let s3: S3Error;
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    s3 = new S3Error('RequestHeaderSectionTooLarge', 400, 'Your request header section exceeds the maximum allowed size.');
  } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    s3 = new S3Error('RequestTimeout', 400, 'Your socket connection to the server was not read from or written to within the timeout period.');
  } else {
    s3 = new S3Error('BadRequest', 400, 'An error occurred when parsing the HTTP request.');
  }
  const body = errorXml(s3, '', requestId, hostId);
  if (socket.writable) {
    socket.end(
      `HTTP/1.1 ${s3.status} ${STATUS_CODES[s3.status]}\r\n` +
        'Content-Type: application/xml\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        `x-amz-request-id: ${requestId}\r\nx-amz-id-2: ${hostId}\r\nServer: Cairn\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  setTimeout(() => socket.destroy(), 1000).unref();
}
