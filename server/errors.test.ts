import { describe, expect, it } from 'vitest';
import { ObjectLayerError, type ObjectLayerErrorCode } from '../storage/errors.js';
import { errorXml, toS3Error } from './errors.js';
import { S3Error } from './s3-error.js';

describe('toS3Error', () => {
  it('maps object-layer codes to S3 codes and statuses', () => {
    const cases: Array<[ObjectLayerErrorCode, string, number]> = [
      ['BucketNotFound', 'NoSuchBucket', 404],
      ['ObjectNotFound', 'NoSuchKey', 404],
      ['BucketExists', 'BucketAlreadyOwnedByYou', 409],
      ['BucketNotEmpty', 'BucketNotEmpty', 409],
      ['InvalidRange', 'InvalidRange', 416],
      ['IncompleteBody', 'IncompleteBody', 400],
      ['BadDigest', 'BadDigest', 400],
      ['PreconditionFailed', 'PreconditionFailed', 412],
      ['WriteQuorumNotReached', 'ServiceUnavailable', 503],
      ['ReadQuorumNotReached', 'ServiceUnavailable', 503],
      ['CorruptData', 'InternalError', 500],
    ];
    for (const [code, s3code, status] of cases) {
      const { s3 } = toS3Error(new ObjectLayerError(code, `detail /secret/path ${code}`));
      expect([s3.code, s3.status], code).toEqual([s3code, status]);
    }
  });

  it('never shows the message of an unexpected error', () => {
    const { s3, internal } = toS3Error(new Error('ENOENT: /var/lib/cairn/d1/secret'));
    expect(internal).toBe(true);
    expect(s3.code).toBe('InternalError');
    expect(s3.message).not.toContain('/var/lib');
    const drive = toS3Error(new ObjectLayerError('DriveFailure', 'EIO on /mnt/d3'));
    expect(drive.s3.message).not.toContain('/mnt');
    expect(drive.internal).toBe(true);
  });

  it('passes S3 errors through and renders them with extras', () => {
    const e = new S3Error('SignatureDoesNotMatch', 403, 'bad sig', { StringToSign: 'a<b' });
    expect(toS3Error(e).s3).toBe(e);
    const xml = errorXml(e, '/b/k&', 'RID', 'HID');
    expect(xml).toContain('<Error><Code>SignatureDoesNotMatch</Code><Message>bad sig</Message><StringToSign>a&lt;b</StringToSign>');
    expect(xml).toContain('<Resource>/b/k&amp;</Resource><RequestId>RID</RequestId><HostId>HID</HostId></Error>');
  });
});
