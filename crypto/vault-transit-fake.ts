/**
 * TEST ONLY. An in-process HTTP server speaking the subset of HashiCorp Vault's
 * documented API that kms-vault.ts uses, so the Vault client can be tested
 * without Vault (which cannot be installed on the build machines):
 *
 *   GET  /v1/sys/health                        200, or 503 when sealed
 *   POST /v1/auth/approle/login                {role_id, secret_id} → auth.client_token, lease_duration, renewable
 *   POST /v1/auth/token/renew-self             → auth with a fresh lease
 *   POST /v1/transit/keys/:name                {type, derived} → 204
 *   GET  /v1/transit/keys/:name                → data.latest_version, keys, derived; 404 if absent
 *   POST /v1/transit/keys/:name/rotate         → 204
 *   GET  /v1/transit/keys?list=true            → data.keys; 404 when empty (Node's HTTP
 *                                              parser refuses the LIST verb, so only this form)
 *   POST /v1/transit/datakey/plaintext/:name   {context, bits} → data.plaintext, ciphertext, key_version
 *   POST /v1/transit/encrypt/:name, /decrypt/:name, /rewrap/:name
 *
 * Real AES-256-GCM (96-bit nonce) with versioned keys; derived keys use
 * HKDF-SHA256(version key, info = context). Ciphertexts look like Vault's:
 * "vault:v<version>:base64(nonce | ciphertext | tag)". Errors are Vault's
 * shape: {"errors": ["…"]}. Not byte-compatible with real Vault's key
 * derivation, only with its API.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

interface FakeKey {
  derived: boolean;
  versions: Buffer[]; // index 0 = version 1
  created: number[];
}

export interface VaultFakeOptions {
  rootToken?: string;
  approle?: { roleId: string; secretId: string; leaseSeconds?: number };
  /** when set, every request must carry this X-Vault-Namespace */
  namespace?: string;
}

export interface VaultFake {
  readonly url: string;
  readonly rootToken: string;
  /** every request seen, for assertions: "METHOD /path" */
  readonly requests: string[];
  sealed: boolean;
  /** answer the next n requests with this status (to exercise retries) */
  failNext(n: number, status: number): void;
  /** revoke every token issued so far (AppRole clients must log in again) */
  revokeTokens(): void;
  /** number of AppRole logins and token renewals served */
  readonly counts: { logins: number; renewals: number };
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startVaultFake(opts: VaultFakeOptions = {}): Promise<VaultFake> {
  const rootToken = opts.rootToken ?? `hvs.${randomBytes(12).toString('base64url')}`;
  const tokens = new Map<string, number>([[rootToken, Infinity]]); // token → expiry (ms)
  const keys = new Map<string, FakeKey>();
  const requests: string[] = [];
  const counts = { logins: 0, renewals: 0 };
  let failing: { n: number; status: number } = { n: 0, status: 500 };
  const state = { sealed: false };

  const issue = (leaseSeconds: number) => {
    const token = `hvs.${randomUUID()}`;
    tokens.set(token, Date.now() + leaseSeconds * 1000);
    return { client_token: token, accessor: randomUUID(), policies: ['default'], lease_duration: leaseSeconds, renewable: true };
  };

  const keyFor = (name: string, version: number, ctx: string | undefined): Buffer => {
    const k = keys.get(name);
    if (!k) throw new HttpError(400, 'encryption key not found');
    const base = k.versions[version - 1];
    if (!base) throw new HttpError(400, 'invalid key version');
    if (!k.derived) return base;
    if (!ctx) throw new HttpError(400, "missing 'context' for key derivation; the key was created using a derived key");
    return Buffer.from(hkdfSync('sha256', base, Buffer.alloc(0), Buffer.from(ctx, 'base64'), 32));
  };

  const encrypt = (name: string, plaintext: Buffer, ctx: string | undefined) => {
    const k = keys.get(name);
    if (!k) throw new HttpError(400, 'encryption key not found');
    const version = k.versions.length;
    const nonce = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', keyFor(name, version, ctx), nonce);
    const body = Buffer.concat([nonce, c.update(plaintext), c.final(), c.getAuthTag()]);
    return { ciphertext: `vault:v${version}:${body.toString('base64')}`, key_version: version };
  };

  const decrypt = (name: string, ciphertext: unknown, ctx: string | undefined): Buffer => {
    const m = typeof ciphertext === 'string' ? /^vault:v(\d+):([A-Za-z0-9+/=]+)$/.exec(ciphertext) : null;
    if (!m) throw new HttpError(400, 'invalid ciphertext: no prefix');
    const raw = Buffer.from(m[2]!, 'base64');
    if (raw.length < 28) throw new HttpError(400, 'invalid ciphertext: too short');
    const d = createDecipheriv('aes-256-gcm', keyFor(name, Number(m[1]), ctx), raw.subarray(0, 12));
    d.setAuthTag(raw.subarray(raw.length - 16));
    try {
      return Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]);
    } catch {
      throw new HttpError(400, 'cipher: message authentication failed');
    }
  };

  const handle = async (req: IncomingMessage, body: Record<string, unknown>): Promise<[number, unknown]> => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method === 'GET' && url.searchParams.get('list') === 'true' ? 'LIST' : req.method ?? 'GET';
    const path = url.pathname;
    if (opts.namespace !== undefined && req.headers['x-vault-namespace'] !== opts.namespace) {
      throw new HttpError(403, 'permission denied (namespace)');
    }
    if (method === 'GET' && path === '/v1/sys/health') {
      return [state.sealed ? 503 : 200, { initialized: true, sealed: state.sealed, standby: false, version: '1.15.0-fake', cluster_name: 'fake' }];
    }
    if (state.sealed) throw new HttpError(503, 'Vault is sealed');
    if (method === 'POST' && path === '/v1/auth/approle/login') {
      const ar = opts.approle;
      if (!ar || body.role_id !== ar.roleId || body.secret_id !== ar.secretId) throw new HttpError(400, 'invalid role or secret ID');
      counts.logins++;
      return [200, { auth: issue(ar.leaseSeconds ?? 3600) }];
    }
    const token = req.headers['x-vault-token'];
    const exp = typeof token === 'string' ? tokens.get(token) : undefined;
    if (exp === undefined || exp < Date.now()) throw new HttpError(403, 'permission denied');
    if (method === 'POST' && path === '/v1/auth/token/renew-self') {
      const lease = opts.approle?.leaseSeconds ?? 3600;
      tokens.set(token as string, Date.now() + lease * 1000);
      counts.renewals++;
      return [200, { auth: { client_token: token, lease_duration: lease, renewable: true, policies: ['default'] } }];
    }
    if (method === 'LIST' && path === '/v1/transit/keys') {
      if (keys.size === 0) throw new HttpError(404, '');
      return [200, { data: { keys: [...keys.keys()] } }];
    }
    const m = /^\/v1\/transit\/(keys|datakey\/plaintext|datakey\/wrapped|encrypt|decrypt|rewrap)\/([^/]+)(\/rotate)?$/.exec(path);
    if (!m) throw new HttpError(404, `unsupported path: ${method} ${path}`);
    const [, op, rawName, rotate] = m;
    const name = decodeURIComponent(rawName!);
    const ctx = typeof body.context === 'string' && body.context !== '' ? body.context : undefined;
    if (op === 'keys') {
      const k = keys.get(name);
      if (rotate) {
        if (method !== 'POST') throw new HttpError(405, 'method not allowed');
        if (!k) throw new HttpError(400, 'encryption key not found');
        k.versions.push(randomBytes(32));
        k.created.push(Math.floor(Date.now() / 1000));
        return [204, undefined];
      }
      if (method === 'GET') {
        if (!k) throw new HttpError(404, '');
        const versions = Object.fromEntries(k.created.map((t, i) => [String(i + 1), t]));
        return [200, { data: { name, type: 'aes256-gcm96', derived: k.derived, latest_version: k.versions.length, min_decryption_version: 1, keys: versions } }];
      }
      if (method === 'POST') {
        if (body.type !== undefined && body.type !== 'aes256-gcm96') throw new HttpError(400, 'fake supports only aes256-gcm96');
        if (!k) keys.set(name, { derived: body.derived === true, versions: [randomBytes(32)], created: [Math.floor(Date.now() / 1000)] });
        return [204, undefined];
      }
      throw new HttpError(405, 'method not allowed');
    }
    if (method !== 'POST') throw new HttpError(405, 'method not allowed');
    switch (op) {
      case 'datakey/plaintext':
      case 'datakey/wrapped': {
        const bits = body.bits ?? 256;
        if (bits !== 128 && bits !== 256 && bits !== 512) throw new HttpError(400, 'invalid bits');
        const plain = randomBytes(Number(bits) / 8);
        const e = encrypt(name, plain, ctx);
        return [200, { data: { ...(op === 'datakey/plaintext' ? { plaintext: plain.toString('base64') } : {}), ...e } }];
      }
      case 'encrypt':
        return [200, { data: encrypt(name, Buffer.from(String(body.plaintext ?? ''), 'base64'), ctx) }];
      case 'decrypt':
        return [200, { data: { plaintext: decrypt(name, body.ciphertext, ctx).toString('base64') } }];
      case 'rewrap':
        return [200, { data: encrypt(name, decrypt(name, body.ciphertext, ctx), ctx) }];
    }
    throw new HttpError(404, 'unsupported');
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push(`${req.method} ${req.url}`);
      const send = (status: number, payload: unknown) => {
        const text = payload === undefined ? '' : JSON.stringify(payload);
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      };
      if (failing.n > 0) {
        failing.n--;
        return send(failing.status, { errors: ['injected failure'] });
      }
      let body: Record<string, unknown> = {};
      try {
        if (chunks.length) body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        return send(400, { errors: ['failed to parse JSON input'] });
      }
      handle(req, body).then(
        ([status, payload]) => send(status, payload),
        (err: unknown) => (err instanceof HttpError ? send(err.status, { errors: err.message ? [err.message] : [] }) : send(500, { errors: [String(err)] })),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    rootToken,
    requests,
    counts,
    get sealed() {
      return state.sealed;
    },
    set sealed(v: boolean) {
      state.sealed = v;
    },
    failNext(n, status) {
      failing = { n, status };
    },
    revokeTokens() {
      for (const t of tokens.keys()) if (t !== rootToken) tokens.delete(t);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
