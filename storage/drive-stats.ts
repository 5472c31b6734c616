import type { Drive } from './drive.js';

/** Cumulative I/O figures of one drive, for metrics (counters since the process started). */
export interface DriveIoStats {
  operations: number;
  errors: number;
  /** Sum of operation durations, seconds. */
  seconds: number;
}

/**
 * Wraps a Drive so every call is counted and timed, and every failure counted, without the
 * drive or its callers knowing. Promise-returning calls are timed until they settle. Streams
 * handed out by a call (shard readers/writers) are not followed: their bytes are the erasure
 * layer's business; the metadata, open, rename and remove calls are what a failing disk shows in.
 */
const statsByDrive = new WeakMap<object, DriveIoStats>();

/** The figures of a drive returned by instrumentDrive, if it was instrumented. */
export function ioStatsOf(drive: Drive): DriveIoStats | undefined {
  return statsByDrive.get(drive);
}

/** Let `ioStatsOf(alias)` find `stats`: a wrapper (CheckedDrive) around an instrumented drive. */
export function registerIoStats(alias: Drive, stats: DriveIoStats): void {
  statsByDrive.set(alias, stats);
}

/** `stats` given: keep counting into it (a drive reopened after it went away keeps its totals). */
export function instrumentDrive<D extends Drive>(
  drive: D,
  stats: DriveIoStats = { operations: 0, errors: 0, seconds: 0 },
): { drive: D; stats: DriveIoStats } {
  // One wrapper per method, made on first use: every request calls several drive methods, and a
  // fresh closure per property access showed in profiles of small GETs.
  const wrappers = new Map<PropertyKey, { of: unknown; fn: (...args: unknown[]) => unknown }>();
  const wrapped = new Proxy(drive, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      const known = wrappers.get(prop);
      if (known && known.of === value) return known.fn;
      const fn = function (this: unknown, ...args: unknown[]) {
        const started = performance.now();
        const done = (failed: boolean) => {
          stats.operations++;
          if (failed) stats.errors++;
          stats.seconds += (performance.now() - started) / 1000;
        };
        let result: unknown;
        try {
          result = (value as (...a: unknown[]) => unknown).apply(target, args);
        } catch (err) {
          done(true);
          throw err;
        }
        if (result instanceof Promise) {
          return result.then(
            (v) => (done(false), v),
            (err: unknown) => {
              done(true);
              throw err;
            },
          );
        }
        done(false);
        return result;
      };
      wrappers.set(prop, { of: value, fn });
      return fn;
    },
  });
  statsByDrive.set(wrapped, stats);
  return { drive: wrapped, stats };
}
