/** Sizes (`4KiB`, `64MiB`, `1GiB`, `10MB`, `4k`) and durations (`10s`, `500ms`, `2m`) from the command line. */

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kib: 1024,
  kb: 1000,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  mb: 1000 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  gb: 1000 ** 3,
};

export class UsageError extends Error {}

export function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(s.trim());
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new UsageError(`bad size ${JSON.stringify(s)}: use e.g. 4KiB, 64MiB, 1GiB, 10MB`);
  const v = Math.round(Number(m[1]) * unit);
  if (!Number.isSafeInteger(v) || v < 0) throw new UsageError(`bad size ${JSON.stringify(s)}`);
  return v;
}

export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/i.exec(s.trim());
  if (!m) throw new UsageError(`bad duration ${JSON.stringify(s)}: use e.g. 10s, 500ms, 2m`);
  const mult = { ms: 0.001, s: 1, m: 60, h: 3600 }[(m[2] ?? 's').toLowerCase() as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * mult;
}

export function parsePositiveInt(name: string, s: string): number {
  const v = Number(s);
  if (!Number.isInteger(v) || v < 1) throw new UsageError(`--${name} must be a positive integer, got ${JSON.stringify(s)}`);
  return v;
}
