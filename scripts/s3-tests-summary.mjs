#!/usr/bin/env node
// Summarises a ceph/s3-tests junit XML (pytest --junitxml, xunit2) as markdown:
// pass/fail counts per S3 feature area, then the most common failure causes with
// example tests, so whoever fixes the server sees what breaks most.
//
//   node scripts/s3-tests-summary.mjs /tmp/s3tests.xml [--commit SHA] [--seconds N]
//        [--causes N] [--list] [--json out.json]
//
// Areas come from the test name alone (junit carries no pytest markers); the
// rules are ordered, first match wins, so `test_multipart_copy_*` is multipart and
// `test_bucket_list_*` is list, not bucket.
import { readFileSync, writeFileSync } from 'node:fs';
import { XMLParser } from 'fast-xml-parser';

/** Ordered [area, pattern] rules matched against the bare test name. */
export const AREAS = [
  // Signature V2 (deprecated by AWS; Cairn speaks SigV4 only): `*_aws2`, `*_v2` clients.
  ['sigv2', /_aws2$|_v2$/],
  ['object lock', /object_lock|_lock_|legal_hold|retention/],
  ['logging', /logging/],
  ['lifecycle', /lifecycle|_lc_|transition|restore|read_through/],
  ['versioning', /version|delete_marker/],
  ['encryption/sse', /sse|encrypt|kms|_enc(_|$|\[)|^test_copy_enc|^test_copy_part_enc/],
  ['cors', /cors/],
  // Browser POST uploads are signed by a policy document: presigned, not bucket policy.
  ['presigned', /^test_post_object|presign|query_auth|signed_url|x_amz_expires/],
  ['policy', /policy|_abac_|public_access_block|public_block|block_public|ownership|object_writer/],
  ['acl', /acl|grant|canned|_owner|^test_access_bucket/],
  ['tagging', /tagging|_tags?(_|$)/],
  ['multipart', /multipart|_mpu|upload_part|uploadpart/],
  ['copy', /copy/],
  ['checksum', /checksum|crc32|sha256_/],
  ['conditional/if-match', /if_?match|if_?none_?match|if_?non_?match|if_?modified|if_?unmodified|conditional|_cond_/],
  ['range', /range/],
  ['list', /list|delimiter|prefix|marker|max_?keys|fetchowner|continuation|startafter/],
  ['auth/headers', /auth|signature|_aws2|_aws4|header|content_length|content_type|content_md5|expect|100_continue|anonymous|cache_control|metadata|_meta_/],
  ['bucket', /bucket/],
  ['object', /object|obj|key|put|get|head|delete|atomic/],
];
const AREA_ORDER = [...AREAS.map(([a]) => a), 'other'];

export function classify(testName, classname = '') {
  const name = testName.replace(/\[.*$/, '').toLowerCase();
  const [, sigv2] = AREAS[0];
  if (sigv2.test(name)) return 'sigv2';
  // test_headers.py is otherwise entirely about request headers and signing.
  if (classname.endsWith('test_headers')) return 'auth/headers';
  for (const [area, re] of AREAS) if (re.test(name)) return area;
  return 'other';
}

/** Reduces a failure message to a cause shared by many tests. */
export function causeOf(message, text = '') {
  const all = `${message}\n${text}`;
  // Fixture failures (the per-test bucket cleanup lists versions and bulk-deletes) are
  // reported apart: they say nothing about the test body but hit every test.
  const phase = /failed on (setup|teardown)/.exec(message);
  const where = phase ? `[${phase[1]}] ` : '';
  if (/ParamValidationError|Unknown parameter/.test(all)) {
    const p = /Unknown parameter in input: "([^"]+)"/.exec(all);
    return `client too old (Debian boto3): unknown parameter ${p ? p[1] : ''}`.trim();
  }
  const kw = /TypeError: Got unexpected keyword argument '(\w+)'/.exec(all);
  if (kw) return `client too old (Debian botocore): no Config option ${kw[1]}`;
  if (/TypeError: List of \(name,value\) pairs expected/.test(all))
    return 'client too old (Debian urllib3/botocore): the test sets a non-string header value';
  const client = /An error occurred \(([^)]*)\) when calling the (\w+) operation/.exec(all);
  if (client) return `${where}${client[1] || '(empty code)'} from ${client[2]}`;
  if (/EndpointConnectionError|Could not connect/.test(all)) return `${where}cannot connect (server down?)`;
  if (/ConnectionClosedError|ConnectionResetError|RemoteDisconnected|Connection aborted|IncompleteRead/.test(all))
    return `${where}connection closed/reset by server`;
  if (/Failed: Timeout >|ReadTimeoutError/.test(all)) return `${where}timeout (pytest 60 s or botocore read timeout)`;
  if (phase) {
    const inner = /\nE\s+([^\n]+)/.exec(text);
    return `${where}${(inner?.[1] ?? message).slice(0, 140)}`;
  }
  // Assertion messages embed per-run values (bucket names, ids); mask the noisy bits.
  return message
    .split('\n')[0]
    .trim()
    .replace(/cairn-[a-z0-9-]+/g, '<bucket>')
    .replace(/\b[0-9a-f]{16,}\b/g, '<hex>')
    .slice(0, 140);
}

function asArray(x) {
  return x === undefined ? [] : Array.isArray(x) ? x : [x];
}

export function parseJunit(xml) {
  // htmlEntities: pytest writes newlines in messages as &#10;, which plain XML entity
  // processing leaves encoded.
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', textNodeName: '#text', htmlEntities: true });
  const doc = parser.parse(xml);
  const suites = asArray(doc.testsuites?.testsuite ?? doc.testsuite);
  const cases = [];
  for (const s of suites) {
    for (const tc of asArray(s.testcase)) {
      const pick = (k) => {
        const v = asArray(tc[k])[0];
        if (v === undefined) return undefined;
        return typeof v === 'string' ? { message: v, text: v } : { message: v.message ?? '', text: v['#text'] ?? '' };
      };
      const failure = pick('failure');
      const error = pick('error');
      const skipped = pick('skipped');
      // A test whose body passed but whose fixture teardown failed is reported as an
      // error; it still counts against compatibility, because the cleanup call failed.
      const outcome = failure ? 'failed' : error ? 'error' : skipped ? 'skipped' : 'passed';
      const detail = failure ?? error ?? skipped;
      cases.push({
        name: String(tc.name),
        classname: String(tc.classname ?? ''),
        time: Number(tc.time ?? 0),
        outcome,
        message: detail?.message ?? '',
        text: detail?.text ?? '',
      });
    }
  }
  return cases;
}

export function summarise(cases) {
  const areas = new Map(AREA_ORDER.map((a) => [a, { passed: 0, failed: 0, error: 0, client: 0, skipped: 0 }]));
  const causes = new Map();
  for (const c of cases) {
    const area = classify(c.name, c.classname);
    c.area = area;
    if (c.outcome === 'failed' || c.outcome === 'error') {
      c.cause = causeOf(c.message, c.text);
      // Debian's boto3 predates some request parameters: not the server's fault.
      if (c.cause.startsWith('client too old')) c.outcome = 'client';
    }
    areas.get(area)[c.outcome]++;
    if (c.cause) {
      const entry = causes.get(c.cause) ?? { count: 0, tests: [], areas: new Set() };
      entry.count++;
      entry.areas.add(area);
      entry.tests.push(c.name);
      causes.set(c.cause, entry);
    }
  }
  return { areas, causes };
}

function pct(n, d) {
  return d === 0 ? '–' : `${Math.round((100 * n) / d)}%`;
}

export function toMarkdown(cases, { areas, causes }, opts = {}) {
  const out = [];
  const total = { passed: 0, failed: 0, error: 0, client: 0, skipped: 0 };
  const row = (label, n) => {
    const t = n.passed + n.failed + n.error + n.client + n.skipped;
    const cells = [n.passed, n.failed, n.error, n.client, n.skipped, t, pct(n.passed, n.passed + n.failed + n.error)];
    return `| ${label} | ${cells.join(' | ')} |`;
  };
  out.push('| Area | Passed | Failed | Errors | Client too old | Skipped | Total | Pass rate |');
  out.push('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const [area, n] of areas) {
    if (Object.values(n).every((v) => v === 0)) continue;
    for (const k of Object.keys(total)) total[k] += n[k];
    out.push(row(area, n));
  }
  out.push(row('**all**', total));
  const meta = [];
  if (opts.commit) meta.push(`s3-tests commit ${opts.commit}`);
  if (opts.seconds) meta.push(`${opts.seconds} s`);
  if (meta.length) out.push('', `_${meta.join(', ')}; pass rate = passed / (passed + failed + errors)._`);

  const top = [...causes].sort((a, b) => b[1].count - a[1].count).slice(0, opts.causes ?? 25);
  if (top.length) {
    out.push('', '### Most common failure causes', '', '| Count | Cause | Areas | Example tests |', '|---:|---|---|---|');
    for (const [cause, e] of top) {
      const ex = e.tests.slice(0, 3).map((t) => `\`${t}\``).join(', ');
      out.push(`| ${e.count} | ${cause.replace(/\|/g, '\\|')} | ${[...e.areas].join(', ')} | ${ex} |`);
    }
  }
  if (opts.list) {
    out.push('', '### Every failing test', '');
    for (const c of cases.filter((x) => x.cause)) {
      out.push(`- \`${c.name}\` (${c.area}): ${c.cause.replace(/\|/g, '\\|')}`);
    }
  }
  return out.join('\n');
}

function main(argv) {
  const withValue = new Set(['--commit', '--seconds', '--causes', '--json']);
  const opts = {};
  let file;
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    if (withValue.has(a)) opts[a.slice(2)] = argv[++i];
    else if (a === '--list') opts.list = true;
    else if (!a.startsWith('--') && file === undefined) file = a;
    else {
      console.error(`unknown argument ${a}`);
      process.exit(2);
    }
  }
  if (!file) {
    console.error('usage: s3-tests-summary.mjs junit.xml [--commit SHA] [--seconds N] [--causes N] [--list] [--json out.json]');
    process.exit(2);
  }
  const cases = parseJunit(readFileSync(file, 'utf8'));
  const summary = summarise(cases);
  console.log(
    toMarkdown(cases, summary, {
      commit: opts.commit,
      seconds: opts.seconds,
      causes: opts.causes ? Number(opts.causes) : undefined,
      list: opts.list === true,
    }),
  );
  if (opts.json) {
    const body = {
      areas: Object.fromEntries(summary.areas),
      cases: cases.map(({ name, area, outcome, cause }) => ({ name, area, outcome, cause })),
    };
    writeFileSync(opts.json, JSON.stringify(body, null, 1));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main(process.argv);
