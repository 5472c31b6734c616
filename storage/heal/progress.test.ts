import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ProgressTracker, TokenBucket } from './progress.js';

/** The scanner's throttle and the ETA an operator sees, on a fake clock (no real waiting, no timing assertions). */
describe('heal progress clocks', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('TokenBucket lets a burst through, then makes the debt wait at the configured rate', async () => {
    const bucket = new TokenBucket(10); // 10 per second, burst 10
    let done = false;
    await bucket.take(10); // the burst: no wait
    const p = bucket.take(5).then(() => (done = true)); // 5 tokens in debt: 500 ms at 10/s
    await vi.advanceTimersByTimeAsync(499);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await p;
    expect(done).toBe(true);
  });

  it('TokenBucket with rate 0 (scanner rate unlimited) never waits', async () => {
    const bucket = new TokenBucket(0);
    let done = false;
    const p = bucket.take(1e9).then(() => (done = true));
    await Promise.resolve();
    await p;
    expect(done).toBe(true);
  });

  it('ProgressTracker reports the rate and an ETA from the remaining objects', async () => {
    const t = new ProgressTracker();
    t.objectsTotal = 100;
    for (let s = 0; s < 5; s++) {
      for (let i = 0; i < 4; i++) t.record({ healed: i === 0, failed: false, bytes: 1000, object: `b/k${s}-${i}` });
      await vi.advanceTimersByTimeAsync(1000);
    }
    const p = t.snapshot();
    expect(p).toMatchObject({ objectsScanned: 20, objectsHealed: 5, bytesDone: 20_000, lastObject: 'b/k4-3' });
    expect(p.objectsPerSecond).toBeCloseTo(20 / 6, 1); // 20 objects over the job's 6 one-second buckets
    expect(p.etaSeconds).toBe(Math.round(80 / (20 / 6)));
  });
});
