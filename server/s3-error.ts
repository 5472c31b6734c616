import { CairnError } from '../core/errors.js';

/**
 * An error as S3 reports it: a code from AWS's documented list and its HTTP
 * status. Rendered to XML in exactly one place (server/errors.ts).
 */
export class S3Error extends CairnError<string> {
  constructor(
    code: string,
    readonly status: number,
    message?: string,
    /** Extra elements AWS adds to some errors (e.g. StringToSign, ExpectedDigest). */
    readonly extra: Record<string, string> = {},
  ) {
    super(code, message);
  }
}

export const accessDenied = (msg = 'Access Denied') => new S3Error('AccessDenied', 403, msg);
export const signatureDoesNotMatch = (extra: Record<string, string> = {}) =>
  new S3Error(
    'SignatureDoesNotMatch',
    403,
    'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    extra,
  );
export const invalidAccessKeyId = () =>
  new S3Error('InvalidAccessKeyId', 403, 'The AWS Access Key Id you provided does not exist in our records.');
export const invalidArgument = (msg: string, extra: Record<string, string> = {}) =>
  new S3Error('InvalidArgument', 400, msg, extra);
export const invalidRequest = (msg: string) => new S3Error('InvalidRequest', 400, msg);
export const notImplemented = (msg = 'A header you provided implies functionality that is not implemented') =>
  new S3Error('NotImplemented', 501, msg);
export const internalError = () =>
  new S3Error('InternalError', 500, 'We encountered an internal error. Please try again.');
