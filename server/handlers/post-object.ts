import { createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import busboy from 'busboy';
import { signingKey } from '../auth/index.js';
import { ALGORITHM, hmacHex, signaturesEqual } from '../auth/signing.js';
import type { RequestContext } from '../context.js';
import { MAX_PUT_SIZE, checkCannedAcl, checksumRequestFrom, contentHeadersFrom, quoteEtag, userMetadataFrom, validateKey } from '../headers.js';
import { checkPostPolicy, parsePostPolicy } from '../post-policy.js';
import { S3Error, accessDenied, invalidAccessKeyId, invalidArgument, notImplemented, signatureDoesNotMatch } from '../s3-error.js';
import { sseWriteRequestFrom, writeSseHeaders } from '../sse.js';
import { xmlDocument } from '../xml.js';

/**
 * POST Object: a browser form upload (multipart/form-data) to a bucket. It
 * carries no Authorization header; the signature is a form field over the
 * base64 policy, so app.ts lets this one operation through unauthenticated
 * and the checks happen here, once the fields before the file are in.
 *
 * The file part streams into storage without buffering; fields after it are
 * ignored, as AWS does. Nothing is stored unless the signature, the policy
 * and the content-length-range all hold (a size outside the range fails the
 * stream, which aborts the put).
 */

/** What this handler needs of a request: everything but `auth`, which it establishes itself. */
export type PostObjectContext = Omit<RequestContext, 'auth'>;

/** AWS caps the non-file fields of a POST form at 20 KB. */
const MAX_FIELDS_BYTES = 20 * 1024;
const MAX_FIELDS = 100;

const malformedPost = (msg: string) => new S3Error('MalformedPOSTRequest', 400, msg);
const missingField = (name: string) =>
  invalidArgument(`Bucket POST must contain a field named '${name}'.  If it is specified, please check the order of the fields.`, {
    ArgumentName: name,
    ArgumentValue: '',
  });

export async function postObject(ctx: PostObjectContext, op: { bucket: string }): Promise<void> {
  const type = ctx.req.headers['content-type'];
  if (typeof type !== 'string' || !/^multipart\/form-data\s*;/i.test(type)) {
    throw new S3Error('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold', {
      Condition: 'Bucket POST must be of the enclosure-type multipart/form-data',
    });
  }
  let bb: busboy.Busboy;
  try {
    bb = busboy({
      headers: ctx.req.headers,
      limits: { fieldSize: MAX_FIELDS_BYTES, fields: MAX_FIELDS, parts: MAX_FIELDS + 1 },
    });
  } catch {
    throw malformedPost('The body of your POST request is not well-formed multipart/form-data.');
  }
  const stored = await new Promise<Stored>((resolve, reject) => {
    // First occurrence of a name wins; names are case-insensitive.
    const fields = new Map<string, string>();
    let fieldBytes = 0;
    let result: Stored | undefined;
    let started = false;
    let closed = false;
    let ended = false;
    let pending: Promise<void> = Promise.resolve();
    const fail = (err: unknown) => {
      if (ended) return;
      ended = true;
      reject(err);
    };
    const upload = (file: Readable, filename: string | undefined) => {
      started = true;
      store(ctx, op.bucket, fields, file, filename).then((r) => {
        result = r;
        if (closed) finish();
      }, fail);
    };
    const finish = () => {
      if (ended || result === undefined) return;
      ended = true;
      resolve(result);
    };
    bb.on('field', (name, value, info) => {
      if (started) return;
      if (info.valueTruncated || (fieldBytes += name.length + value.length) > MAX_FIELDS_BYTES) {
        fail(malformedPost('Your POST request fields preceding the upload file were too large.'));
        return;
      }
      const n = name.toLowerCase();
      // A `file` part sent without a filename is still the file (small, since busboy buffered it).
      if (n === 'file') {
        started = true;
        void pending.then(() => upload(Readable.from([Buffer.from(value, 'latin1')]), undefined), fail);
      } else if (!fields.has(n)) fields.set(n, value);
    });
    // Parts with a filename that are not named `file` are still plain fields
    // (python-requests sends every field that way); they are read in order,
    // and the upload waits for them.
    bb.on('file', (name, file, info) => {
      if (started) {
        file.resume();
        return;
      }
      const n = name.toLowerCase();
      if (n === 'file') {
        started = true;
        void pending.then(() => upload(file, info.filename), fail);
        return;
      }
      const read = readSmall(file, MAX_FIELDS_BYTES - fieldBytes);
      pending = pending.then(async () => {
        const value = await read;
        if (value === undefined || (fieldBytes += name.length + value.length) > MAX_FIELDS_BYTES) {
          throw malformedPost('Your POST request fields preceding the upload file were too large.');
        }
        if (!fields.has(n)) fields.set(n, value);
      });
      pending.catch(fail);
    });
    bb.on('close', () => {
      closed = true;
      if (!started) fail(missingField('file'));
      else finish();
    });
    bb.on('partsLimit', () => fail(malformedPost('Your POST request has too many fields.')));
    bb.on('fieldsLimit', () => fail(malformedPost('Your POST request has too many fields.')));
    bb.on('error', () => fail(malformedPost('The body of your POST request is not well-formed multipart/form-data.')));
    ctx.req.raw.pipe(bb);
  });
  respond(ctx, op.bucket, stored);
}

/** A small part's content as text; undefined past `limit` bytes (the rest is discarded). */
function readSmall(part: Readable, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    part.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= limit) chunks.push(c);
    });
    part.once('end', () => resolve(size <= limit ? Buffer.concat(chunks).toString('utf8') : undefined));
    part.once('error', reject);
  });
}

interface Stored {
  key: string;
  etag: string;
  fields: ReadonlyMap<string, string>;
}

/** Authenticate the form, check its policy and stream the file into storage. */
async function store(
  ctx: PostObjectContext,
  bucket: string,
  fields: Map<string, string>,
  file: Readable,
  filename: string | undefined,
): Promise<Stored> {
  try {
    const policyB64 = fields.get('policy');
    // No policy means an anonymous upload, and Cairn grants nothing to anonymous callers.
    if (policyB64 === undefined || policyB64 === '') throw accessDenied();
    await verifySignature(ctx, fields, policyB64);
    const policy = parsePostPolicy(policyB64);
    const rawKey = fields.get('key');
    if (rawKey === undefined) throw missingField('key');
    // `${filename}` is replaced by the name the browser gave the file (AWS).
    const key = rawKey.replaceAll('${filename}', filename ?? '');
    validateKey(key);
    // The bucket is a field for the policy's sake, taken from the URL whatever the form says.
    fields.set('bucket', bucket);
    fields.set('key', key);
    const range = checkPostPolicy(policy, fields, new Date());
    // Fields asking for what Cairn lacks are refused, never silently dropped (a wrong success).
    const acl = fields.get('acl');
    if (acl !== undefined) checkCannedAcl({ 'x-amz-acl': acl });
    if (fields.get('tagging') !== undefined) throw notImplemented('Object tagging is not implemented yet.');
    const storageClass = fields.get('x-amz-storage-class');
    const headers = headersFrom(fields);
    const limited = file.pipe(new LengthRange(range?.min ?? 0, Math.min(range?.max ?? MAX_PUT_SIZE, MAX_PUT_SIZE)));
    file.once('error', (err) => limited.destroy(err));
    const sse = sseWriteRequestFrom(headers);
    const checksum = checksumRequestFrom(headers, undefined);
    const info = await ctx.deps.objects.putObject(bucket, key, limited, {
      headers: contentHeadersFrom(headers, undefined),
      userMetadata: userMetadataFrom(headers),
      ...(sse ? { sse } : {}),
      ...(checksum ? { checksum } : {}),
      ...(storageClass ? { storageClass } : {}),
      signal: ctx.signal,
    });
    writeSseHeaders(ctx.reply, info, sse?.type === 'SSE-C' ? sse.customerKey : undefined);
    return { key, etag: info.etag, fields };
  } catch (err) {
    file.resume();
    throw err;
  }
}

/** SigV4 (x-amz-signature: hex HMAC with the signing key) or the older SigV2 form (signature: base64 HMAC-SHA1). */
async function verifySignature(ctx: PostObjectContext, fields: ReadonlyMap<string, string>, policyB64: string): Promise<void> {
  const v4 = fields.get('x-amz-signature');
  if (v4 !== undefined) {
    const algorithm = fields.get('x-amz-algorithm');
    if (algorithm !== ALGORITHM) {
      throw invalidArgument('Only AWS4-HMAC-SHA256 is supported for POST policy signatures.', {
        ArgumentName: 'x-amz-algorithm',
        ArgumentValue: algorithm ?? '',
      });
    }
    const credential = fields.get('x-amz-credential');
    if (credential === undefined) throw missingField('x-amz-credential');
    if (fields.get('x-amz-date') === undefined) throw missingField('x-amz-date');
    const parts = credential.split('/');
    const [accessKey, date, region, service, terminator] = parts;
    if (parts.length !== 5 || !accessKey || !date || !/^\d{8}$/.test(date) || !region || service !== 's3' || terminator !== 'aws4_request') {
      throw invalidArgument('Invalid credential in x-amz-credential.', { ArgumentName: 'x-amz-credential', ArgumentValue: credential });
    }
    const secret = await secretOf(ctx, accessKey);
    if (!signaturesEqual(hmacHex(signingKey(secret, date, region), policyB64), v4)) throw signatureDoesNotMatch();
    return;
  }
  const v2 = fields.get('signature');
  const accessKey = fields.get('awsaccesskeyid');
  if (v2 === undefined) throw missingField(accessKey === undefined ? 'x-amz-signature' : 'Signature');
  if (accessKey === undefined) throw missingField('AWSAccessKeyId');
  const secret = await secretOf(ctx, accessKey);
  const expected = createHmac('sha1', secret).update(policyB64).digest('base64');
  // base64 is case-sensitive: compare exactly (signaturesEqual lower-cases the client's value).
  if (expected.length !== v2.length || !signaturesEqual(Buffer.from(expected).toString('hex'), Buffer.from(v2).toString('hex'))) {
    throw signatureDoesNotMatch();
  }
}

async function secretOf(ctx: PostObjectContext, accessKey: string): Promise<string> {
  const found = await ctx.deps.credentials.lookup(accessKey);
  if (!found) throw invalidAccessKeyId();
  return found.secretKey;
}

/** Form fields that mean object headers (content, metadata, SSE, checksum), as PutObject would read them from the request. */
function headersFrom(fields: ReadonlyMap<string, string>): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const [name, value] of fields) {
    if (name.startsWith('x-amz-meta-') || name.startsWith('x-amz-server-side-encryption') || name.startsWith('x-amz-checksum-') || ['content-type', 'content-disposition', 'content-language', 'cache-control', 'expires'].includes(name)) {
      out[name] = value;
    }
  }
  return out;
}

/** Fails the stream when the file leaves the policy's content-length-range, so nothing is stored. */
class LengthRange extends Transform {
  private seen = 0;
  constructor(
    private readonly min: number,
    private readonly max: number,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.max) cb(new S3Error('EntityTooLarge', 400, 'Your proposed upload exceeds the maximum allowed size', { MaxSizeAllowed: String(this.max) }));
    else cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    if (this.seen < this.min) cb(new S3Error('EntityTooSmall', 400, 'Your proposed upload is smaller than the minimum allowed size', { MinSizeAllowed: String(this.min) }));
    else cb();
  }
}

/** success_action_redirect (303), else success_action_status: 200, 201 (with a PostResponse document) or 204. */
function respond(ctx: PostObjectContext, bucket: string, stored: Stored): void {
  const etag = quoteEtag(stored.etag);
  const proto = 'encrypted' in ctx.req.raw.socket ? 'https' : 'http';
  const location = `${proto}://${ctx.req.headers.host ?? 'localhost'}/${encodeURIComponent(bucket)}/${stored.key.split('/').map(encodeURIComponent).join('/')}`;
  ctx.reply.header('etag', etag).header('location', location);
  const redirect = stored.fields.get('success_action_redirect') ?? stored.fields.get('redirect');
  if (redirect !== undefined && /^https?:\/\//i.test(redirect)) {
    const q = `bucket=${encodeURIComponent(bucket)}&key=${encodeURIComponent(stored.key)}&etag=${encodeURIComponent(etag)}`;
    ctx.reply.code(303).header('location', `${redirect}${redirect.includes('?') ? '&' : '?'}${q}`).send();
    return;
  }
  const status = stored.fields.get('success_action_status');
  if (status === '201') {
    const body = xmlDocument('PostResponse', [
      ['Location', location],
      ['Bucket', bucket],
      ['Key', stored.key],
      ['ETag', etag],
    ], null);
    ctx.reply.code(201).header('content-type', 'application/xml').send(Buffer.from(body, 'utf8'));
    return;
  }
  ctx.reply.code(status === '200' ? 200 : 204).send();
}
