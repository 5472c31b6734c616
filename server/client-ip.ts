import { BlockList, isIP } from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * The client's address as the audit log and request logs show it. Behind a
 * reverse proxy (NGINX, an ALB) the TCP peer is the proxy; the proxy's
 * `X-Forwarded-For` / `X-Real-IP` name the client, but anyone can send those
 * headers, so they are believed only when the TCP peer is in the trusted list
 * (CAIRN_TRUSTED_PROXIES).
 *
 * X-Forwarded-For is read right to left: each trusted hop appended the address
 * it saw, so the first untrusted address from the right is the client (the ones
 * left of it are whatever the client claimed). Without X-Forwarded-For,
 * X-Real-IP (NGINX's `proxy_set_header X-Real-IP $remote_addr`) is used.
 */
const CACHE_LIMIT = 4096;

export class ClientIpResolver {
  private readonly trusted = new BlockList();
  private readonly any: boolean;
  private readonly cache = new Map<string, boolean>();

  /** `cidrs`: `10.0.0.0/8`, `192.168.1.7`, `fd00::/8`; already validated by the config loader. */
  constructor(cidrs: readonly string[]) {
    for (const c of cidrs) {
      const { address, prefix, family } = parseCidr(c);
      this.trusted.addSubnet(address, prefix, family);
    }
    this.any = cidrs.length > 0;
  }

  isTrusted(address: string | undefined): boolean {
    if (!this.any || !address) return false;
    // BlockList.check costs ~5 µs (it builds a native SocketAddress); peers repeat, so remember answers.
    let v = this.cache.get(address);
    if (v === undefined) {
      const a = normalizeIp(address);
      const family = isIP(a);
      v = family !== 0 && this.trusted.check(a, family === 4 ? 'ipv4' : 'ipv6');
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(address, v);
    }
    return v;
  }

  /** The source address of a request whose TCP peer is `peer`. */
  resolve(peer: string | undefined, headers: IncomingHttpHeaders): string {
    const direct = normalizeIp(peer ?? '');
    if (!this.isTrusted(direct)) return direct;
    const xff = headerValue(headers['x-forwarded-for']);
    if (xff) {
      const hops = xff.split(',').map((h) => normalizeIp(h.trim())).filter((h) => isIP(h) !== 0);
      for (let i = hops.length - 1; i >= 0; i--) {
        if (!this.isTrusted(hops[i])) return hops[i]!;
      }
      // Every hop is one of ours: the leftmost is the closest thing to a client.
      if (hops[0]) return hops[0];
    }
    const real = normalizeIp(headerValue(headers['x-real-ip'])?.trim() ?? '');
    if (isIP(real) !== 0) return real;
    return direct;
  }

  /** `X-Forwarded-Proto: https` from a trusted proxy: the client's leg was encrypted. */
  forwardedTls(peer: string | undefined, headers: IncomingHttpHeaders): boolean {
    if (!this.isTrusted(peer)) return false;
    const proto = headerValue(headers['x-forwarded-proto'])?.split(',')[0]?.trim().toLowerCase();
    return proto === 'https';
  }
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(',') : v;
}

/** `::ffff:10.1.2.3` (an IPv4 peer on a dual-stack socket) → `10.1.2.3`; `[::1]` → `::1`. */
export function normalizeIp(a: string): string {
  let s = a;
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(s);
  return m ? m[1]! : s;
}

/** Throws on anything that is not an address or address/prefix. */
export function parseCidr(c: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } {
  const [addr = '', bits, ...rest] = c.trim().split('/');
  const address = normalizeIp(addr);
  const v = isIP(address);
  if (v === 0 || rest.length > 0) throw new Error(`not an IP address or CIDR: ${JSON.stringify(c)}`);
  const max = v === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (bits !== undefined && !/^\d+$/.test(bits))) {
    throw new Error(`bad prefix length in ${JSON.stringify(c)}`);
  }
  return { address, prefix, family: v === 4 ? 'ipv4' : 'ipv6' };
}
