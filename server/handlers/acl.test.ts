import { describe, expect, it } from 'vitest';
import { checkCannedAcl, metadataHeaderValue } from '../headers.js';
import { parseXml } from '../xml.js';
import { isOwnerOnlyPolicy, ownerOnlyPolicyXml } from './acl.js';

describe('ACLs without ACLs', () => {
  const owner = 'a'.repeat(64);

  it('renders the owner-only policy, which reads back as owner-only', () => {
    const xml = ownerOnlyPolicyXml(owner, 'root<&>');
    expect(xml).toContain('xsi:type="CanonicalUser"');
    expect(xml).toContain('<DisplayName>root&lt;&amp;&gt;</DisplayName>');
    expect(isOwnerOnlyPolicy(parseXml(Buffer.from(xml), 'AccessControlPolicy'), owner)).toBe(true);
    expect(isOwnerOnlyPolicy(parseXml(Buffer.from(xml), 'AccessControlPolicy'), 'b'.repeat(64))).toBe(false);
  });

  it('refuses a policy that grants anything to anyone else', () => {
    const xml = ownerOnlyPolicyXml(owner, 'root').replace(
      '</AccessControlList>',
      '<Grant><Grantee xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant></AccessControlList>',
    );
    expect(isOwnerOnlyPolicy(parseXml(Buffer.from(xml), 'AccessControlPolicy'), owner)).toBe(false);
  });

  it('tells unknown canned ACLs (400) from unsupported ones (501)', () => {
    expect(() => checkCannedAcl({ 'x-amz-acl': 'private' })).not.toThrow();
    expect(() => checkCannedAcl({ 'x-amz-acl': 'bucket-owner-full-control' })).not.toThrow();
    expect(() => checkCannedAcl({ 'x-amz-acl': 'public-ready' })).toThrow(expect.objectContaining({ code: 'InvalidArgument', status: 400 }));
    expect(() => checkCannedAcl({ 'x-amz-acl': 'public-read' })).toThrow(expect.objectContaining({ code: 'NotImplemented', status: 501 }));
  });

  it('returns metadata as latin1 text when it can, RFC 2047 otherwise', () => {
    expect(metadataHeaderValue('Hello World\u00e9')).toBe('Hello World\u00e9');
    expect(metadataHeaderValue('\u{1F600}')).toBe(`=?UTF-8?B?${Buffer.from('\u{1F600}').toString('base64')}?=`);
  });
});
