import { decodeBody } from '../auth/index.js';
import { continueIfExpected, ownerOf, sendXml, type RequestContext } from '../context.js';
import { checkCannedAcl } from '../headers.js';
import { notImplemented } from '../s3-error.js';
import { S3_XMLNS, escapeXml, parseXml, readCappedBody, xmlList, xmlText } from '../xml.js';

/**
 * Get/Put Bucket and Object ACLs, for what is true without ACLs: the owner
 * (Cairn's one identity) has FULL_CONTROL of every bucket and object and
 * nobody else has anything. Reading that is honest; a PUT that asks for
 * exactly that (`private`, or a policy with only the owner's FULL_CONTROL) is
 * a no-op success; a PUT granting anyone anything more is 501, never a
 * success that does not hold.
 */

const XSI = 'http://www.w3.org/2001/XMLSchema-instance';

/** The AccessControlPolicy document. Built by hand: Grantee needs an xsi:type attribute. */
export function ownerOnlyPolicyXml(id: string, displayName: string): string {
  const owner = `<ID>${escapeXml(id)}</ID><DisplayName>${escapeXml(displayName)}</DisplayName>`;
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    `<AccessControlPolicy xmlns="${S3_XMLNS}"><Owner>${owner}</Owner><AccessControlList>` +
    `<Grant><Grantee xmlns:xsi="${XSI}" xsi:type="CanonicalUser">${owner}</Grantee>` +
    '<Permission>FULL_CONTROL</Permission></Grant></AccessControlList></AccessControlPolicy>'
  );
}

function sendPolicy(ctx: RequestContext): void {
  const owner = ownerOf(ctx.auth.accessKey);
  sendXml(ctx, ownerOnlyPolicyXml(owner.id, owner.displayName));
}

export async function getBucketAcl(ctx: RequestContext, op: { bucket: string }): Promise<void> {
  await ctx.deps.objects.getBucketInfo(op.bucket, { signal: ctx.signal });
  sendPolicy(ctx);
}

export async function getObjectAcl(ctx: RequestContext, op: { bucket: string; key: string }): Promise<void> {
  await ctx.deps.objects.headObject(op.bucket, op.key, { signal: ctx.signal });
  sendPolicy(ctx);
}

const aclsNotBuilt = () => notImplemented('Access control lists are not implemented yet; only the owner-only ACL can be set.');

/** True when a PutAcl body grants nothing but the owner's FULL_CONTROL. */
export function isOwnerOnlyPolicy(doc: unknown, ownerId: string): boolean {
  if (doc === null || typeof doc !== 'object') return false;
  const acl = (doc as Record<string, unknown>).AccessControlList;
  const grants = acl !== null && typeof acl === 'object' ? xmlList((acl as Record<string, unknown>).Grant) : [];
  if (grants.length === 0) return false;
  return grants.every((g) => {
    if (g === null || typeof g !== 'object') return false;
    const grant = g as Record<string, unknown>;
    const grantee = grant.Grantee;
    const id = grantee !== null && typeof grantee === 'object' ? xmlText((grantee as Record<string, unknown>).ID) : undefined;
    return id === ownerId && xmlText(grant.Permission) === 'FULL_CONTROL';
  });
}

async function putAcl(ctx: RequestContext): Promise<void> {
  const headers = ctx.req.headers;
  checkCannedAcl(headers);
  if (Object.keys(headers).some((h) => h.startsWith('x-amz-grant-'))) throw aclsNotBuilt();
  const hasBody = headers['transfer-encoding'] !== undefined || Number(headers['content-length'] ?? 0) > 0;
  if (hasBody) {
    const decoded = decodeBody(ctx.req.raw, ctx.auth, headers);
    continueIfExpected(ctx);
    const body = await readCappedBody(decoded.stream);
    if (body.length > 0) {
      if (headers['x-amz-acl'] !== undefined) throw aclsNotBuilt();
      const doc = parseXml(body, 'AccessControlPolicy');
      if (!isOwnerOnlyPolicy(doc, ownerOf(ctx.auth.accessKey).id)) throw aclsNotBuilt();
    }
  }
  ctx.reply.code(200).send();
}

export async function putBucketAcl(ctx: RequestContext, op: { bucket: string }): Promise<void> {
  await ctx.deps.objects.getBucketInfo(op.bucket, { signal: ctx.signal });
  await putAcl(ctx);
}

export async function putObjectAcl(ctx: RequestContext, op: { bucket: string; key: string }): Promise<void> {
  await ctx.deps.objects.headObject(op.bucket, op.key, { signal: ctx.signal });
  await putAcl(ctx);
}
