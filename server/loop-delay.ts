import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Gauge, type Registry } from 'prom-client';
import type { Logger } from '../core/logger.js';

/**
 * Event-loop delay of this process: how late timers fire because something
 * held the loop (a synchronous codec, JSON of a huge listing, a long sync
 * LMDB transaction). Every `intervalMs` one debug line with p50/p99/max of
 * the window, then the window restarts; with a registry, the same figures
 * are the gauge `cairn_event_loop_delay_seconds{quantile}` (per worker
 * process, as every metric of that registry).
 */

export interface LoopDelaySnapshot {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Timer samples in the window. */
  count: number;
}

export interface LoopDelayMonitor {
  /** Figures of the current window (since start or the last log line). */
  snapshot(): LoopDelaySnapshot;
  stop(): void;
}

export interface LoopDelayOptions {
  logger: Logger;
  /** Window and log period; default 10 s. */
  intervalMs?: number;
  /** Sampling resolution; default 10 ms (the histogram's finest useful grain for this purpose). */
  resolutionMs?: number;
  registry?: Registry;
}

export function startLoopDelayMonitor(opts: LoopDelayOptions): LoopDelayMonitor {
  const resolutionMs = opts.resolutionMs ?? 10;
  const h: IntervalHistogram = monitorEventLoopDelay({ resolution: resolutionMs });
  h.enable();
  // The histogram records, in ns, the whole interval between its timer's runs
  // (an idle loop shows ~resolution): the delay is what exceeds the resolution.
  // An empty window reports nonsense min/max, hence the count check.
  const late = (ns: number) => Math.max(0, ns / 1e6 - resolutionMs);
  const snapshot = (): LoopDelaySnapshot =>
    h.count === 0
      ? { p50Ms: 0, p99Ms: 0, maxMs: 0, count: 0 }
      : { p50Ms: late(h.percentile(50)), p99Ms: late(h.percentile(99)), maxMs: late(h.max), count: h.count };

  let last = snapshot();
  const timer = setInterval(() => {
    last = snapshot();
    h.reset();
    opts.logger.debug(
      { loopDelayMs: { p50: round(last.p50Ms), p99: round(last.p99Ms), max: round(last.maxMs) }, samples: last.count },
      'event loop delay',
    );
  }, opts.intervalMs ?? 10_000);
  timer.unref();

  if (opts.registry) {
    new Gauge({
      name: 'cairn_event_loop_delay_seconds',
      help: 'Event-loop delay of this process over the last window, by quantile (1 = max)',
      labelNames: ['quantile'],
      registers: [opts.registry],
      collect() {
        // The finished window, or the one in progress when it already has samples.
        const s = h.count > 0 ? snapshot() : last;
        this.set({ quantile: '0.5' }, s.p50Ms / 1000);
        this.set({ quantile: '0.99' }, s.p99Ms / 1000);
        this.set({ quantile: '1' }, s.maxMs / 1000);
      },
    });
  }

  return {
    snapshot,
    stop() {
      clearInterval(timer);
      h.disable();
    },
  };
}

const round = (ms: number) => Math.round(ms * 100) / 100;
