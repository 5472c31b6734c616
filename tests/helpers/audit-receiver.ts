import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A real HTTP audit receiver for tests: records every POST body and answers
 * with whatever `respond` decides (default 200). Used by server/audit/webhook-target.test.ts
 * and by tests/e2e-ops-audit.test.ts.
 */
export interface Receiver {
  url: string;
  /** Bodies of accepted POSTs (answered 2xx). */
  bodies: string[];
  /** Every request's Authorization header, accepted or not. */
  authorizations: Array<string | undefined>;
  attempts: number;
  respond: (attempt: number, body: string, res: ServerResponse) => boolean | void;
  /** Resolves once `n` NDJSON lines arrived in accepted bodies. */
  waitForLines(n: number, timeoutMs?: number): Promise<string[]>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const r: Receiver = {
    url: '',
    bodies: [],
    authorizations: [],
    attempts: 0,
    respond: () => undefined,
    async waitForLines(n, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const lines = r.bodies.flatMap((b) => b.split('\n').filter((l) => l.length > 0));
        if (lines.length >= n) return lines;
        if (Date.now() > deadline) throw new Error(`receiver got ${lines.length} lines, wanted ${n}`);
        await new Promise((res) => setTimeout(res, 50));
      }
    },
    close: () => new Promise<void>((res) => {
      server.closeAllConnections();
      server.close(() => res());
    }),
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      r.attempts++;
      r.authorizations.push(req.headers.authorization);
      // `respond` returns true when it answered (or chose never to answer).
      const answered = r.respond(r.attempts, body, res) === true || res.headersSent;
      if (answered && !(res.headersSent && res.statusCode < 300)) return;
      r.bodies.push(body);
      if (!res.headersSent) res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/audit`;
  return r;
}
