/**
 * A port of the encoding-matrix construction of @ronomon/reed-solomon 6.0.0
 * (binding.c: create_tables, create_matrix, create_bitmatrix_encoding,
 * create_bitmatrix_decoding). It exists so that shards written by the native
 * addon stay readable when the addon cannot be loaded: the portable codec
 * (codec-portable.ts) computes the very same bits. Pure functions, no I/O.
 *
 * ronomon works over GF(2^w), w ∈ {2,4,8} chosen per (k,m), with a Cauchy
 * matrix whose row 0 is all ones, expanded into a k·w × m·w bit matrix: every
 * parity "packet" is the XOR of some data packets (no table multiplications).
 */

export const RONOMON_MAX_K = 24;
export const RONOMON_MAX_M = 6;

/**
 * PARAMETERS[k-1][m-1] = [w, p, x, y, b] copied verbatim from binding.c:
 * w = field exponent, p = primitive polynomial, x/y = Cauchy column/row offsets
 * (-1 when m <= 2), b = number of ones in the bit matrix (checked on build).
 */
const PARAMETERS: readonly (readonly (readonly [number, number, number, number, number])[])[] = [
  [[2, 7, -1, -1, 2], [2, 7, -1, -1, 4], [2, 7, 0, 1, 6], [4, 19, 0, 1, 16], [4, 19, 0, 1, 20], [4, 19, 0, 1, 24]], // k=1
  [[2, 7, -1, -1, 4], [2, 7, -1, -1, 9], [4, 19, 0, 4, 28], [4, 19, 0, 5, 40], [4, 19, 2, 9, 51], [4, 19, 4, 10, 62]], // k=2
  [[2, 7, -1, -1, 6], [4, 19, -1, -1, 26], [4, 19, 0, 9, 44], [4, 19, 1, 8, 63], [4, 19, 1, 9, 82], [4, 19, 0, 9, 101]], // k=3
  [[4, 19, -1, -1, 16], [4, 19, -1, -1, 36], [4, 19, 0, 9, 63], [4, 19, 3, 11, 89], [4, 19, 3, 11, 116], [4, 19, 11, 4, 145]], // k=4
  [[4, 19, -1, -1, 20], [4, 19, -1, -1, 47], [4, 19, 4, 13, 82], [4, 19, 3, 12, 118], [4, 19, 0, 9, 152], [4, 19, 0, 9, 185]], // k=5
  [[4, 19, -1, -1, 24], [4, 19, -1, -1, 58], [4, 19, 2, 12, 102], [4, 19, 2, 12, 144], [4, 19, 0, 9, 186], [4, 19, 0, 9, 231]], // k=6
  [[4, 19, -1, -1, 28], [4, 19, -1, -1, 71], [4, 19, 1, 13, 123], [4, 19, 2, 12, 174], [4, 19, 0, 9, 226], [4, 19, 7, 0, 277]], // k=7
  [[4, 19, -1, -1, 32], [4, 19, -1, -1, 84], [4, 19, 2, 13, 142], [4, 19, 2, 12, 205], [4, 19, 0, 9, 265], [4, 19, 0, 8, 328]], // k=8
  [[4, 19, -1, -1, 36], [4, 19, -1, -1, 97], [4, 19, 1, 13, 162], [4, 19, 2, 12, 237], [4, 19, 0, 9, 308], [4, 19, 1, 10, 376]], // k=9
  [[4, 19, -1, -1, 40], [4, 19, -1, -1, 111], [4, 19, 1, 13, 186], [4, 19, 0, 12, 268], [4, 19, 0, 11, 347], [4, 19, 0, 10, 426]], // k=10
  [[4, 19, -1, -1, 44], [4, 19, -1, -1, 125], [4, 19, 0, 13, 211], [4, 19, 0, 12, 300], [4, 19, 0, 11, 390], [8, 135, 58, 188, 1401]], // k=11
  [[4, 19, -1, -1, 48], [4, 19, -1, -1, 139], [4, 19, 3, 0, 234], [4, 19, 0, 12, 334], [8, 113, 24, 208, 1269], [8, 135, 57, 188, 1577]], // k=12
  [[4, 19, -1, -1, 52], [4, 19, -1, -1, 155], [4, 19, 0, 13, 261], [8, 135, 59, 189, 1037], [8, 113, 27, 236, 1393], [8, 113, 27, 236, 1733]], // k=13
  [[4, 19, -1, -1, 56], [4, 19, -1, -1, 171], [8, 169, 4, 252, 777], [8, 135, 58, 189, 1121], [8, 135, 58, 189, 1508], [8, 135, 58, 188, 1880]], // k=14
  [[4, 19, -1, -1, 60], [8, 135, -1, -1, 353], [8, 113, 24, 209, 836], [8, 135, 58, 189, 1225], [8, 101, 28, 232, 1644], [8, 113, 120, 241, 2037]], // k=15
  [[8, 29, -1, -1, 128], [8, 135, -1, -1, 380], [8, 113, 22, 213, 901], [8, 113, 22, 212, 1324], [8, 101, 28, 232, 1765], [8, 101, 28, 232, 2195]], // k=16
  [[8, 29, -1, -1, 136], [8, 135, -1, -1, 407], [8, 113, 22, 213, 960], [8, 135, 58, 189, 1423], [8, 101, 27, 232, 1880], [8, 101, 27, 232, 2343]], // k=17
  [[8, 29, -1, -1, 144], [8, 135, -1, -1, 434], [8, 113, 24, 213, 1027], [8, 113, 22, 212, 1513], [8, 195, 8, 32, 2019], [8, 113, 205, 126, 2500]], // k=18
  [[8, 29, -1, -1, 152], [8, 135, -1, -1, 462], [8, 113, 22, 213, 1086], [8, 113, 23, 212, 1604], [8, 195, 7, 32, 2131], [8, 195, 3, 60, 2654]], // k=19
  [[8, 29, -1, -1, 160], [8, 135, -1, -1, 490], [8, 113, 22, 213, 1147], [8, 113, 22, 212, 1695], [8, 195, 4, 238, 2270], [8, 113, 21, 233, 2816]], // k=20
  [[8, 29, -1, -1, 168], [8, 135, -1, -1, 518], [8, 113, 21, 213, 1225], [8, 113, 21, 212, 1801], [8, 195, 3, 60, 2395], [8, 195, 3, 60, 2980]], // k=21
  [[8, 29, -1, -1, 176], [8, 135, -1, -1, 546], [8, 113, 20, 213, 1292], [8, 113, 21, 212, 1906], [8, 195, 35, 28, 2512], [8, 195, 3, 60, 3135]], // k=22
  [[8, 29, -1, -1, 184], [8, 135, -1, -1, 574], [8, 113, 19, 213, 1366], [8, 113, 19, 212, 2008], [8, 195, 3, 238, 2652], [8, 113, 205, 126, 3291]], // k=23
  [[8, 29, -1, -1, 192], [8, 135, -1, -1, 603], [8, 113, 18, 213, 1437], [8, 195, 125, 91, 2110], [8, 195, 3, 238, 2787], [8, 195, 42, 225, 3466]], // k=24
];

interface Field {
  w: number;
  log: Int32Array;
  exp: Int32Array;
  bit: Int32Array;
  min: Int32Array;
}

function gDivide(f: Field, a: number, b: number): number {
  const y = (1 << f.w) - 1;
  if (b < 1) throw new Error('gf divide by zero');
  if (a === 0) return 0;
  return f.exp[(f.log[a]! + y - f.log[b]!) % y]!;
}

function gMultiply(f: Field, a: number, b: number): number {
  const y = (1 << f.w) - 1;
  if (a === 0 || b === 0) return 0;
  return f.exp[(f.log[a]! + f.log[b]!) % y]!;
}

function createField(w: number, p: number): Field {
  const y = (1 << w) - 1;
  const z = 1 << w;
  const f: Field = { w, log: new Int32Array(z).fill(y), exp: new Int32Array(z), bit: new Int32Array(z), min: new Int32Array(z) };
  let b = 1;
  for (let a = 0; a < y; a++) {
    f.log[b] = a;
    f.exp[a] = b;
    b <<= 1;
    if (b & z) b = (b ^ p) & y;
  }
  // bit[n] = ones in the w×w bit matrix of multiplication by n.
  for (let n = 0; n < z; n++) {
    let count = 0;
    let v = n;
    for (let r = 0; r < w; r++) {
      for (let c = 0; c < w; c++) count += v & (1 << c) ? 1 : 0;
      v = gMultiply(f, v, 2);
    }
    f.bit[n] = count;
  }
  // min = field elements sorted by number of ones (ties by value).
  f.min[0] = 0;
  for (let a = 1; a < z; a++) {
    const c = f.min[a - 1]!;
    let d = -1;
    for (let bb = 1; bb < z; bb++) {
      if (f.bit[bb]! < f.bit[c]!) continue;
      if (f.bit[bb] === f.bit[c] && bb <= c) continue;
      if (d === -1 || f.bit[bb]! < f.bit[d]!) d = bb;
    }
    f.min[a] = d;
  }
  return f;
}

function createMatrix(f: Field, k: number, m: number, x: number, y: number): { matrix: Uint8Array; count: number } {
  const matrix = new Uint8Array(k * m);
  let count = f.bit[1]! * k;
  for (let c = 0; c < k; c++) matrix[c] = 1;
  if (m === 2) {
    for (let c = 0; c < k; c++) {
      matrix[k + c] = f.min[c + 1]!;
      count += f.bit[matrix[k + c]!]!;
    }
  } else if (m > 2) {
    for (let r = 0; r < m; r++) {
      for (let c = 0; c < k; c++) matrix[r * k + c] = gDivide(f, 1, (y + r) ^ (x + c));
    }
    for (let r = 1; r < m; r++) {
      for (let c = 0; c < k; c++) matrix[r * k + c] = gDivide(f, matrix[r * k + c]!, matrix[c]!);
    }
    for (let c = 0; c < k; c++) matrix[c] = gDivide(f, matrix[c]!, matrix[c]!);
    for (let r = 1; r < m; r++) {
      const rk = r * k;
      let result = 0;
      let column = -1;
      for (let c = 0; c < k; c++) result += f.bit[matrix[rk + c]!]!;
      for (let c = 0; c < k; c++) {
        let bits = 0;
        for (let d = 0; d < k; d++) bits += f.bit[gDivide(f, matrix[rk + d]!, matrix[rk + c]!)]!;
        if (bits < result) {
          result = bits;
          column = matrix[rk + c]!;
        }
      }
      if (column >= 0) {
        for (let c = 0; c < k; c++) matrix[rk + c] = gDivide(f, matrix[rk + c]!, column);
      }
      count += result;
    }
  }
  return { matrix, count };
}

/**
 * The encoding context exactly as ronomon's `create(k, m)` returns it:
 * [w, k, m, bitmatrix (m·w rows × k·w columns, row-major, 0/1 bytes)].
 */
export function createRonomonContext(k: number, m: number): Uint8Array {
  const params = PARAMETERS[k - 1]?.[m - 1];
  if (!Number.isInteger(k) || !Number.isInteger(m) || !params) {
    throw new RangeError(`unsupported erasure geometry ${k}+${m} (1 <= k <= ${RONOMON_MAX_K}, 1 <= m <= ${RONOMON_MAX_M})`);
  }
  const [w, p, x, y, b] = params;
  const f = createField(w, p);
  const { matrix, count } = createMatrix(f, k, m, x, y);
  if (count !== b) throw new Error(`ronomon matrix port diverged for ${k}+${m}: ${count} != ${b}`);
  const context = new Uint8Array(3 + k * w * m * w);
  context[0] = w;
  context[1] = k;
  context[2] = m;
  const bitmatrix = context.subarray(3);
  let ones = 0;
  for (let r = 0; r < m; r++) {
    for (let c = 0; c < k; c++) {
      let v = matrix[k * r + c]!;
      for (let a = 0; a < w; a++) {
        for (let bb = 0; bb < w; bb++) {
          const bitv = v & (1 << bb) ? 1 : 0;
          bitmatrix[r * w * k * w + w * c + a + k * w * bb] = bitv;
          ones += bitv;
        }
        v = gMultiply(f, v, 2);
      }
    }
  }
  if (ones !== b) throw new Error(`ronomon bitmatrix port diverged for ${k}+${m}`);
  return context;
}

/**
 * Inverse bit matrix that rebuilds the k data shards from the k shards listed
 * in `sourceIndex` (ascending shard indices, data or parity). Row block i
 * (w rows of k·w bits) rebuilds data shard i. Gaussian elimination over GF(2).
 */
export function createDecodingBitmatrix(context: Uint8Array, sourceIndex: readonly number[]): Uint8Array {
  const w = context[0]!;
  const k = context[1]!;
  const source = context.subarray(3);
  const kww = k * w * w;
  const rows = k * w;
  const matrix = new Uint8Array(k * kww);
  for (let a = 0; a < k; a++) {
    const s = sourceIndex[a]!;
    if (s < k) {
      let index = kww * a + s * w;
      for (let bb = 0; bb < w; bb++) {
        matrix[index] = 1;
        index += rows + 1;
      }
    } else {
      matrix.set(source.subarray(kww * (s - k), kww * (s - k + 1)), kww * a);
    }
  }
  const target = new Uint8Array(rows * rows);
  for (let r = 0; r < rows; r++) target[r * rows + r] = 1;
  const swapRows = (buf: Uint8Array, r1: number, r2: number): void => {
    for (let c = 0; c < rows; c++) {
      const t = buf[r1 * rows + c]!;
      buf[r1 * rows + c] = buf[r2 * rows + c]!;
      buf[r2 * rows + c] = t;
    }
  };
  for (let c = 0; c < rows; c++) {
    if (matrix[c * rows + c] === 0) {
      let r = c + 1;
      while (r < rows && matrix[r * rows + c] === 0) r++;
      if (r === rows) throw new Error('erasure decoding matrix is singular');
      swapRows(matrix, c, r);
      swapRows(target, c, r);
    }
    for (let r = c + 1; r < rows; r++) {
      if (matrix[r * rows + c] !== 0) {
        for (let kk = 0; kk < rows; kk++) {
          matrix[r * rows + kk]! ^= matrix[c * rows + kk]!;
          target[r * rows + kk]! ^= target[c * rows + kk]!;
        }
      }
    }
  }
  for (let r = rows - 1; r >= 0; r--) {
    for (let c = 0; c < r; c++) {
      if (matrix[c * rows + r]) {
        for (let kk = 0; kk < rows; kk++) {
          matrix[c * rows + kk]! ^= matrix[r * rows + kk]!;
          target[c * rows + kk]! ^= target[r * rows + kk]!;
        }
      }
    }
  }
  return target;
}

/**
 * ronomon splits each shard into rounds of w packets of `chunkSize` bytes; the
 * chunk size is shrunk to stay in cache and so changes the parity bytes — the
 * on-disk format depends on it, which is why it is reproduced here exactly.
 */
export function ronomonChunkSize(w: number, k: number, shardSize: number): number {
  let chunkSize = shardSize / w;
  while (chunkSize > 64 && chunkSize % 2 === 0 && (1 + k * w) * chunkSize > 1048576) chunkSize /= 2;
  return chunkSize;
}
