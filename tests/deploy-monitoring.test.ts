import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

/**
 * The alert rules (deploy/prometheus/alerts.yml) and the Grafana dashboard
 * (deploy/grafana/cairn-dashboard.json) may only name metrics the server exports: a renamed
 * metric would otherwise leave an alert that can never fire. When Debian's promtool
 * (package prometheus) is installed, it checks the rules' syntax, runs the rule unit tests
 * in deploy/prometheus/alerts.test.yml, and checks every dashboard query parses.
 */

const ROOT = resolve(import.meta.dirname, '..');
const ALERTS = join(ROOT, 'deploy/prometheus/alerts.yml');
const ALERT_TESTS = join(ROOT, 'deploy/prometheus/alerts.test.yml');
const DASHBOARD = join(ROOT, 'deploy/grafana/cairn-dashboard.json');

/** What the server's metrics module exports (issue 7); histograms add _bucket, _sum, _count. */
const CAIRN_METRICS = new Set([
  'cairn_http_requests_total', 'cairn_http_request_duration_seconds', 'cairn_http_bytes_received_total',
  'cairn_http_bytes_sent_total', 'cairn_http_inflight_requests', 'cairn_drive_online', 'cairn_drive_used_bytes',
  'cairn_drive_total_bytes', 'cairn_set_online_drives', 'cairn_set_write_quorum', 'cairn_set_read_quorum',
  'cairn_heal_objects_total', 'cairn_kms_online', 'cairn_audit_dropped_total',
]);
const HISTOGRAMS = new Set(['cairn_http_request_duration_seconds']);
/** Series Prometheus itself writes for every target. */
const PROMETHEUS_SERIES = new Set(['up']);
const REQUIRED_ALERTS = ['CairnDriveOffline', 'CairnSetNearWriteQuorum', 'CairnCapacityHigh', 'CairnHigh5xxRate', 'CairnKmsUnreachable'];

const KEYWORDS = new Set([
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan',
]);

/**
 * Metric names used by a PromQL expression. A small tokenizer, not a parser: strings, label
 * matchers `{...}`, ranges `[...]` and the label lists of by/without/on/ignoring/group_x are
 * dropped, identifiers followed by `(` are functions or aggregations, the rest are metrics.
 */
function metricNames(expr: string): string[] {
  let s = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ');
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  const re = /[A-Za-z_:][A-Za-z0-9_:]*/g;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    const id = m[0];
    const before = s[m.index - 1];
    if (before !== undefined && /[0-9.]/.test(before)) continue; // 5m, 1e3
    if (/^\s*\(/.test(s.slice(m.index + id.length))) continue; // function or aggregation
    if (KEYWORDS.has(id.toLowerCase())) continue;
    names.add(id);
  }
  return [...names];
}

function unknownMetrics(expr: string): string[] {
  return metricNames(expr).filter((n) => {
    if (CAIRN_METRICS.has(n) || PROMETHEUS_SERIES.has(n)) return false;
    const base = n.replace(/_(bucket|sum|count)$/, '');
    return !(base !== n && HISTOGRAMS.has(base));
  });
}

function findPromtool(): string | undefined {
  const candidates = [process.env.PROMTOOL, '/usr/bin/promtool', '/usr/local/bin/promtool'].filter((p): p is string => !!p);
  return candidates.find((p) => existsSync(p)) ?? (spawnSync('promtool', ['--version']).status === 0 ? 'promtool' : undefined);
}
const promtool = findPromtool();
const withPromtool = promtool ? it : it.skip;
const promtoolNote = promtool ? '' : ' (skipped: promtool not installed; Debian package prometheus)';
if (!promtool) console.warn('deploy-monitoring: promtool checks skipped: promtool not installed (Debian package prometheus)');

function runPromtool(args: string[]): { status: number | null; output: string } {
  const r = spawnSync(promtool!, args, { encoding: 'utf8', cwd: ROOT });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

type Obj = Record<string, any>;

const alerts = parseYaml(readFileSync(ALERTS, 'utf8')) as Obj;
const rules = (alerts.groups as Obj[]).flatMap((g) => g.rules as Obj[]);
const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Obj;
const panels = (dashboard.panels as Obj[]).flatMap((p) => [p, ...((p.panels as Obj[] | undefined) ?? [])]);
const queries = panels.flatMap((p) => ((p.targets as Obj[] | undefined) ?? []).map((t) => ({ panel: p.title as string, expr: t.expr as string })));

describe('metricNames', () => {
  it('finds the metrics and nothing else', () => {
    expect(metricNames('sum by (api, le) (rate(cairn_http_request_duration_seconds_bucket{api=~"Get.*",x="a b"}[5m])) > 0.5')).toEqual([
      'cairn_http_request_duration_seconds_bucket',
    ]);
    expect(metricNames('a / on (set) group_left (drive) b + c offset 5m unless d or vector(0)').sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(unknownMetrics('cairn_drive_online == 0 and cairn_drive_offline')).toEqual(['cairn_drive_offline']);
  });
});

describe('deploy/prometheus/alerts.yml', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'cairn-rules-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('has the required alerts, each with severity and summary', () => {
    const names = rules.map((r) => r.alert as string);
    for (const a of REQUIRED_ALERTS) expect(names).toContain(a);
    expect(new Set(names).size).toBe(names.length);
    for (const r of rules) {
      expect(r.expr, `${r.alert} expr`).toEqual(expect.any(String));
      expect(['warning', 'critical'], `${r.alert} severity`).toContain(r.labels?.severity);
      expect(r.annotations?.summary, `${r.alert} summary`).toEqual(expect.any(String));
    }
  });

  it('uses only metrics the server exports', () => {
    for (const r of rules) {
      expect(metricNames(r.expr).length, `${r.alert} names a metric`).toBeGreaterThan(0);
      expect(unknownMetrics(r.expr), `${r.alert}: ${r.expr}`).toEqual([]);
    }
  });

  withPromtool(`promtool check rules${promtoolNote}`, () => {
    const r = runPromtool(['check', 'rules', ALERTS]);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toMatch(new RegExp(`SUCCESS: ${rules.length} rules found`));
  });

  withPromtool(`promtool test rules: the alerts fire when they should and only then${promtoolNote}`, () => {
    // promtool compares annotations verbatim; the unit tests pin expressions, durations and
    // labels, so they run against a copy without annotations (templates: check rules above).
    const stripped = { groups: (alerts.groups as Obj[]).map((g) => ({ ...g, rules: (g.rules as Obj[]).map(({ annotations: _, ...r }) => r) })) };
    writeFileSync(join(tmp, 'alerts.yml'), stringifyYaml(stripped));
    writeFileSync(join(tmp, 'alerts.test.yml'), readFileSync(ALERT_TESTS));
    const r = runPromtool(['test', 'rules', join(tmp, 'alerts.test.yml')]);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toContain('SUCCESS');
    // The unit tests cover every alert.
    const tests = parseYaml(readFileSync(ALERT_TESTS, 'utf8')) as Obj;
    const covered = new Set((tests.tests as Obj[]).flatMap((t) => ((t.alert_rule_test as Obj[] | undefined) ?? []).map((a) => a.alertname as string)));
    for (const rule of rules) expect(covered, `${rule.alert} has a unit test`).toContain(rule.alert);
  });

  withPromtool(`promtool rejects a broken rule (the check can fail)${promtoolNote}`, () => {
    const bad = join(tmp, 'bad.yml');
    writeFileSync(bad, stringifyYaml({ groups: [{ name: 'x', rules: [{ alert: 'X', expr: 'sum(cairn_drive_online' }] }] }));
    expect(runPromtool(['check', 'rules', bad]).status).not.toBe(0);
  });
});

describe('deploy/grafana/cairn-dashboard.json', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'cairn-dash-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('is a Grafana dashboard with a Prometheus data source variable', () => {
    expect(dashboard.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    expect(dashboard.title).toEqual(expect.any(String));
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    const vars = dashboard.templating.list as Obj[];
    const ds = vars.find((v) => v.type === 'datasource');
    expect(ds?.query).toBe('prometheus');
    const ids = panels.map((p) => p.id as number);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panels) {
      expect(p.gridPos, `${p.title} gridPos`).toMatchObject({ h: expect.any(Number), w: expect.any(Number), x: expect.any(Number), y: expect.any(Number) });
      expect(p.gridPos.x + p.gridPos.w, `${p.title} fits 24 columns`).toBeLessThanOrEqual(24);
      if (p.type === 'row') continue;
      expect(p.datasource?.uid, `${p.title} data source`).toBe(`\${${ds!.name}}`);
      expect(p.targets?.length, `${p.title} has queries`).toBeGreaterThan(0);
    }
    // Every variable the queries use is defined.
    const defined = new Set(vars.map((v) => v.name as string));
    for (const q of queries) {
      for (const [, v] of q.expr.matchAll(/\$(\w+)/g)) {
        if (!v!.startsWith('__')) expect(defined, `${q.panel}: $${v}`).toContain(v);
      }
    }
  });

  it('shows what operators need, using only metrics the server exports', () => {
    expect(queries.length).toBeGreaterThan(10);
    for (const q of queries) {
      expect(metricNames(q.expr).length, `${q.panel} names a metric`).toBeGreaterThan(0);
      expect(unknownMetrics(q.expr), `${q.panel}: ${q.expr}`).toEqual([]);
    }
    for (const v of dashboard.templating.list as Obj[]) {
      if (v.type === 'query') expect(unknownMetrics(/label_values\((\w+)/.exec(v.definition)?.[1] ?? 'missing')).toEqual([]);
    }
    const all = queries.map((q) => q.expr).join('\n');
    expect(all).toMatch(/sum by \(api\) \(rate\(cairn_http_requests_total/); // request rate by API
    expect(all).toMatch(/cairn_http_requests_total\{[^}]*status=~"5\.\."/); // 5xx
    expect(all).toMatch(/histogram_quantile\(0\.5, [^\n]*cairn_http_request_duration_seconds_bucket/); // p50
    expect(all).toMatch(/histogram_quantile\(0\.99, [^\n]*cairn_http_request_duration_seconds_bucket/); // p99
    for (const m of ['cairn_http_bytes_received_total', 'cairn_http_bytes_sent_total', 'cairn_http_inflight_requests',
      'cairn_drive_online', 'cairn_set_write_quorum', 'cairn_drive_used_bytes', 'cairn_drive_total_bytes']) {
      expect(all).toContain(m);
    }
  });

  withPromtool(`every query is valid PromQL (checked by promtool as recording rules)${promtoolNote}`, () => {
    // Grafana's variables are not PromQL: substitute what Grafana would.
    const exprs = queries.map((q) => q.expr.replaceAll('$__rate_interval', '5m').replaceAll('$instance', '.*'));
    const file = join(tmp, 'dashboard-rules.yml');
    writeFileSync(file, stringifyYaml({ groups: [{ name: 'dashboard', rules: exprs.map((expr, i) => ({ record: `dashboard:query_${i}`, expr })) }] }));
    const r = runPromtool(['check', 'rules', file]);
    expect(r.status, r.output).toBe(0);
  });
});
