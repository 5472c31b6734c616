import { CairnError } from '../core/errors.js';

/** Every failure the object layer reports on purpose. The S3 front end maps these in one place. */
export type ObjectLayerErrorCode =
  | 'BucketNotFound'
  | 'BucketExists' // created by us already (S3: BucketAlreadyOwnedByYou)
  | 'BucketNotEmpty'
  | 'InvalidBucketName'
  | 'ObjectNotFound'
  | 'InvalidObjectName' // hostile or over-long key
  | 'InvalidRange' // range outside the object (S3: 416 InvalidRange)
  | 'InvalidPartNumber' // partNumber=N on GET/HEAD beyond the object's parts
  | 'ReadQuorumNotReached'
  | 'WriteQuorumNotReached'
  | 'UploadNotFound'
  | 'InvalidPart' // complete: part missing or ETag mismatch
  | 'InvalidPartOrder'
  | 'EntityTooSmall' // complete: a non-final part under 5 MiB
  | 'EntityTooLarge'
  | 'IncompleteBody' // stream shorter or longer than the declared size
  | 'BadDigest' // Content-MD5 or x-amz-checksum-* mismatch
  | 'InvalidChecksum' // malformed checksum value
  | 'PreconditionFailed' // conditional write lost (If-Match / If-None-Match)
  | 'ConditionalRequestConflict'
  | 'InvalidStorageClass'
  | 'Aborted' // the caller's AbortSignal fired
  | 'DriveFailure' // a drive-level error that was not absorbed by quorum
  | 'CorruptData'; // more than parity-many shards unreadable or failing bitrot checks

export class ObjectLayerError extends CairnError<ObjectLayerErrorCode> {}

export const bucketNotFound = (bucket: string) => new ObjectLayerError('BucketNotFound', `bucket not found: ${bucket}`);
export const objectNotFound = (bucket: string, key: string) =>
  new ObjectLayerError('ObjectNotFound', `object not found: ${bucket}/${key}`);
export const writeQuorumNotReached = (got: number, need: number, cause?: unknown) =>
  new ObjectLayerError('WriteQuorumNotReached', `write quorum not reached: ${got} of ${need} drives`, { cause });
export const readQuorumNotReached = (got: number, need: number, cause?: unknown) =>
  new ObjectLayerError('ReadQuorumNotReached', `read quorum not reached: ${got} of ${need} drives`, { cause });
