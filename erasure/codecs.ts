/**
 * Choosing a Reed-Solomon codec.
 *
 * What we found (2026-11, @ronomon/reed-solomon 6.0.0 vs
 * @digitaldefiance/reed-solomon-erasure.wasm 1.0.2): the two do NOT share an
 * encoding matrix, and not even an arithmetic.
 *  - ronomon: per (k,m) a field GF(2^w), w ∈ {2,4,8}, with its own primitive
 *    polynomial; a Cauchy matrix (row 0 all ones, rows scaled to minimise ones)
 *    expanded to a bit matrix; each shard is cut into rounds of w packets whose
 *    size depends on the shard length (cache blocking), and parity packets are
 *    XORs of data packets. Shard lengths must be multiples of 8. k ≤ 24, m ≤ 6.
 *  - reed-solomon-erasure (wasm): the Backblaze/klauspost systematic matrix
 *    derived from a Vandermonde matrix over GF(2^8) (polynomial 0x11D), applied
 *    byte by byte. Its wasm API exposes only whole encode/reconstruct calls, so
 *    it cannot be driven to compute ronomon's bit matrix.
 * codec.test.ts pins this down: same input, different parity.
 *
 * How data stays readable: the codec id is part of the format (recorded in
 * ErasureLayout.codec and in every shard header), and each id has an
 * implementation with no native dependency:
 *  - 'ronomon' → the native addon, or, when it cannot be loaded, the
 *    pure-TypeScript port in codec-portable.ts, which produces byte-identical
 *    shards (proven for every geometry in codec.test.ts, in both directions).
 *  - 'wasm' → the wasm codec (WebAssembly runs everywhere Node does).
 * loadCodec() therefore falls back from the native addon to the portable port
 * of the SAME format rather than to the wasm codec: new objects keep the
 * default format, and become fast again as soon as the addon is back. The wasm
 * codec remains available on request (`loadCodec('wasm')`) and for reading
 * whatever was written with it.
 */
import { PortableRonomonCodec } from './codec-portable.js';
import { loadRonomonBinding, RonomonCodec } from './codec-ronomon.js';
import { WasmCodec } from './codec-wasm.js';
import type { CodecId, ErasureCodec } from './types.js';

export type CodecWarn = (message: string, err: unknown) => void;

const defaultWarn: CodecWarn = (message, err) => console.warn(`cairn: ${message}:`, err instanceof Error ? err.message : err);

/**
 * Holds one instance of each codec (contexts and wasm memory are cached inside
 * them). The binding loader is injectable so the fallback can be tested.
 */
export class CodecRegistry {
  private native: RonomonCodec | null | undefined;
  private nativeError: unknown;
  private portable: PortableRonomonCodec | undefined;
  private wasm: WasmCodec | undefined;
  private warned = false;

  constructor(private readonly opts: { loadBinding?: typeof loadRonomonBinding; warn?: CodecWarn } = {}) {}

  private tryNative(): RonomonCodec | null {
    if (this.native === undefined) {
      try {
        this.native = new RonomonCodec((this.opts.loadBinding ?? loadRonomonBinding)());
      } catch (err) {
        this.native = null;
        this.nativeError = err;
      }
    }
    return this.native;
  }

  /** A codec that reads (and writes) data in the format of codec `id`. */
  get(id: CodecId, warn?: CodecWarn): ErasureCodec {
    switch (id) {
      case 'ronomon': {
        const n = this.tryNative();
        if (n) return n;
        if (!this.warned) {
          this.warned = true;
          (warn ?? this.opts.warn ?? defaultWarn)(
            '@ronomon/reed-solomon native addon unavailable; using the portable (slower) implementation of the same format',
            this.nativeError,
          );
        }
        return (this.portable ??= new PortableRonomonCodec());
      }
      case 'wasm':
        return (this.wasm ??= new WasmCodec());
      default: {
        const never: never = id;
        throw new RangeError(`unknown erasure codec ${String(never)}`);
      }
    }
  }

  /** Every implementation that can run here, for tests and benchmarks. */
  implementations(): { name: string; codec: ErasureCodec }[] {
    const out: { name: string; codec: ErasureCodec }[] = [];
    const n = this.tryNative();
    if (n) out.push({ name: 'ronomon-native', codec: n });
    out.push({ name: 'ronomon-portable', codec: (this.portable ??= new PortableRonomonCodec()) });
    out.push({ name: 'wasm', codec: (this.wasm ??= new WasmCodec()) });
    return out;
  }
}

const registry = new CodecRegistry();

/** The codec new objects are written with: 'ronomon' unless `preferred` says otherwise. */
export async function loadCodec(preferred: CodecId = 'ronomon', opts: { warn?: CodecWarn } = {}): Promise<ErasureCodec> {
  return registry.get(preferred, opts.warn);
}

/** A codec able to read data written with codec `id` (ErasureLayout.codec). */
export function getCodec(id: CodecId, opts: { warn?: CodecWarn } = {}): ErasureCodec {
  return registry.get(id, opts.warn);
}

/** Every implementation that can run here (native, portable, wasm). */
export function availableImplementations(): { name: string; codec: ErasureCodec }[] {
  return registry.implementations();
}
