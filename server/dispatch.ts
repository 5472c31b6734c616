import type { RequestContext } from './context.js';
import { createBucket, deleteBucket, getBucketLocation, headBucket, listBuckets } from './handlers/bucket.js';
import { deleteObjects } from './handlers/delete-objects.js';
import { listObjectsV1, listObjectsV2 } from './handlers/list.js';
import { deleteObject, getObject, headObject, putObject } from './handlers/object.js';
import { copyObject, uploadPartCopy } from './handlers/copy.js';
import { completeMultipartUpload } from './handlers/multipart-complete.js';
import {
  abortMultipartUpload,
  createMultipartUpload,
  listMultipartUploads,
  listParts,
  uploadPart,
} from './handlers/multipart.js';
import { postObject } from './handlers/post-object.js';
import { getObjectAttributes } from './handlers/object-attributes.js';
import { getBucketVersioning, listObjectVersions } from './handlers/versions.js';
import { getBucketAcl, getObjectAcl, putBucketAcl, putObjectAcl } from './handlers/acl.js';
import { deleteBucketEncryption, getBucketEncryption, putBucketEncryption } from './handlers/bucket-encryption.js';
import { notImplementedFor, type Op } from './router.js';

/** One exhaustive switch: an operation added to `Op` without a case here does not compile. */
export async function dispatch(ctx: RequestContext, op: Op): Promise<void> {
  switch (op.op) {
    case 'ListBuckets':
      return listBuckets(ctx);
    case 'CreateBucket':
      return createBucket(ctx, op);
    case 'HeadBucket':
      return headBucket(ctx, op);
    case 'DeleteBucket':
      return deleteBucket(ctx, op);
    case 'GetBucketLocation':
      return getBucketLocation(ctx, op);
    case 'ListObjects':
      return listObjectsV1(ctx, op);
    case 'ListObjectsV2':
      return listObjectsV2(ctx, op);
    case 'DeleteObjects':
      return deleteObjects(ctx, op);
    case 'PutObject':
      return putObject(ctx, op);
    case 'PostObject':
      return postObject(ctx, op);
    case 'GetObject':
      return getObject(ctx, op);
    case 'HeadObject':
      return headObject(ctx, op);
    case 'DeleteObject':
      return deleteObject(ctx, op);
    case 'CopyObject':
      return copyObject(ctx, op);
    case 'GetObjectAttributes':
      return getObjectAttributes(ctx, op);
    case 'CreateMultipartUpload':
      return createMultipartUpload(ctx, op);
    case 'UploadPart':
      return uploadPart(ctx, op);
    case 'UploadPartCopy':
      return uploadPartCopy(ctx, op);
    case 'CompleteMultipartUpload':
      return completeMultipartUpload(ctx, op);
    case 'AbortMultipartUpload':
      return abortMultipartUpload(ctx, op);
    case 'ListParts':
      return listParts(ctx, op);
    case 'ListMultipartUploads':
      return listMultipartUploads(ctx, op);
    case 'GetBucketEncryption':
      return getBucketEncryption(ctx, op);
    case 'PutBucketEncryption':
      return putBucketEncryption(ctx, op);
    case 'DeleteBucketEncryption':
      return deleteBucketEncryption(ctx, op);
    case 'ListObjectVersions':
      return listObjectVersions(ctx, op);
    case 'GetBucketVersioning':
      return getBucketVersioning(ctx, op);
    case 'GetBucketAcl':
      return getBucketAcl(ctx, op);
    case 'GetObjectAcl':
      return getObjectAcl(ctx, op);
    case 'PutBucketAcl':
      return putBucketAcl(ctx, op);
    case 'PutObjectAcl':
      return putObjectAcl(ctx, op);
    case 'NotImplemented':
      throw notImplementedFor(op.what);
    default: {
      const unreachable: never = op;
      throw new Error(`unrouted operation ${JSON.stringify(unreachable)}`);
    }
  }
}
