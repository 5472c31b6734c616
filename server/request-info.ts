import type { IncomingMessage } from 'node:http';

/**
 * What the request's audit record and metrics need but only the S3 path
 * knows: the S3 error code an error response carried. Keyed by the raw
 * request, so it lives exactly as long as the request.
 */
const errorCodes = new WeakMap<IncomingMessage, string>();

export function noteErrorCode(req: IncomingMessage, code: string): void {
  errorCodes.set(req, code);
}

export function errorCodeOf(req: IncomingMessage): string | undefined {
  return errorCodes.get(req);
}
