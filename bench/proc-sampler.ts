/**
 * Server resource use from /proc: every 250 ms, VmRSS and utime+stime of a
 * process and all its descendants (cluster workers, helper processes). Peak RSS
 * is the peak of the sum over the tree, plus the largest single process; CPU is
 * in percent of one core (200 % = both cores of a 2-core machine busy).
 * Linux only; elsewhere every figure is reported as null.
 */
import { readFileSync } from 'node:fs';

const TICKS_PER_S = 100; // USER_HZ; 100 on every Linux ABI Node runs on

export interface ResourceUsage {
  peakRssBytes: number | null;
  /** The largest RSS of any one process of the tree (per worker). */
  peakProcessRssBytes: number | null;
  cpuPercentAvg: number | null;
  cpuPercentPeak: number | null;
  processes: number;
  samples: number;
}

function children(pid: number): number[] {
  try {
    const out: number[] = [];
    // Every thread may have forked; the main thread's list is the usual one.
    for (const t of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ')) if (t.trim()) out.push(Number(t));
    return out;
  } catch {
    return [];
  }
}

function tree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...children(out[i]!));
  return out;
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces and parentheses).
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); // utime, stime (fields 14 and 15)
}

export class ProcSampler {
  private timer: NodeJS.Timeout | undefined;
  private lastTicks = new Map<number, number>();
  private lastAt = 0;
  private firstAt = 0;
  private ticksTotal = 0;
  private peakRss = 0;
  private peakOne = 0;
  private peakCpu = 0;
  private samples = 0;
  private seen = new Set<number>();
  private ok = true;

  constructor(private readonly pid: number) {}

  start(): this {
    this.firstAt = this.lastAt = performance.now();
    this.sample(true);
    this.timer = setInterval(() => this.sample(false), 250);
    this.timer.unref();
    return this;
  }

  private sample(first: boolean): void {
    const now = performance.now();
    let rss = 0;
    let ticks = 0;
    const next = new Map<number, number>();
    try {
      for (const p of tree(this.pid)) {
        try {
          const r = rssBytes(p);
          const t = cpuTicks(p);
          rss += r;
          this.peakOne = Math.max(this.peakOne, r);
          // A process first seen now counts from zero only for this interval's share.
          ticks += t - (this.lastTicks.get(p) ?? t);
          next.set(p, t);
          this.seen.add(p);
        } catch {
          // exited between the listing and the read
        }
      }
    } catch {
      this.ok = false;
      return;
    }
    this.lastTicks = next;
    if (!first) {
      this.ticksTotal += ticks;
      const dt = (now - this.lastAt) / 1000;
      if (dt > 0) this.peakCpu = Math.max(this.peakCpu, (ticks / TICKS_PER_S / dt) * 100);
      this.samples++;
    }
    this.lastAt = now;
    this.peakRss = Math.max(this.peakRss, rss);
  }

  stop(): ResourceUsage {
    if (this.timer) clearInterval(this.timer);
    this.sample(false);
    const wall = (this.lastAt - this.firstAt) / 1000;
    const valid = this.ok && this.peakRss > 0;
    return {
      peakRssBytes: valid ? this.peakRss : null,
      peakProcessRssBytes: valid ? this.peakOne : null,
      cpuPercentAvg: valid && wall > 0 ? Math.round((this.ticksTotal / TICKS_PER_S / wall) * 1000) / 10 : null,
      cpuPercentPeak: valid ? Math.round(this.peakCpu * 10) / 10 : null,
      processes: this.seen.size,
      samples: this.samples,
    };
  }
}
