/**
 * Sorted merge of per-drive range scans with a quorum rule, the core of listing.
 * Each source is a lazy LMDB cursor; `seek` reopens all of them at a new start
 * (one B-tree descent each), which is how a whole common prefix is skipped.
 */

export interface ScanSource<T> {
  open(start: Buffer): Iterator<{ key: string; value: T }>;
}

/**
 * Order of UTF-8 bytes (what LMDB and S3 sort by) for JS strings. UTF-16 code
 * unit order differs only when a surrogate (astral char) meets U+E000..U+FFFF.
 */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys && (x >= 0xe000 || y >= 0xe000)) return xs ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

export class MergeCursor<T, R = T> {
  private iters: Array<Iterator<{ key: string; value: T }> | null> = [];
  private heads: Array<{ key: string; value: T } | undefined> = [];

  /**
   * `pick` gets the values the answering sources hold for one key and returns
   * the one to list, or undefined to skip the key (below quorum).
   */
  constructor(
    private readonly sources: Array<ScanSource<T> | null>,
    private readonly pick: (values: T[]) => R | undefined,
  ) {}

  seek(start: Buffer): void {
    this.close();
    this.iters = this.sources.map((s) => (s ? s.open(start) : null));
    this.heads = this.iters.map((it) => this.advance(it));
  }

  private advance(it: Iterator<{ key: string; value: T }> | null): { key: string; value: T } | undefined {
    if (!it) return undefined;
    const r = it.next();
    return r.done ? undefined : r.value;
  }

  /** Smallest key not yet returned, without consuming it. */
  peekKey(): string | undefined {
    let min: string | undefined;
    for (const h of this.heads) if (h && (min === undefined || compareKeys(h.key, min) < 0)) min = h.key;
    return min;
  }

  /** Next key that passes the quorum rule. */
  next(): { key: string; value: R } | undefined {
    for (;;) {
      const key = this.peekKey();
      if (key === undefined) return undefined;
      const values: T[] = [];
      for (let i = 0; i < this.heads.length; i++) {
        const h = this.heads[i];
        if (h && h.key === key) {
          values.push(h.value);
          this.heads[i] = this.advance(this.iters[i] ?? null);
        }
      }
      const v = this.pick(values);
      if (v !== undefined) return { key, value: v };
    }
  }

  close(): void {
    for (const it of this.iters) it?.return?.();
    this.iters = [];
    this.heads = [];
  }
}

/** Merge of several cursors over disjoint key spaces (the sets). */
export interface Cursor<T> {
  seek(start: Buffer): void;
  next(): { key: string; value: T } | undefined;
  close(): void;
}

export class MultiCursor<T> {
  private readonly pending: Array<{ key: string; value: T } | undefined>;
  constructor(private readonly cursors: Array<Cursor<T>>) {
    this.pending = cursors.map(() => undefined);
  }

  seek(start: Buffer): void {
    this.cursors.forEach((c, i) => {
      c.seek(start);
      this.pending[i] = c.next();
    });
  }

  next(): { key: string; value: T } | undefined {
    let best = -1;
    for (let i = 0; i < this.pending.length; i++) {
      const p = this.pending[i];
      if (p && (best < 0 || compareKeys(p.key, this.pending[best]!.key) < 0)) best = i;
    }
    if (best < 0) return undefined;
    const out = this.pending[best]!;
    this.pending[best] = this.cursors[best]!.next();
    return out;
  }

  close(): void {
    for (const c of this.cursors) c.close();
  }
}

/** Smallest byte string greater than every string starting with `p`. */
export function successorOf(p: string): Buffer {
  const b = Buffer.from(p, 'utf8');
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      b[i]!++;
      return b.subarray(0, i + 1);
    }
  }
  throw new Error('no successor');
}
