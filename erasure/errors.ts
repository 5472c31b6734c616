/**
 * Errors the erasure layer raises on purpose. storage/ translates them into
 * object-layer errors (storage/erasure-api.ts); erasure never imports storage.
 */
import { CairnError } from '../core/errors.js';

export type ErasureErrorCode = 'WriteQuorumNotReached' | 'ReadQuorumNotReached' | 'CorruptData';

export class ErasureError extends CairnError<ErasureErrorCode> {}

export function isErasureError(err: unknown, code?: ErasureErrorCode): err is ErasureError {
  return err instanceof ErasureError && (code === undefined || err.code === code);
}
