/**
 * Streaming AEAD with random access ("package stream", format v1).
 *
 * The plaintext is cut into packages of P = 64 KiB; each is sealed on its own
 * with AES-256-GCM or ChaCha20-Poly1305 so a range read opens only the packages
 * it covers. Nonces follow the STREAM construction (Hoang, Reyhanitabar,
 * Rogaway, Vizár 2015): a per-stream random prefix, the package's sequence
 * number, and a flag that is 1 only for the last package. Reordering, dropping,
 * duplicating, truncating or extending the stream therefore fails
 * authentication.
 *
 * Layout (all integers big-endian; see crypto/README.md for the full text):
 *
 *   header   16 bytes  "CRNE" | version=1 | cipher | log2(P)=16 | 0x0000 | prefix(7)
 *   package  n bytes of ciphertext | 16-byte tag, n = P for every package but the
 *            last, and 0 <= n < P for the last one (so a stream whose length is
 *            a multiple of P ends with an empty package: a full package is never
 *            final, which lets both directions work without look-ahead)
 *   nonce    prefix(7) | final(1: 0x00 or 0x01) | sequence number (u32)
 *   AAD      the 16 header bytes (binds cipher, package size and prefix)
 *
 * The header is a pure function of StreamParams, which storage also keeps in
 * the object's metadata so a range read can skip it.
 */
import { randomBytes } from 'node:crypto';
import { CryptoError, corruptCiphertext } from './errors.js';

export type StreamCipher = 'AES-256-GCM' | 'CHACHA20-POLY1305';

export const FORMAT_MAGIC = Buffer.from('CRNE', 'latin1');
export const FORMAT_VERSION = 1;
export const HEADER_SIZE = 16;
export const TAG_SIZE = 16;
export const PREFIX_SIZE = 7;
export const DEFAULT_PACKAGE_LOG2 = 16; // 64 KiB, as MinIO's DARE
/** The u32 sequence number caps a stream at 2^32 packages (256 TiB at 64 KiB). */
export const MAX_PACKAGES = 2 ** 32;

export const CIPHER_IDS: Readonly<Record<StreamCipher, number>> = { 'AES-256-GCM': 1, 'CHACHA20-POLY1305': 2 };

/** Everything needed to decode a stream besides the key. JSON-able (prefix is base64). */
export interface StreamParams {
  readonly version: 1;
  readonly cipher: StreamCipher;
  readonly packageLog2: number;
  /** base64 of the 7 random nonce-prefix bytes */
  readonly noncePrefix: string;
}

export function newStreamParams(cipher: StreamCipher = 'AES-256-GCM', packageLog2 = DEFAULT_PACKAGE_LOG2): StreamParams {
  checkLog2(packageLog2);
  return { version: FORMAT_VERSION, cipher, packageLog2, noncePrefix: randomBytes(PREFIX_SIZE).toString('base64') };
}

function checkLog2(log2: number): void {
  // 1 KiB .. 16 MiB; v1 writers use 16. Bounds keep a hostile header from asking for huge buffers.
  if (!Number.isInteger(log2) || log2 < 10 || log2 > 24) {
    throw new CryptoError('InvalidStreamHeader', `package size 2^${log2} out of range`);
  }
}

export function encodeHeader(p: StreamParams): Buffer {
  const prefix = Buffer.from(p.noncePrefix, 'base64');
  if (prefix.length !== PREFIX_SIZE) throw new CryptoError('InvalidStreamHeader', 'nonce prefix must be 7 bytes');
  checkLog2(p.packageLog2);
  const h = Buffer.alloc(HEADER_SIZE);
  FORMAT_MAGIC.copy(h, 0);
  h[4] = p.version;
  h[5] = CIPHER_IDS[p.cipher];
  h[6] = p.packageLog2;
  // h[7], h[8] reserved (zero)
  prefix.copy(h, 9);
  return h;
}

export function decodeHeader(h: Buffer): StreamParams {
  if (h.length < HEADER_SIZE || !h.subarray(0, 4).equals(FORMAT_MAGIC)) {
    throw new CryptoError('InvalidStreamHeader', 'not an encrypted Cairn stream (bad magic)');
  }
  if (h[4] !== FORMAT_VERSION) throw new CryptoError('InvalidStreamHeader', `unknown stream format version ${h[4]}`);
  const cipher = (Object.keys(CIPHER_IDS) as StreamCipher[]).find((c) => CIPHER_IDS[c] === h[5]);
  if (!cipher) throw new CryptoError('InvalidStreamHeader', `unknown cipher id ${h[5]}`);
  if (h[7] !== 0 || h[8] !== 0) throw new CryptoError('InvalidStreamHeader', 'reserved header bytes are not zero');
  const packageLog2 = h[6]!;
  checkLog2(packageLog2);
  return { version: FORMAT_VERSION, cipher, packageLog2, noncePrefix: h.subarray(9, 16).toString('base64') };
}

/** Number of packages of a plaintext of `plainSize` bytes: always at least one, the last short. */
export function packageCount(plainSize: number, packageLog2 = DEFAULT_PACKAGE_LOG2): number {
  return Math.floor(plainSize / 2 ** packageLog2) + 1;
}

/** Size of the whole ciphertext stream (header included) for `plainSize` plaintext bytes. */
export function encryptedSize(plainSize: number, packageLog2 = DEFAULT_PACKAGE_LOG2): number {
  return HEADER_SIZE + plainSize + TAG_SIZE * packageCount(plainSize, packageLog2);
}

/** Plaintext size of a complete stream of `cipherSize` bytes; throws if no stream has that size. */
export function decryptedSize(cipherSize: number, packageLog2 = DEFAULT_PACKAGE_LOG2): number {
  const P = 2 ** packageLog2;
  const body = cipherSize - HEADER_SIZE;
  const full = Math.floor(body / (P + TAG_SIZE));
  const last = body - full * (P + TAG_SIZE);
  if (body < TAG_SIZE || last < TAG_SIZE) throw corruptCiphertext(`no stream is ${cipherSize} bytes long`);
  return full * P + last - TAG_SIZE;
}

export interface CiphertextRange {
  /** first and last package (sequence numbers) the range touches */
  readonly firstPackage: number;
  readonly lastPackage: number;
  /** byte offsets into the whole ciphertext stream (header included), end exclusive */
  readonly cipherStart: number;
  readonly cipherEnd: number;
  /** plaintext bytes to drop from the first decrypted package */
  readonly skip: number;
  /** plaintext bytes to emit */
  readonly length: number;
  /** the object's plaintext size, so the decryptor knows which package is final */
  readonly plainSize: number;
  readonly packageLog2: number;
}

/**
 * Which ciphertext bytes hold plaintext [plainStart, plainEnd) (end exclusive,
 * unlike HTTP's inclusive Range). An empty range still maps to one package so
 * that the decryptor authenticates something.
 */
export function ciphertextRangeFor(
  plainStart: number,
  plainEnd: number,
  plainSize: number,
  packageLog2 = DEFAULT_PACKAGE_LOG2,
): CiphertextRange {
  if (!(plainStart >= 0 && plainStart <= plainEnd && plainEnd <= plainSize) || !Number.isSafeInteger(plainSize)) {
    throw new RangeError(`bad plaintext range [${plainStart}, ${plainEnd}) of ${plainSize}`);
  }
  const P = 2 ** packageLog2;
  const firstPackage = Math.floor(plainStart / P);
  const lastPackage = plainEnd > plainStart ? Math.floor((plainEnd - 1) / P) : firstPackage;
  const lastPlainLen = Math.min(P, plainSize - lastPackage * P);
  return {
    firstPackage,
    lastPackage,
    cipherStart: HEADER_SIZE + firstPackage * (P + TAG_SIZE),
    cipherEnd: HEADER_SIZE + lastPackage * (P + TAG_SIZE) + lastPlainLen + TAG_SIZE,
    skip: plainStart - firstPackage * P,
    length: plainEnd - plainStart,
    plainSize,
    packageLog2,
  };
}

/** nonce(i) = prefix(7) | final flag(1) | i (u32 BE) */
export function nonceFor(prefix: Buffer, seq: number, final: boolean): Buffer {
  if (seq >= MAX_PACKAGES) throw new CryptoError('CorruptCiphertext', 'stream exceeds 2^32 packages');
  const n = Buffer.allocUnsafe(12);
  prefix.copy(n, 0);
  n[7] = final ? 1 : 0;
  n.writeUInt32BE(seq, 8);
  return n;
}

