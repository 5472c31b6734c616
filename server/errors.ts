import { CRYPTO_S3_ERRORS, CryptoError } from '../crypto/errors.js';
import { ObjectLayerError, type ObjectLayerErrorCode } from '../storage/errors.js';
import { S3Error, internalError } from './s3-error.js';
import { xmlDocument } from './xml.js';

/**
 * The one place where any error becomes what an S3 client sees.
 *
 * Quorum loss is reported as 503 ServiceUnavailable (MinIO says
 * XMinioReadQuorum / XMinioWriteQuorum, also 503): it is a standard AWS code
 * that every SDK retries with backoff, and it is what the client should do
 * while a drive comes back. CorruptData and DriveFailure are 500
 * InternalError: not the client's problem, and logged with the request id.
 */

const OBJECT_LAYER: Record<ObjectLayerErrorCode, (message: string) => S3Error> = {
  BucketNotFound: () => new S3Error('NoSuchBucket', 404, 'The specified bucket does not exist'),
  BucketExists: () =>
    new S3Error(
      'BucketAlreadyOwnedByYou',
      409,
      'Your previous request to create the named bucket succeeded and you already own it.',
    ),
  BucketNotEmpty: () => new S3Error('BucketNotEmpty', 409, 'The bucket you tried to delete is not empty'),
  InvalidBucketName: () => new S3Error('InvalidBucketName', 400, 'The specified bucket is not valid.'),
  ObjectNotFound: () => new S3Error('NoSuchKey', 404, 'The specified key does not exist.'),
  InvalidObjectName: () => new S3Error('InvalidArgument', 400, 'Object name contains unsupported characters.'),
  InvalidRange: () => new S3Error('InvalidRange', 416, 'The requested range is not satisfiable'),
  // GET/HEAD ?partNumber=N beyond the object's parts: AWS answers 400 InvalidPart (ceph s3-tests pin it too).
  InvalidPartNumber: () => new S3Error('InvalidPart', 400, 'The requested partnumber is not satisfiable'),
  ReadQuorumNotReached: () =>
    new S3Error('ServiceUnavailable', 503, 'Not enough drives are online to read this data; please retry.'),
  WriteQuorumNotReached: () =>
    new S3Error('ServiceUnavailable', 503, 'Not enough drives are online to store this data; please retry.'),
  UploadNotFound: () =>
    new S3Error(
      'NoSuchUpload',
      404,
      'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
    ),
  InvalidPart: () =>
    new S3Error(
      'InvalidPart',
      400,
      "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
    ),
  InvalidPartOrder: () =>
    new S3Error(
      'InvalidPartOrder',
      400,
      'The list of parts was not in ascending order. Parts must be ordered by part number.',
    ),
  EntityTooSmall: () =>
    new S3Error('EntityTooSmall', 400, 'Your proposed upload is smaller than the minimum allowed object size.'),
  EntityTooLarge: () =>
    new S3Error('EntityTooLarge', 400, 'Your proposed upload exceeds the maximum allowed object size.'),
  IncompleteBody: () =>
    new S3Error('IncompleteBody', 400, 'You did not provide the number of bytes specified by the Content-Length HTTP header.'),
  BadDigest: (m) => new S3Error('BadDigest', 400, `The checksum you specified did not match what we received. (${m})`),
  InvalidChecksum: () => new S3Error('InvalidDigest', 400, 'The checksum you specified is not valid.'),
  PreconditionFailed: () =>
    new S3Error('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold'),
  ConditionalRequestConflict: () =>
    new S3Error(
      'ConditionalRequestConflict',
      409,
      'The conditional request cannot succeed due to a conflicting operation against this resource.',
    ),
  InvalidStorageClass: () =>
    new S3Error('InvalidStorageClass', 400, 'The storage class you specified is not valid'),
  // Only seen when the client went away; nobody reads the answer.
  Aborted: () => new S3Error('RequestTimeout', 400, 'Your socket connection to the server was closed.'),
  DriveFailure: () => internalError(),
  CorruptData: () => internalError(),
};

export interface TranslatedError {
  s3: S3Error;
  /** True when the cause is our fault (or the drives'): log it with its stack. */
  internal: boolean;
}

/** Any thrown value → the S3 error to send. Unknown errors never leak their message. */
export function toS3Error(err: unknown): TranslatedError {
  if (err instanceof S3Error) return { s3: err, internal: err.status >= 500 && err.code === 'InternalError' };
  if (err instanceof ObjectLayerError) {
    const make = OBJECT_LAYER[err.code];
    const s3 = make ? make(err.message) : internalError();
    return { s3, internal: s3.status === 500 };
  }
  if (err instanceof CryptoError) {
    // crypto/ keeps AWS's answer per code as data (it cannot import server/).
    const m = CRYPTO_S3_ERRORS[err.code];
    const s3 = new S3Error(m.code, m.status, m.status >= 500 && err.code !== 'KmsUnavailable' && err.code !== 'KmsUnsupported' ? internalError().message : err.message);
    return { s3, internal: m.status === 500 };
  }
  const fw = fromFramework(err);
  if (fw) return { s3: fw, internal: false };
  return { s3: internalError(), internal: true };
}

/** Fastify / Node HTTP failures that reach us as errors with a code. */
function fromFramework(err: unknown): S3Error | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  switch (code) {
    case 'FST_ERR_BAD_URL':
    case 'ERR_INVALID_URI':
      return invalidUri();
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new S3Error('KeyTooLongError', 400, 'Your key is too long');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new S3Error('EntityTooLarge', 400, 'Your proposed upload exceeds the maximum allowed object size.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new S3Error('UnsupportedMediaType', 415, 'The media type of the request is not supported.');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new S3Error('IncompleteBody', 400, 'You did not provide the number of bytes specified by the Content-Length HTTP header.');
    case 'ECONNRESET':
    case 'ERR_STREAM_PREMATURE_CLOSE':
      return new S3Error('IncompleteBody', 400, 'The request body ended before its declared length.');
    default:
      return undefined;
  }
}

export const invalidUri = () => new S3Error('InvalidURI', 400, "Couldn't parse the specified URI.");

/** `<Error>` document. Extra elements (StringToSign, ...) come after the standard ones' Message. */
export function errorXml(s3: S3Error, resource: string, requestId: string, hostId: string): string {
  return xmlDocument(
    'Error',
    [
      ['Code', s3.code],
      ['Message', s3.message],
      ...Object.entries(s3.extra).map(([k, v]) => [k, v] as const),
      ['Resource', resource],
      ['RequestId', requestId],
      ['HostId', hostId],
    ],
    null,
  );
}
