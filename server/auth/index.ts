/**
 * SigV4 for S3: authenticate() checks the request's signature before dispatch;
 * decodeBody() then yields the object bytes and checks the payload as it streams.
 *
 *   const ctx = await authenticate({ method, rawUrl: req.url, headers: req.headers, rawHeaders: req.rawHeaders }, store);
 *   const body = decodeBody(req, ctx, req.headers);   // only for requests with a body
 *   await pipeline(body.stream, ...);                  // S3Error on the stream if the payload fails
 *
 * decodeBody never destroys the request on a payload error, so the error response
 * can still be written; the caller decides how to drain or close the connection.
 */
export type { AuthContext, AuthInput, CredentialStore, DecodedBody, PayloadMode } from './types.js';
export { authenticate, type AuthOptions } from './authenticate.js';
export { decodeBody } from './decode-body.js';
export { AwsChunkedDecoder, type AwsChunkedOptions, type ChunkSigning } from './aws-chunked.js';
export { signingKey } from './signing.js';
