import { ObjectLayerError } from './errors.js';
import { defaultParity } from './quorum.js';

/** STANDARD and REDUCED_REDUNDANCY, as MinIO: anything else → InvalidStorageClass. */
export const STANDARD = 'STANDARD';
export const REDUCED_REDUNDANCY = 'REDUCED_REDUNDANCY';

export interface ParityConfig {
  standard: number;
  reduced: number;
}

/** `EC:N` (the MinIO storage-class setting) → N. */
export function parseParity(s: string): number {
  const m = /^EC:(\d+)$/.exec(s.trim());
  if (!m) throw new Error(`invalid storage class setting ${JSON.stringify(s)}: expected EC:N`);
  return Number(m[1]);
}

/** Defaults like MinIO (RRS: 1 below 6 drives, else 2), validated: parity ≤ half the set. */
export function resolveParity(setSize: number, standard?: number, reduced?: number): ParityConfig {
  const std = standard ?? defaultParity(setSize);
  if (!Number.isInteger(std) || std < 1 || std > Math.floor(setSize / 2)) {
    throw new Error(`standard parity ${std} must be in 1..${Math.floor(setSize / 2)} for sets of ${setSize} drives`);
  }
  const rrs = reduced ?? Math.min(std, setSize < 6 ? 1 : 2);
  if (!Number.isInteger(rrs) || rrs < 1 || rrs > std) {
    throw new Error(`reduced-redundancy parity ${rrs} must be in 1..${std}`);
  }
  return { standard: std, reduced: rrs };
}

export function parityFor(cfg: ParityConfig, storageClass: string | undefined): number {
  if (storageClass === undefined || storageClass === '' || storageClass === STANDARD) return cfg.standard;
  if (storageClass === REDUCED_REDUNDANCY) return cfg.reduced;
  throw new ObjectLayerError('InvalidStorageClass', `invalid storage class: ${storageClass}`);
}
