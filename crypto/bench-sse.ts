/**
 * Throughput of the package stream: `npm run build && node dist/crypto/bench-sse.js [MiB] [--wall]`.
 * Prints MB/s (10^6) per CPU second for encrypt and decrypt of both ciphers,
 * median of 3 runs, next to raw node:crypto sealing of the same 64 KiB
 * packages (the ceiling for this format).
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { newStreamParams, type StreamCipher } from './package-format.js';
import { createDecryptStream, createEncryptStream } from './package-stream.js';

const MiB = 1024 * 1024;
const total = Number(process.argv.find((a, i) => i >= 2 && /^\d+$/.test(a)) ?? 256) * MiB;
const chunk = randomBytes(MiB);

function source(bytes: number): Readable {
  let left = bytes;
  return new Readable({
    read() {
      if (left <= 0) return void this.push(null);
      const n = Math.min(left, chunk.length);
      left -= n;
      this.push(n === chunk.length ? chunk : chunk.subarray(0, n));
    },
  });
}

const sink = (keep?: Buffer[]) =>
  new Writable({
    highWaterMark: 4 * MiB,
    write(c: Buffer, _e, cb) {
      keep?.push(c);
      cb();
    },
  });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mbps = (bytes: number, ns: bigint) => bytes / (Number(ns) / 1e9) / 1e6;

/**
 * CPU time (user + system) of the work, not wall time: the build machines are
 * shared and a wall clock mostly measures the neighbours. Single-threaded
 * work, so CPU MB/s = what one free core would do. `--wall` switches back.
 */
const WALL = process.argv.includes('--wall');
async function time(fn: () => Promise<void> | void): Promise<bigint> {
  const t = process.hrtime.bigint();
  const c = process.cpuUsage();
  await fn();
  if (WALL) return process.hrtime.bigint() - t;
  const d = process.cpuUsage(c);
  return BigInt(d.user + d.system) * 1000n;
}

async function main(): Promise<void> {
  const key = randomBytes(32);
  for (const cipher of ['AES-256-GCM', 'CHACHA20-POLY1305'] as StreamCipher[]) {
    const raw: number[] = [];
    const enc: number[] = [];
    const dec: number[] = [];
    // a ciphertext sample (32 MiB) to decrypt repeatedly
    const sampleParts: Buffer[] = [];
    const sampleSize = Math.min(total, 32 * MiB);
    const params = newStreamParams(cipher);
    await pipeline(source(sampleSize), createEncryptStream(key, params), sink(sampleParts));
    const sample = Buffer.concat(sampleParts);
    for (let run = 0; run < 3; run++) {
      raw.push(
        mbps(
          total,
          await time(() => {
            const name = cipher === 'AES-256-GCM' ? 'aes-256-gcm' : 'chacha20-poly1305';
            const nonce = randomBytes(12);
            for (let off = 0; off < total; off += 64 * 1024) {
              const c = createCipheriv(name as 'aes-256-gcm', key, nonce, { authTagLength: 16 });
              c.update(chunk.subarray(off % MiB, (off % MiB) + 64 * 1024));
              c.final();
              c.getAuthTag();
            }
          }),
        ),
      );
      enc.push(mbps(total, await time(() => pipeline(source(total), createEncryptStream(key, newStreamParams(cipher)), sink()))));
      const reps = Math.max(1, Math.round(total / sampleSize));
      dec.push(
        mbps(
          sampleSize * reps,
          await time(async () => {
            for (let i = 0; i < reps; i++) {
              await pipeline(Readable.from([sample.subarray(0, sample.length >> 1), sample.subarray(sample.length >> 1)]), createDecryptStream(key, { params }), sink());
            }
          }),
        ),
      );
    }
    console.log(
      `${cipher.padEnd(18)} raw per-package seal ${median(raw).toFixed(0)} MB/s | EncryptStream ${median(enc).toFixed(0)} MB/s | DecryptStream ${median(dec).toFixed(0)} MB/s`,
    );
  }
}

await main();
