/**
 * The one place storage/ touches the erasure package's stream API, so the
 * object layer reads as "encode these bytes to these writers" and error
 * translation (erasure → object layer) happens in one function.
 */
import { ObjectLayerError } from './errors.js';

export { createErasureWriter } from '../erasure/encoder.js';
export { createErasureReader } from '../erasure/decoder.js';
export { MemoryShardReader, MemoryShardWriter } from '../erasure/memory-shards.js';
export { loadCodec, getCodec } from '../erasure/codecs.js';
export { PortableRonomonCodec } from '../erasure/codec-portable.js';
export { encodeShardHeader, shardLengthFor, SHARD_HEADER_SIZE } from '../erasure/shard-format.js';
export { bitrotHashInto, bitrotHashSize, bitrotVerify } from '../erasure/bitrot.js';
import { ErasureError } from '../erasure/errors.js';

/** ErasureError → ObjectLayerError; AbortError → Aborted; others unchanged. */
export function translateError(err: unknown): unknown {
  if (err instanceof ObjectLayerError) return err;
  if (err instanceof ErasureError) {
    switch (err.code) {
      case 'WriteQuorumNotReached':
        return new ObjectLayerError('WriteQuorumNotReached', err.message, { cause: err });
      case 'ReadQuorumNotReached':
        return new ObjectLayerError('ReadQuorumNotReached', err.message, { cause: err });
      case 'CorruptData':
        return new ObjectLayerError('CorruptData', err.message, { cause: err });
    }
  }
  const e = err as { name?: string; code?: string } | undefined;
  if (e && (e.name === 'AbortError' || e.code === 'ABORT_ERR')) {
    return new ObjectLayerError('Aborted', 'the request was aborted', { cause: err });
  }
  return err;
}
