/**
 * Chunks of a GET stream may be lent from the read path's chunk pool
 * (erasure/chunk-pool.ts). The server gives each one back once its socket
 * write has completed; anything not lent, or released in any other shape, is
 * ignored, so every other consumer may simply not call this.
 */
export { releaseChunk } from '../erasure/chunk-pool.js';
