import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../core/logger.js';
import { startLoopDelayMonitor } from './loop-delay.js';

describe('startLoopDelayMonitor', () => {
  it('sees a loop blocked for 150 ms and exports it as cairn_event_loop_delay_seconds', async () => {
    const registry = new Registry();
    const m = startLoopDelayMonitor({ logger: createLogger({ level: 'silent' }), intervalMs: 60_000, registry });
    await new Promise((r) => setTimeout(r, 50));
    const t = Date.now();
    while (Date.now() - t < 150); // hold the loop on purpose
    await new Promise((r) => setTimeout(r, 50));
    const s = m.snapshot();
    expect(s.count).toBeGreaterThan(0);
    expect(s.maxMs).toBeGreaterThanOrEqual(100);
    const text = await registry.metrics();
    const max = /cairn_event_loop_delay_seconds\{quantile="1"\} ([0-9.e-]+)/.exec(text);
    expect(Number(max?.[1])).toBeGreaterThanOrEqual(0.1);
    m.stop();
  });
});
