import { ObjectLayerError, readQuorumNotReached, writeQuorumNotReached } from './errors.js';

/** Write quorum k, or k+1 when k = m so two disjoint halves can never both win. */
export const writeQuorumOf = (k: number, m: number): number => (k === m ? k + 1 : k);
export const readQuorumOf = (k: number): number => k;

/** MinIO's defaults by set size: 2-3 drives: 1, 4-5: 2, 6-7: 3, 8-16: 4. */
export function defaultParity(n: number): number {
  if (n <= 3) return 1;
  if (n <= 5) return 2;
  if (n <= 7) return 3;
  return 4;
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

export async function settle<T>(ps: Array<Promise<T> | null>): Promise<Array<Outcome<T> | null>> {
  return Promise.all(
    ps.map((p) =>
      p === null
        ? null
        : p.then(
            (value): Outcome<T> => ({ ok: true, value }),
            (error: unknown): Outcome<T> => ({ ok: false, error }),
          ),
    ),
  );
}

/**
 * The most common verdict among drive results, if it reaches quorum: null means
 * success; an error that reached quorum is that error; otherwise a quorum error.
 * Errors are compared by their `code` (or message).
 */
export function reduceErrors(results: Array<Error | null>, quorum: number, kind: 'read' | 'write'): Error | null {
  const counts = new Map<string, { n: number; err: Error | null }>();
  for (const r of results) {
    const id = r === null ? '' : String((r as { code?: unknown }).code ?? r.message);
    const c = counts.get(id) ?? { n: 0, err: r };
    c.n++;
    counts.set(id, c);
  }
  let best: { n: number; err: Error | null } | undefined;
  for (const c of counts.values()) if (!best || c.n > best.n || (c.n === best.n && c.err === null)) best = c;
  if (best && best.n >= quorum) return best.err;
  const ok = counts.get('')?.n ?? 0;
  const cause = results.find((r) => r !== null);
  return kind === 'read' ? readQuorumNotReached(ok, quorum, cause) : writeQuorumNotReached(ok, quorum, cause);
}

export const isObjectLayerError = (e: unknown, code?: string): e is ObjectLayerError =>
  e instanceof ObjectLayerError && (code === undefined || e.code === code);
