import { S3Error } from '../s3-error.js';

// The S3 error codes SigV4 verification can produce, with AWS's messages.

export const authorizationHeaderMalformed = (msg: string) =>
  new S3Error('AuthorizationHeaderMalformed', 400, `The authorization header is malformed; ${msg}`);

export const authorizationQueryParametersError = (msg: string) =>
  new S3Error('AuthorizationQueryParametersError', 400, msg);

export const requestTimeTooSkewed = (requestTime: string, serverTime: string) =>
  new S3Error('RequestTimeTooSkewed', 403, 'The difference between the request time and the current time is too large.', {
    RequestTime: requestTime,
    ServerTime: serverTime,
    MaxAllowedSkewMilliseconds: '900000',
  });

export const missingSecurityHeader = (name: string) =>
  new S3Error('MissingSecurityHeader', 400, 'Your request was missing a required header', { MissingHeaderName: name });

export const xAmzContentSha256Mismatch = (clientHash: string, computedHash: string) =>
  new S3Error('XAmzContentSHA256Mismatch', 400, "The provided 'x-amz-content-sha256' header does not match what was computed.", {
    ClientComputedContentSHA256: clientHash,
    S3ComputedContentSHA256: computedHash,
  });

/** Truncated aws-chunked body or decoded total different from x-amz-decoded-content-length. */
export const incompleteBody = (msg = 'You did not provide the number of bytes specified by the Content-Length HTTP header.') =>
  new S3Error('IncompleteBody', 400, msg);

/** Broken aws-chunked framing. */
export const malformedChunkedBody = (why: string) =>
  new S3Error('InvalidRequest', 400, `Malformed aws-chunked body: ${why}`);

export const malformedTrailer = (why: string) =>
  new S3Error(
    'MalformedTrailerError',
    400,
    `The request contained trailing data that was not well-formed or did not conform to our published schema: ${why}`,
  );
