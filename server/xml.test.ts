import { describe, expect, it } from 'vitest';
import { escapeXml, parseXml, xmlDocument } from './xml.js';
import { parseDelete } from './handlers/delete-objects.js';

describe('xml', () => {
  it('escapes markup and control characters', () => {
    expect(escapeXml(`a&b<c>"d'e`)).toBe('a&amp;b&lt;c&gt;&quot;d&apos;e');
    expect(escapeXml('x\r\n\t\x01')).toBe('x&#xD;&#xA;&#x9;&#x1;');
  });

  it('builds a namespaced document and skips absent children', () => {
    const doc = xmlDocument('R', [['A', 'x&y'], false, undefined, ['B', [['C', 3], ['D', true]]]]);
    expect(doc).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n<R xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><A>x&amp;y</A><B><C>3</C><D>true</D></B></R>',
    );
  });

  it('round-trips hostile keys through the DeleteObjects parser', () => {
    const keys = ['a&b', '<tag>', `"q'`, ' lead and trail ', '123', 'x\ty'];
    const body = Buffer.from(
      `<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet>${keys
        .map((k) => `<Object><Key>${escapeXml(k)}</Key></Object>`)
        .join('')}</Delete>`,
    );
    const { entries, quiet } = parseDelete(body);
    expect(quiet).toBe(true);
    expect(entries.map((e) => e.key)).toEqual(keys);
  });

  it('refuses DOCTYPEs, malformed documents and a wrong root', () => {
    const bomb = '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]><Delete><Object><Key>&a;</Key></Object></Delete>';
    expect(() => parseXml(Buffer.from(bomb), 'Delete')).toThrow(expect.objectContaining({ code: 'MalformedXML' }));
    expect(() => parseXml(Buffer.from('<Delete><Object></Delete>'), 'Delete')).toThrow(
      expect.objectContaining({ code: 'MalformedXML' }),
    );
    expect(() => parseXml(Buffer.from('<Other/>'), 'Delete')).toThrow(expect.objectContaining({ code: 'MalformedXML' }));
    expect(() => parseDelete(Buffer.from('<Delete><Quiet>true</Quiet></Delete>'))).toThrow(
      expect.objectContaining({ code: 'MalformedXML' }),
    );
  });
});
