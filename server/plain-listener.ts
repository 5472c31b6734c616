import { createServer, type Server } from 'node:http';
import type { FastifyInstance } from 'fastify';

/**
 * A second, plain-HTTP listener for the same app (CAIRN_HTTP_ADDRESS next to
 * CAIRN_TLS_DIR): e.g. HTTPS for clients and HTTP on a cluster-internal port.
 * Requests go through fastify's router, so hooks, metrics and audit apply.
 */
export async function listenPlain(app: FastifyInstance, host: string, port: number): Promise<{ server: Server; close(): Promise<void> }> {
  const server = createServer(app.routing);
  // As app.ts does for the main server: handlers decide when to send 100 Continue.
  server.on('checkContinue', (req, res) => server.emit('request', req, res));
  // Uploads may take long; header and keep-alive timeouts still guard idle sockets.
  server.requestTimeout = 0;
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: host === '' ? undefined : host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
