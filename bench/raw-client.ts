/**
 * The bench's raw HTTP/1.1 client: what node:http costs on the receive side
 * (a fresh 64 KiB Buffer per socket read, the llhttp parser and a stream 'data'
 * event per chunk) bounded the load generator near one core for large GETs.
 * Here each keep-alive connection reads into one preallocated buffer
 * (`onread`), a minimal parser frames the response (status line, headers up to
 * CRLFCRLF across reads, Content-Length, chunked, read-until-close), and body
 * bytes are counted in place: only sampled verified GETs compare them with the
 * pattern, listings are handed to a scanner as views (RequestSpec.sink), and
 * only XML/error answers asked as text are copied out. One request in flight per
 * connection; requests are written as the header string plus views of the
 * preallocated body pattern, corked so a small PUT goes out in one writev.
 * Plain http:// only (--endpoint https:// uses the node:http client).
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { bodySize, matches, okOrThrow, prepare, type ClientOptions, type RequestSpec, type Response, type S3Transport } from './client.js';
import { Signer } from './sigv4.js';

/** One reused read buffer per connection: large enough that a 64 MiB GET is ~64 reads. */
const READ_BUFFER = 1 << 20;
/** Idle connections older than this are not reused (servers close idle keep-alive sockets, Node's default after 5 s). */
const IDLE_MS = 4000;
/** Response headers larger than this are a protocol error, not something to keep buffering. */
const MAX_HEAD = 64 << 10;
const CRLFCRLF = Buffer.from('\r\n\r\n');
const LF = 10;

/** The response could not be framed (garbage, oversized headers, a bad chunk size). */
export class HttpProtocolError extends Error {
  readonly code = 'BenchHttpProtocol';
}

/** The connection ended (or failed) before the response was complete. */
export class ConnectionClosedError extends Error {
  readonly code = 'BenchConnectionClosed';
}

type Mode = 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'chunk-end' | 'trailers' | 'close';

/** One request and its response being parsed. */
interface Exchange {
  spec: RequestSpec;
  start: number;
  sent: number;
  resolve(r: Response): void;
  reject(e: Error): void;
  mode: Mode;
  /** Header bytes (latin1) or a chunk-size/trailer line carried over from the previous read. */
  carry: string;
  /** Bytes left in the body (length mode) or in the current chunk. */
  remaining: number;
  status: number;
  headers: Record<string, string>;
  bytes: number;
  ttfbMs: number;
  /** Body copies, only for XML/error answers. */
  collect: Buffer[] | undefined;
  /** spec.sink for a 2xx answer: handed views of the read buffer. */
  sink: ((chunk: Buffer) => void) | undefined;
  corrupt: boolean;
  /** The request body is still being written. */
  writing: boolean;
  keepAlive: boolean;
}

class Connection {
  readonly socket: net.Socket;
  private readonly buf = Buffer.allocUnsafe(READ_BUFFER);
  private ex: Exchange | undefined;
  /** Responses completed on this connection; > 0 means a reused socket, which a server may have closed meanwhile. */
  served = 0;
  idleSince = 0;
  dead = false;

  constructor(host: string, port: number, private readonly onDead: (c: Connection) => void) {
    this.socket = net.connect({
      host,
      port,
      noDelay: true,
      onread: { buffer: this.buf, callback: (n: number) => this.onRead(n) },
    });
    this.socket.on('error', (err) => this.end(err));
    this.socket.on('close', () => this.end(undefined));
  }

  send(ex: Exchange, head: string): void {
    this.ex = ex;
    const s = this.socket;
    const body = ex.spec.body;
    s.cork();
    s.write(head, 'latin1');
    if (body === undefined) {
      s.uncork();
      return;
    }
    if (Buffer.isBuffer(body)) {
      if (body.length > 0) s.write(body);
      s.uncork();
      return;
    }
    const { size, pattern } = body;
    let left = size;
    ex.writing = true;
    const pump = (): void => {
      while (left > 0) {
        if (this.ex !== ex || this.dead) return; // answered early (an error) or failed: stop sending
        const n = Math.min(left, pattern.length);
        left -= n;
        const more = s.write(n === pattern.length ? pattern : pattern.subarray(0, n));
        if (s.writableCorked) s.uncork();
        if (!more && left > 0) {
          s.once('drain', pump);
          return;
        }
      }
      ex.writing = false;
    };
    pump();
    if (s.writableCorked) s.uncork();
  }

  private onRead(n: number): boolean {
    const ex = this.ex;
    if (!ex) {
      // Nothing asked: a server must not send here; the connection cannot be trusted any more.
      this.socket.destroy();
      return false;
    }
    if (ex.ttfbMs < 0) ex.ttfbMs = performance.now() - ex.start;
    try {
      this.parse(ex, n);
    } catch (err) {
      this.fail(ex, err as Error);
      this.socket.destroy();
    }
    return true;
  }

  /** Frame buf[0, n): advance the state machine; may complete the exchange. */
  private parse(ex: Exchange, end: number): void {
    const buf = this.buf;
    let pos = 0;
    while (pos < end && this.ex === ex) {
      switch (ex.mode) {
        case 'head': {
          let head: string | undefined;
          if (ex.carry === '') {
            const i = buf.indexOf(CRLFCRLF, pos);
            // indexOf sees the whole buffer: a match reaching past `end` is stale bytes of an earlier read.
            if (i >= 0 && i + 4 <= end) {
              head = buf.toString('latin1', pos, i);
              pos = i + 4;
            }
          } else {
            const before = ex.carry.length;
            const joined = ex.carry + buf.toString('latin1', pos, Math.min(end, pos + MAX_HEAD));
            const i = joined.indexOf('\r\n\r\n', Math.max(0, before - 3));
            if (i >= 0) {
              head = joined.slice(0, i);
              pos += i + 4 - before;
              ex.carry = '';
            }
          }
          if (head === undefined) {
            ex.carry += buf.toString('latin1', pos, end);
            if (ex.carry.length > MAX_HEAD) throw new HttpProtocolError(`response headers over ${MAX_HEAD} bytes`);
            pos = end;
          } else this.onHead(ex, head);
          break;
        }
        case 'length':
        case 'chunk-data': {
          const take = Math.min(ex.remaining, end - pos);
          this.body(ex, pos, take);
          pos += take;
          ex.remaining -= take;
          if (ex.remaining === 0) {
            if (ex.mode === 'length') this.finish(ex);
            else ex.mode = 'chunk-end';
          }
          break;
        }
        case 'close':
          this.body(ex, pos, end - pos);
          pos = end;
          break;
        case 'chunk-size':
        case 'chunk-end':
        case 'trailers': {
          const i = buf.indexOf(LF, pos);
          if (i < 0 || i >= end) {
            ex.carry += buf.toString('latin1', pos, end);
            if (ex.carry.length > 1024) throw new HttpProtocolError('chunk framing line too long');
            pos = end;
            break;
          }
          const line = (ex.carry + buf.toString('latin1', pos, i)).replace(/\r$/, '');
          ex.carry = '';
          pos = i + 1;
          this.onLine(ex, line);
          break;
        }
      }
    }
    // Bytes after a complete response: not something one-request-at-a-time HTTP/1.1 allows.
    if (pos < end && this.ex !== ex) this.socket.destroy();
  }

  private onLine(ex: Exchange, line: string): void {
    if (ex.mode === 'chunk-end') {
      if (line !== '') throw new HttpProtocolError('chunk data not followed by CRLF');
      ex.mode = 'chunk-size';
    } else if (ex.mode === 'chunk-size') {
      const size = parseInt(line, 16); // extensions after ';' are ignored by parseInt
      if (!/^[0-9a-fA-F]+/.test(line) || !Number.isSafeInteger(size)) throw new HttpProtocolError(`bad chunk size ${JSON.stringify(line.slice(0, 40))}`);
      if (size === 0) ex.mode = 'trailers';
      else {
        ex.remaining = size;
        ex.mode = 'chunk-data';
      }
    } else if (line === '') this.finish(ex); // trailers end with an empty line
  }

  private onHead(ex: Exchange, head: string): void {
    const lines = head.split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
    if (!m) throw new HttpProtocolError(`bad status line ${JSON.stringify((lines[0] ?? '').slice(0, 60))}`);
    const status = Number(m[1]);
    if (status >= 100 && status < 200) return; // 100 Continue and friends: the real answer follows
    const headers: Record<string, string> = {};
    for (let i = 1; i < lines.length; i++) {
      const l = lines[i]!;
      const c = l.indexOf(':');
      if (c <= 0) continue;
      const name = l.slice(0, c).toLowerCase();
      const value = l.slice(c + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    ex.status = status;
    ex.headers = headers;
    ex.keepAlive = !/\bclose\b/i.test(headers.connection ?? '') && lines[0]!.startsWith('HTTP/1.1');
    ex.collect = ex.spec.text === true || status >= 300 ? [] : undefined;
    ex.sink = status < 300 ? ex.spec.sink : undefined;
    const te = headers['transfer-encoding'];
    const cl = headers['content-length'];
    if (ex.spec.method === 'HEAD' || status === 204 || status === 304) return this.finish(ex);
    if (te !== undefined && /chunked\s*$/i.test(te)) ex.mode = 'chunk-size';
    else if (cl !== undefined) {
      const n = Number(cl);
      if (!Number.isSafeInteger(n) || n < 0) throw new HttpProtocolError(`bad content-length ${cl}`);
      if (n === 0) return this.finish(ex);
      ex.remaining = n;
      ex.mode = 'length';
    } else {
      ex.mode = 'close';
      ex.keepAlive = false;
    }
  }

  private body(ex: Exchange, pos: number, len: number): void {
    if (len === 0) return;
    const v = ex.spec.verify;
    if (v && !ex.corrupt && ex.bytes < v.bytes) ex.corrupt = !matches(this.buf.subarray(pos, pos + len), ex.bytes, v);
    if (ex.collect) ex.collect.push(Buffer.from(this.buf.subarray(pos, pos + len)));
    if (ex.sink) ex.sink(this.buf.subarray(pos, pos + len));
    ex.bytes += len;
  }

  private finish(ex: Exchange): void {
    const latencyMs = performance.now() - ex.start; // the last byte is in: decoding text is the client's time
    this.ex = undefined;
    this.served++;
    const text = ex.collect ? Buffer.concat(ex.collect).toString('utf8') : undefined;
    ex.resolve({
      status: ex.status,
      headers: ex.headers,
      bytes: ex.bytes,
      sent: ex.sent,
      ttfbMs: ex.ttfbMs,
      latencyMs,
      ...(text !== undefined ? { text } : {}),
      ...(ex.corrupt ? { corrupt: true } : {}),
    });
    // A body still being sent (the server answered early) leaves the stream out of step: not reusable.
    if (!ex.keepAlive || ex.writing) this.socket.destroy();
    else {
      this.idleSince = performance.now();
      this.release?.(this);
    }
  }

  /** Set by the pool: called when the connection is free for another request. */
  release?: (c: Connection) => void;

  private fail(ex: Exchange, err: Error): void {
    this.ex = undefined;
    ex.reject(err);
  }

  /** The socket failed or closed: a response read until close ends here; anything else in flight failed. */
  private end(err: Error | undefined): void {
    const ex = this.ex;
    if (ex) {
      if (!err && ex.mode === 'close' && ex.status > 0) this.finish(ex);
      else this.fail(ex, new ConnectionClosedError(`${ex.spec.method} ${ex.spec.bucket ?? ''}/${ex.spec.key ?? ''}: connection ${err ? `failed (${(err as NodeJS.ErrnoException).code ?? err.message})` : 'closed'} after ${ex.bytes} body bytes`, { cause: err }));
    }
    if (!this.dead) {
      this.dead = true;
      this.onDead(this);
    }
  }
}

/** Same contract as the node:http S3Client: resolves for every status, rejects on transport and framing errors. */
export class RawS3Client implements S3Transport {
  readonly host: string;
  private readonly hostname: string;
  private readonly port: number;
  private readonly idle: Connection[] = [];
  private readonly open = new Set<Connection>();
  private closed = false;
  private readonly signer: Signer;

  constructor(readonly opts: ClientOptions) {
    this.signer = new Signer(opts.credentials);
    const url = new URL(opts.endpoint);
    if (url.protocol !== 'http:') throw new Error(`the raw client speaks plain http only, not ${url.protocol}`);
    this.host = url.host;
    this.hostname = url.hostname;
    this.port = url.port ? Number(url.port) : 80;
  }

  /** Sockets opened so far and still open (tests: keep-alive reuse). */
  get openConnections(): number {
    return this.open.size;
  }

  close(): void {
    this.closed = true;
    for (const c of this.open) c.socket.destroy();
    this.idle.length = 0;
  }

  request(spec: RequestSpec): Promise<Response> {
    return this.exchange(spec, false);
  }

  private exchange(spec: RequestSpec, retried: boolean): Promise<Response> {
    if (this.closed) return Promise.reject(new Error('client closed'));
    const { path, headers } = prepare(this.host, spec, this.signer);
    let head = `${spec.method} ${path} HTTP/1.1\r\nhost: ${this.host}\r\n`;
    for (const [k, v] of Object.entries(headers)) if (k !== 'host') head += `${k}: ${v}\r\n`;
    head += '\r\n';
    const conn = this.acquire();
    const reused = conn.served > 0;
    return new Promise<Response>((resolve, reject) => {
      const ex: Exchange = {
        spec,
        start: performance.now(),
        sent: bodySize(spec.body),
        resolve,
        reject: (err) => {
          // A reused socket the server had closed while idle: no byte of an answer came, so send again once.
          if (reused && !retried && ex.ttfbMs < 0 && err instanceof ConnectionClosedError) this.exchange(spec, true).then(resolve, reject);
          else reject(err);
        },
        mode: 'head',
        carry: '',
        remaining: 0,
        status: 0,
        headers: {},
        bytes: 0,
        ttfbMs: -1,
        collect: undefined,
        sink: undefined,
        corrupt: false,
        writing: false,
        keepAlive: true,
      };
      conn.send(ex, head);
    });
  }

  private acquire(): Connection {
    const now = performance.now();
    for (let c = this.idle.pop(); c; c = this.idle.pop()) {
      if (!c.dead && now - c.idleSince < IDLE_MS) return c;
      c.socket.destroy();
    }
    const c = new Connection(this.hostname, this.port, (dead) => {
      this.open.delete(dead);
      const i = this.idle.indexOf(dead);
      if (i >= 0) this.idle.splice(i, 1);
    });
    c.release = (free) => {
      if (this.closed) free.socket.destroy();
      else this.idle.push(free);
    };
    this.open.add(c);
    return c;
  }

  ok(spec: RequestSpec): Promise<Response> {
    return okOrThrow(spec, this.request(spec));
  }
}
