import { describe, expect, it, vi } from 'vitest';
import { codecContract, GEOMETRIES, lossPatterns, lossRoundTrip, makeStripe } from './codec.contract.js';
import { PortableRonomonCodec } from './codec-portable.js';
import { RonomonCodec } from './codec-ronomon.js';
import { WasmCodec } from './codec-wasm.js';
import { CodecRegistry, getCodec, loadCodec } from './codecs.js';
import { createRonomonContext, RONOMON_MAX_K, RONOMON_MAX_M } from './ronomon-matrix.js';

const native = new RonomonCodec();
const portable = new PortableRonomonCodec();
const wasm = new WasmCodec();

codecContract('ronomon (native addon)', () => native);
codecContract('ronomon (portable TypeScript)', () => portable);
codecContract('wasm (reed-solomon-erasure)', () => wasm);

describe('ronomon format: native addon and portable port are interchangeable', () => {
  it('builds the same encoding context for every supported geometry', () => {
    for (let k = 1; k <= RONOMON_MAX_K; k++) {
      for (let m = 1; m <= RONOMON_MAX_M; m++) {
        expect(Buffer.from(createRonomonContext(k, m)).equals(native.context(k, m)), `${k}+${m}`).toBe(true);
      }
    }
  });

  for (const [k, m] of GEOMETRIES) {
    it(`${k}+${m}: same parity bytes, and each rebuilds what the other wrote`, async () => {
      // 1 MiB / k rounded to 8 exercises ronomon's cache-blocked packet size.
      for (const len of [8, 8 * 37, Math.ceil(1048576 / k / 8) * 8]) {
        const a = makeStripe(k, m, len);
        const b = a.map((s) => Buffer.from(s));
        await native.encode(a, k, m);
        await portable.encode(b, k, m);
        for (let i = k; i < k + m; i++) expect(a[i]!.equals(b[i]!), `parity ${i} len ${len}`).toBe(true);
      }
      const lost = Array.from({ length: m }, (_, i) => (i * 3) % (k + m)).filter((v, i, arr) => arr.indexOf(v) === i);
      await lossRoundTrip(native, portable, k, m, 8 * 515, lost);
      await lossRoundTrip(portable, native, k, m, 8 * 515, lost);
    });
  }

  it('4+2: every loss pattern crosses over both ways', async () => {
    for (const lost of lossPatterns(6, 2)) {
      await lossRoundTrip(native, portable, 4, 2, 1024, lost);
      await lossRoundTrip(portable, native, 4, 2, 1024, lost);
    }
  });
});

describe('wasm format', () => {
  it('uses a different matrix than ronomon (why the codec id is stored with the data)', async () => {
    const a = makeStripe(4, 2, 256);
    const b = a.map((s) => Buffer.from(s));
    await native.encode(a, 4, 2);
    await wasm.encode(b, 4, 2);
    expect(a[5]!.equals(b[5]!)).toBe(false);
  });
});

describe('codec selection', () => {
  it('gives a reader for each codec id', async () => {
    expect((await loadCodec()).id).toBe('ronomon');
    expect(getCodec('ronomon').id).toBe('ronomon');
    expect(getCodec('wasm').id).toBe('wasm');
    expect((await loadCodec('wasm')).id).toBe('wasm');
  });

  it('falls back to the portable ronomon format, warning once, when the addon cannot load', async () => {
    const warn = vi.fn();
    const reg = new CodecRegistry({
      loadBinding: () => {
        throw new Error('binding.node: invalid ELF header');
      },
      warn,
    });
    const a = reg.get('ronomon');
    const b = reg.get('ronomon');
    expect(a).toBe(b);
    expect(a.id).toBe('ronomon');
    expect(a).toBeInstanceOf(PortableRonomonCodec);
    expect(warn).toHaveBeenCalledTimes(1);
    // Data written by the native addon still decodes with the fallback.
    await lossRoundTrip(native, a, 8, 4, 8 * 100, [0, 3, 9, 11]);
  });
});
