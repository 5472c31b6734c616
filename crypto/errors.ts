/**
 * Errors the crypto layer raises on purpose. crypto/ is a leaf (imports core/
 * only), so it cannot build S3 errors itself; instead every code carries the S3
 * code and HTTP status the server should answer with (CRYPTO_S3_ERRORS), and
 * storage/ passes CryptoError through or wraps it.
 */
import { CairnError } from '../core/errors.js';

export type CryptoErrorCode =
  // SSE-C request headers
  | 'InvalidEncryptionAlgorithm' // algorithm header is not AES256 (or SSE header not AES256/aws:kms)
  | 'InvalidSSECustomerKey' // key missing, not base64, not 32 bytes, or MD5 header missing/malformed
  | 'SSECustomerKeyMd5Mismatch' // MD5 header does not match the key
  | 'SSECustomerKeyMissing' // object is SSE-C but the request carries no key
  | 'SSECustomerKeyMismatch' // the key given is not the one the object was written with
  | 'SSECustomerKeyNotExpected' // key given for an object that is not SSE-C
  | 'InvalidEncryptionContext' // x-amz-server-side-encryption-context is not base64 JSON of strings
  // KMS
  | 'KmsUnavailable' // backend unreachable, timed out, sealed, 5xx
  | 'KmsKeyNotFound'
  | 'KmsKeyExists'
  | 'KmsAccessDenied' // backend refused our credentials
  | 'KmsDecryptFailed' // ciphertext not ours, tampered, or wrong context
  | 'KmsUnsupported' // e.g. rotation of a key given by environment variable
  | 'KmsError' // any other backend answer we did not expect
  // sealed keys and streams
  | 'InvalidSealedKey' // record malformed or from an unknown version
  | 'UnsealFailed' // sealed key does not open (tampered record, wrong bucket/key binding)
  | 'InvalidStreamHeader' // bad magic, version, cipher or package size
  | 'CorruptCiphertext'; // a package failed authentication, or the stream was truncated/extended

export class CryptoError extends CairnError<CryptoErrorCode> {}

export function isCryptoError(err: unknown, code?: CryptoErrorCode): err is CryptoError {
  return err instanceof CryptoError && (code === undefined || err.code === code);
}

/**
 * What the S3 front end should answer for each code (AWS's documented codes).
 * Kept here as data so server/ maps crypto errors in its one error table without
 * crypto/ importing server/.
 */
export const CRYPTO_S3_ERRORS: Readonly<Record<CryptoErrorCode, { code: string; status: number }>> = {
  InvalidEncryptionAlgorithm: { code: 'InvalidEncryptionAlgorithmError', status: 400 },
  InvalidSSECustomerKey: { code: 'InvalidArgument', status: 400 },
  SSECustomerKeyMd5Mismatch: { code: 'InvalidArgument', status: 400 },
  SSECustomerKeyMissing: { code: 'InvalidRequest', status: 400 },
  SSECustomerKeyMismatch: { code: 'AccessDenied', status: 403 },
  SSECustomerKeyNotExpected: { code: 'InvalidRequest', status: 400 },
  InvalidEncryptionContext: { code: 'InvalidArgument', status: 400 },
  KmsUnavailable: { code: 'ServiceUnavailable', status: 503 },
  KmsKeyNotFound: { code: 'KMS.NotFoundException', status: 400 },
  KmsKeyExists: { code: 'KMS.AlreadyExistsException', status: 400 },
  KmsAccessDenied: { code: 'KMS.AccessDeniedException', status: 403 },
  KmsDecryptFailed: { code: 'KMS.InvalidCiphertextException', status: 400 },
  KmsUnsupported: { code: 'NotImplemented', status: 501 },
  KmsError: { code: 'InternalError', status: 500 },
  InvalidSealedKey: { code: 'InternalError', status: 500 },
  UnsealFailed: { code: 'InternalError', status: 500 },
  InvalidStreamHeader: { code: 'InternalError', status: 500 },
  CorruptCiphertext: { code: 'InternalError', status: 500 },
};

export const kmsUnavailable = (backend: string, why: string, cause?: unknown) =>
  new CryptoError('KmsUnavailable', `KMS ${backend} unavailable: ${why}`, { cause });
export const kmsKeyNotFound = (keyId: string) => new CryptoError('KmsKeyNotFound', `KMS key not found: ${keyId}`);
export const kmsDecryptFailed = (why = 'data key does not decrypt (wrong key, context or tampered)') =>
  new CryptoError('KmsDecryptFailed', why);
export const corruptCiphertext = (why: string) => new CryptoError('CorruptCiphertext', `encrypted object is corrupt: ${why}`);
