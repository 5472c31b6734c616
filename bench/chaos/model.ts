/**
 * What the chaos harness knows about each key: the last acknowledged state
 * and the states of writes whose outcome is unknown (in flight at a kill, or
 * answered with an error). After a restart a GET must show exactly one of
 * those states, whole: a generation's exact bytes, or absence.
 */
export type State = { kind: 'object'; gen: number; size: number } | { kind: 'absent' };

export interface KeyModel {
  acked: State;
  /** Unacknowledged ops since the last acknowledged one: each may or may not have landed. */
  maybe: State[];
  /** An op on this key is in flight (the harness keeps one op per key at a time). */
  busy: boolean;
}

export class Model {
  readonly keys = new Map<string, KeyModel>();
  private nextGen = 1;

  constructor(keyCount: number) {
    for (let i = 0; i < keyCount; i++) this.keys.set(`k/${String(i).padStart(4, '0')}`, { acked: { kind: 'absent' }, maybe: [], busy: false });
  }

  gen(): number {
    return this.nextGen++;
  }

  get(key: string): KeyModel {
    const m = this.keys.get(key);
    if (!m) throw new Error(`unknown key ${key}`);
    return m;
  }

  acknowledge(key: string, s: State): void {
    const m = this.get(key);
    m.acked = s;
    m.maybe = [];
  }

  unknown(key: string, s: State): void {
    this.get(key).maybe.push(s);
  }

  acceptable(key: string): State[] {
    const m = this.get(key);
    return [m.acked, ...m.maybe];
  }

  /** After verification the observed state is the truth the next cycle builds on. */
  settle(key: string, s: State): void {
    this.acknowledge(key, s);
  }
}

export function describe(s: State): string {
  return s.kind === 'absent' ? 'absent' : `gen ${s.gen} (${s.size} B)`;
}
