/**
 * Progress on stderr: a bar redrawn in place on a terminal, plain lines (every
 * 5 s and at the end of each phase) when stderr is a file or a pipe, nothing
 * when quiet. stdout stays clean for the report.
 */
import type { Progress } from './workloads/types.js';

const BAR = 24;

export class StderrProgress implements Progress {
  private label = '';
  private total: number | undefined;
  private started = 0;
  private lastLine = 0;
  private lastText = '';
  private lastDraw = 0;
  private readonly tty: boolean;

  constructor(
    private readonly quiet = false,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = out.isTTY === true;
  }

  phase(label: string, total?: number): void {
    this.label = label;
    this.total = total;
    this.started = performance.now();
    this.lastLine = this.started;
    if (!this.quiet && !this.tty) this.out.write(`${label}\n`);
  }

  /** done: units of the phase total (ops, or seconds for timed phases). */
  tick(done: number, extra = ''): void {
    if (this.quiet) return;
    const now = performance.now();
    const frac = this.total ? Math.min(1, done / this.total) : 0;
    const elapsed = ((now - this.started) / 1000).toFixed(1);
    if (this.tty) {
      // Redraw at most every 100 ms (and at the end): a terminal is slower than 10k ops/s.
      if (now - this.lastDraw < 100 && frac < 1) return;
      this.lastDraw = now;
      const filled = Math.round(frac * BAR);
      const bar = this.total ? `[${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}] ` : '';
      const text = `\r${bar}${this.label} ${elapsed}s ${extra}`.slice(0, (this.out.columns ?? 120) - 1);
      if (text !== this.lastText) this.out.write(text.padEnd(this.lastText.length) + '\r');
      this.lastText = text;
    } else if (now - this.lastLine >= 5000) {
      this.lastLine = now;
      this.out.write(`  ${this.label}: ${elapsed}s ${extra}\n`);
    }
  }

  end(): void {
    if (this.quiet) return;
    if (this.tty && this.lastText) this.out.write(' '.repeat(this.lastText.length) + '\r');
    this.lastText = '';
  }

  note(line: string): void {
    if (this.quiet) return;
    this.end();
    this.out.write(`${line}\n`);
  }
}
