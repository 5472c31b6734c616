import type { IncomingHttpHeaders } from 'node:http';
import { checksumXml } from '../checksum-headers.js';
import { sendXml, type RequestContext } from '../context.js';
import { httpDate, validateKey } from '../headers.js';
import { invalidArgument } from '../s3-error.js';
import { xmlDocument, type XmlChild } from '../xml.js';

/**
 * GET /bucket/key?attributes — GetObjectAttributes. Metadata only: never opens
 * the data. ObjectParts is shown for multipart objects only (as on AWS), paged
 * with x-amz-max-parts / x-amz-part-number-marker. The ETag is unquoted here,
 * unlike everywhere else, because that is what AWS returns.
 */

const ATTRIBUTES = ['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize'] as const;
type Attribute = (typeof ATTRIBUTES)[number];
const MAX_PARTS = 1000;

function one(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

export function parseObjectAttributes(raw: string | undefined): Set<Attribute> {
  const bad = () => invalidArgument('Invalid attribute name specified.', { ArgumentName: 'x-amz-object-attributes' });
  if (raw === undefined || raw.trim() === '') throw bad();
  const out = new Set<Attribute>();
  for (const item of raw.split(',')) {
    const name = item.trim();
    if (name === '') continue;
    const attr = ATTRIBUTES.find((a) => a.toLowerCase() === name.toLowerCase());
    if (!attr) throw bad();
    out.add(attr);
  }
  if (out.size === 0) throw bad();
  return out;
}

function parseCount(raw: string | undefined, name: string, fallback: number): number {
  if (raw === undefined || raw.trim() === '') return fallback;
  if (!/^\d{1,10}$/.test(raw.trim())) throw invalidArgument(`Provided ${name} not an integer or within integer range`, { ArgumentName: name });
  return Number(raw.trim());
}

export async function getObjectAttributes(ctx: RequestContext, op: { bucket: string; key: string }): Promise<void> {
  validateKey(op.key);
  const headers = ctx.req.headers;
  const wanted = parseObjectAttributes(one(headers, 'x-amz-object-attributes'));
  const maxParts = Math.min(parseCount(one(headers, 'x-amz-max-parts'), 'x-amz-max-parts', MAX_PARTS), MAX_PARTS);
  const marker = parseCount(one(headers, 'x-amz-part-number-marker'), 'x-amz-part-number-marker', 0);
  const versionId = ctx.routed.query.get('versionId');
  if (versionId !== undefined && versionId !== 'null') {
    throw invalidArgument('Invalid version id specified', { ArgumentName: 'versionId', ArgumentValue: versionId });
  }
  const info = await ctx.deps.objects.headObject(op.bucket, op.key, { signal: ctx.signal });

  const children: XmlChild[] = [];
  if (wanted.has('ETag')) children.push(['ETag', info.etag]);
  if (wanted.has('Checksum') && Object.keys(info.checksums).length > 0) {
    children.push([
      'Checksum',
      [...checksumXml(info.checksums), info.checksumType !== undefined && ['ChecksumType', info.checksumType]],
    ]);
  }
  if (wanted.has('ObjectParts') && info.parts) {
    const after = info.parts.filter((p) => p.partNumber > marker);
    const page = after.slice(0, maxParts);
    const truncated = after.length > page.length;
    const last = page[page.length - 1];
    children.push([
      'ObjectParts',
      [
        ['PartsCount', info.parts.length],
        ['PartNumberMarker', marker],
        ['NextPartNumberMarker', last?.partNumber ?? marker],
        ['MaxParts', maxParts],
        ['IsTruncated', truncated],
        ...page.map(
          (p): XmlChild => [
            'Part',
            [
              ...(info.checksumType === 'COMPOSITE' || info.checksumType === undefined ? checksumXml(p.checksums) : []),
              ['PartNumber', p.partNumber],
              ['Size', p.size],
            ],
          ],
        ),
      ],
    ]);
  }
  if (wanted.has('StorageClass')) children.push(['StorageClass', info.storageClass || 'STANDARD']);
  if (wanted.has('ObjectSize')) children.push(['ObjectSize', info.size]);
  ctx.reply.header('last-modified', httpDate(info.modTime));
  sendXml(ctx, xmlDocument('GetObjectAttributesResponse', children));
}
