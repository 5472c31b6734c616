import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { loadConfig } from '../core/config.js';
import { expandDrivePattern } from '../storage/drive-pattern.js';

/**
 * The Kubernetes manifests under deploy/kubernetes, rendered with `kubectl kustomize` and
 * checked against what the server really does: the args must be a valid Cairn command line,
 * one PVC per drive it lists, probes and Services on the port it listens on, the health
 * paths it serves, TLS wiring consistent from Certificate to Secret to mount to probe scheme.
 * The base's raw files are checked without kubectl too, so a machine without it still
 * catches most mistakes.
 */

const ROOT = resolve(import.meta.dirname, '..');
const K8S = join(ROOT, 'deploy/kubernetes');
const BASE = join(K8S, 'base');
const ALERTS = join(ROOT, 'deploy/prometheus/alerts.yml');
const PROMETHEUS_RULE = join(BASE, 'prometheusrule.yaml');

/** Environment variables the server reads (core/config.ts, plus issue 7's planned ones). */
const KNOWN_ENV = new Set([
  'CAIRN_ADDRESS', 'CAIRN_VOLUMES', 'CAIRN_DOMAIN', 'CAIRN_REGION', 'CAIRN_LOG_LEVEL', 'CAIRN_WORKERS',
  'CAIRN_ROOT_USER', 'CAIRN_ROOT_PASSWORD', 'CAIRN_STORAGE_CLASS_STANDARD', 'CAIRN_STORAGE_CLASS_RRS',
  'CAIRN_MULTIPART_EXPIRY', 'CAIRN_METRICS_TOKEN', 'CAIRN_TLS_DIR', 'CAIRN_AUDIT_FILE',
  'CAIRN_AUDIT_WEBHOOK_ENDPOINT',
]);
const REQUIRED_ALERTS = ['CairnDriveOffline', 'CairnSetNearWriteQuorum', 'CairnCapacityHigh', 'CairnHigh5xxRate', 'CairnKmsUnreachable'];
const INGRESS_ANNOTATIONS: Record<string, string> = {
  'nginx.ingress.kubernetes.io/proxy-body-size': '0',
  'nginx.ingress.kubernetes.io/proxy-request-buffering': 'off',
  'nginx.ingress.kubernetes.io/proxy-buffering': 'off',
  'nginx.ingress.kubernetes.io/ssl-redirect': 'true',
};

// ---------------------------------------------------------------- loosely typed objects

type Obj = Record<string, any>;

function ofKind(objs: Obj[], kind: string): Obj[] {
  return objs.filter((o) => o.kind === kind);
}
function one(objs: Obj[], kind: string, name?: string): Obj {
  const found = ofKind(objs, kind).filter((o) => name === undefined || o.metadata?.name === name);
  expect(found, `exactly one ${kind}${name ? ` ${name}` : ''}`).toHaveLength(1);
  return found[0]!;
}
/** Every key of `selector` is in `labels` with the same value (and the selector is not empty). */
function selects(selector: Obj | undefined, labels: Obj | undefined): boolean {
  const entries = Object.entries(selector ?? {});
  return entries.length > 0 && entries.every(([k, v]) => labels?.[k] === v);
}
function parseDocs(text: string): Obj[] {
  return parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length > 0) throw new Error(`YAML error: ${d.errors[0]!.message}`);
      return d.toJS() as Obj | null;
    })
    .filter((o): o is Obj => o !== null && typeof o === 'object');
}

// ---------------------------------------------------------------- kubectl

interface Kubectl {
  path: string;
}

/** kubectl with a kustomize new enough for `labels`, `patches` with targets (v4.1+). */
function findKubectl(): Kubectl | string {
  const candidates = [process.env.KUBECTL, '/usr/bin/kubectl', '/usr/local/bin/kubectl'].filter((p): p is string => !!p);
  const path = candidates.find((p) => existsSync(p)) ?? (spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0 ? 'kubectl' : undefined);
  if (!path) return 'kubectl not found (set KUBECTL=/path/to/kubectl; Debian 12 has no kubectl recent enough)';
  const v = spawnSync(path, ['version', '--client'], { encoding: 'utf8' });
  const m = /Kustomize Version:\s*v(\d+)\.(\d+)/.exec(v.stdout ?? '');
  if (!m) return `cannot tell the kustomize version of ${path}: ${(v.stdout || v.stderr || '').trim()}`;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  if (major < 4 || (major === 4 && minor < 1)) return `${path} embeds kustomize v${major}.${minor}; these manifests need v4.1+`;
  return { path };
}

function kustomize(kubectl: Kubectl, dir: string): Obj[] {
  const out = execFileSync(kubectl.path, ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 16 << 20 });
  return parseDocs(out);
}

/** The base's resources as written, without kustomize (no labels or image transforms). */
function rawBase(): Obj[] {
  const k = parseYaml(readFileSync(join(BASE, 'kustomization.yaml'), 'utf8')) as Obj;
  return (k.resources as string[]).flatMap((f) => parseDocs(readFileSync(join(BASE, f), 'utf8')));
}

// ---------------------------------------------------------------- the PrometheusRule

/** The PrometheusRule is generated from deploy/prometheus/alerts.yml, never edited by hand. */
function prometheusRuleFromAlerts(): string {
  const alerts = parseYaml(readFileSync(ALERTS, 'utf8')) as Obj;
  const rule = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: 'cairn', labels: { 'app.kubernetes.io/name': 'cairn' } },
    spec: { groups: alerts.groups },
  };
  return (
    '# GENERATED from deploy/prometheus/alerts.yml: do not edit. Regenerate with\n' +
    '#   UPDATE_DEPLOY=1 npx vitest run tests/deploy-kubernetes.test.ts\n' +
    '# kube-prometheus-stack only loads rules whose labels match its ruleSelector (often\n' +
    '# release: <helm release>): add that label in an overlay.\n' +
    stringifyYaml(rule, { lineWidth: 0 })
  );
}

// ---------------------------------------------------------------- the checks

interface Expect {
  tls: boolean;
  namespace?: string;
}

/** Parse the container args the way `cairn server` does and validate them with the real config loader. */
function serverCommandLine(args: string[], env: Obj[]): { port: number; drives: string[] } {
  expect(args[0], 'first arg is the server command').toBe('server');
  let address: string | undefined;
  const positionals: string[] = [];
  for (let i = 1; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--address') address = args[++i];
    else if (a.startsWith('--address=')) address = a.slice('--address='.length);
    else if (a.startsWith('--')) throw new Error(`unexpected flag in container args: ${a}`);
    else positionals.push(a);
  }
  const literal: Record<string, string> = { CAIRN_ROOT_USER: 'checkuser', CAIRN_ROOT_PASSWORD: 'check-password' };
  for (const e of env) if (typeof e.value === 'string') literal[e.name] = e.value;
  const config = loadConfig({ address, drives: positionals }, literal, expandDrivePattern);
  return { port: config.address.port, drives: [...config.drives] };
}

function resolvePort(port: number | string, container: Obj): number {
  if (typeof port === 'number') return port;
  const p = (container.ports as Obj[]).find((x) => x.name === port);
  expect(p, `container port named ${port}`).toBeDefined();
  return p!.containerPort as number;
}

function checkServer(objs: Obj[], want: Expect): void {
  for (const kind of ['StatefulSet', 'Service', 'PodDisruptionBudget', 'ServiceMonitor', 'PrometheusRule']) {
    expect(ofKind(objs, kind).length, `${kind} present`).toBeGreaterThan(0);
  }
  const sts = one(objs, 'StatefulSet', 'cairn');
  const spec = sts.spec as Obj;
  const pod = spec.template.spec as Obj;
  const podLabels = spec.template.metadata.labels as Obj;
  expect(spec.podManagementPolicy).toBe('Parallel');
  // Single-node layout until multi-node erasure sets exist: more pods = unrelated servers.
  expect(spec.replicas).toBe(1);
  expect(selects(spec.selector.matchLabels, podLabels), 'StatefulSet selector matches its pods').toBe(true);
  // The server drains for up to 30 s after SIGTERM (cli.ts).
  expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(30);

  const c = (pod.containers as Obj[]).find((x) => x.name === 'cairn')!;
  expect(c).toBeDefined();
  const env = (c.env ?? []) as Obj[];
  for (const e of env) {
    if (e.name.startsWith('CAIRN_')) expect(KNOWN_ENV.has(e.name), `known server variable ${e.name}`).toBe(true);
  }
  const { port, drives } = serverCommandLine(c.args as string[], env);
  expect(drives.length).toBeGreaterThanOrEqual(4);

  // One PVC per drive, each mounted at exactly the path the server is given.
  const vcts = (spec.volumeClaimTemplates as Obj[]).map((v) => v.metadata.name as string);
  expect(vcts, 'one volumeClaimTemplate per drive').toHaveLength(drives.length);
  const mounts = c.volumeMounts as Obj[];
  for (const d of drives) {
    const m = mounts.filter((x) => x.mountPath === d);
    expect(m, `one mount at ${d}`).toHaveLength(1);
    expect(vcts, `${d} is a PVC`).toContain(m[0]!.name);
  }
  expect(new Set(mounts.filter((m) => vcts.includes(m.name)).map((m) => m.name)).size).toBe(vcts.length);
  for (const v of spec.volumeClaimTemplates as Obj[]) {
    expect(v.spec.accessModes).toEqual(['ReadWriteOnce']);
    expect(v.spec.resources.requests.storage).toMatch(/^\d+(Gi|Ti)$/);
  }

  // Ports and probes on the port the server listens on, at the paths it serves.
  expect(resolvePort('s3', c)).toBe(port);
  const tlsDir = env.find((e) => e.name === 'CAIRN_TLS_DIR')?.value as string | undefined;
  expect(tlsDir !== undefined, 'CAIRN_TLS_DIR set').toBe(want.tls);
  const probes: [string, string][] = [['livenessProbe', '/health/live'], ['startupProbe', '/health/live'], ['readinessProbe', '/health/ready']];
  for (const [name, path] of probes) {
    const h = c[name]?.httpGet as Obj | undefined;
    expect(h, `${name}.httpGet`).toBeDefined();
    expect(h!.path, `${name} path`).toBe(path);
    expect(resolvePort(h!.port, c), `${name} port`).toBe(port);
    expect(h!.scheme ?? 'HTTP', `${name} scheme`).toBe(want.tls ? 'HTTPS' : 'HTTP');
  }

  // Non-root, no capabilities, read-only root with a writable /tmp.
  expect(pod.securityContext.runAsNonRoot).toBe(true);
  expect(pod.securityContext.runAsUser, 'pod runAsUser').toBe(1000);
  expect(pod.securityContext.fsGroup).toBe(1000);
  expect(pod.securityContext.seccompProfile?.type).toBe('RuntimeDefault');
  const sc = c.securityContext as Obj;
  expect(sc.readOnlyRootFilesystem).toBe(true);
  expect(sc.allowPrivilegeEscalation).toBe(false);
  expect(sc.capabilities.drop).toContain('ALL');
  expect(sc.capabilities.add ?? []).toEqual([]);
  expect(sc.runAsUser ?? pod.securityContext.runAsUser).not.toBe(0);
  expect(mounts.some((m) => m.mountPath === '/tmp'), 'writable /tmp').toBe(true);

  // Credentials only from the Secret, with keys the documented example has.
  const example = parseYaml(readFileSync(join(BASE, 'secret.example.yaml'), 'utf8')) as Obj;
  for (const name of ['CAIRN_ROOT_USER', 'CAIRN_ROOT_PASSWORD', 'CAIRN_METRICS_TOKEN']) {
    const e = env.find((x) => x.name === name);
    expect(e?.value, `${name} has no literal value`).toBeUndefined();
    const ref = e?.valueFrom?.secretKeyRef as Obj | undefined;
    expect(ref?.name, `${name} from a Secret`).toBe(example.metadata.name);
    expect(Object.keys(example.stringData), `${name} key in secret.example.yaml`).toContain(ref!.key);
  }

  // Scheduling: never two pods on one node, spread over zones.
  const anti = pod.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution as Obj[];
  expect(anti.some((t) => t.topologyKey === 'kubernetes.io/hostname' && selects(t.labelSelector.matchLabels, podLabels))).toBe(true);
  const spread = pod.topologySpreadConstraints as Obj[];
  expect(spread.some((t) => t.topologyKey === 'topology.kubernetes.io/zone' && selects(t.labelSelector.matchLabels, podLabels))).toBe(true);

  // Services: the headless one the StatefulSet names, and the S3 one; both reach the server port.
  const services = ofKind(objs, 'Service');
  const headless = one(objs, 'Service', spec.serviceName);
  expect(headless.spec.clusterIP).toBe('None');
  const s3 = one(objs, 'Service', 'cairn');
  expect(s3.spec.clusterIP).not.toBe('None');
  for (const svc of services) {
    expect(selects(svc.spec.selector, podLabels), `Service ${svc.metadata.name} selects the pods`).toBe(true);
    for (const p of svc.spec.ports as Obj[]) {
      expect(p.port, `Service ${svc.metadata.name} port`).toBe(port);
      expect(resolvePort(p.targetPort ?? p.port, c), `Service ${svc.metadata.name} targetPort`).toBe(port);
    }
  }

  const pdb = one(objs, 'PodDisruptionBudget', 'cairn');
  expect(selects(pdb.spec.selector.matchLabels, podLabels), 'PDB selects the pods').toBe(true);
  expect(pdb.spec.maxUnavailable ?? pdb.spec.minAvailable).toBeDefined();

  // ServiceMonitor: selects the S3 Service only (not the headless one: no double scrape).
  const sm = one(objs, 'ServiceMonitor', 'cairn');
  expect(sm.apiVersion).toBe('monitoring.coreos.com/v1');
  const selected = services.filter((s) => selects(sm.spec.selector.matchLabels, s.metadata.labels));
  expect(selected.map((s) => s.metadata.name)).toEqual(['cairn']);
  const endpoints = sm.spec.endpoints as Obj[];
  expect(endpoints).toHaveLength(1);
  const ep = endpoints[0]!;
  expect(ep.path).toBe('/metrics');
  expect((s3.spec.ports as Obj[]).map((p) => p.name)).toContain(ep.port);
  expect(ep.scheme).toBe(want.tls ? 'https' : 'http');
  const tokenRef = env.find((e) => e.name === 'CAIRN_METRICS_TOKEN')!.valueFrom.secretKeyRef as Obj;
  expect(ep.bearerTokenSecret).toMatchObject({ name: tokenRef.name, key: tokenRef.key });

  // PrometheusRule: the alert rules of deploy/prometheus/alerts.yml, unchanged.
  const pr = one(objs, 'PrometheusRule', 'cairn');
  const alerts = parseYaml(readFileSync(ALERTS, 'utf8')) as Obj;
  expect(pr.spec.groups).toEqual(alerts.groups);
  const names = (pr.spec.groups as Obj[]).flatMap((g) => (g.rules as Obj[]).map((r) => r.alert as string));
  for (const a of REQUIRED_ALERTS) expect(names).toContain(a);

  if (want.namespace) {
    for (const o of objs) {
      if (['Namespace', 'StorageClass'].includes(o.kind)) continue;
      expect(o.metadata.namespace, `${o.kind} ${o.metadata.name} namespace`).toBe(want.namespace);
    }
  }
}

function parseQuantityGi(q: string): number {
  const m = /^(\d+)(Gi|Ti)$/.exec(q);
  if (!m) throw new Error(`unexpected quantity ${q}`);
  return Number(m[1]) * (m[2] === 'Ti' ? 1024 : 1);
}

interface EksExpect {
  storageClass: string;
  provisioner: string;
  ebsType?: string;
  minGi?: number;
}

function checkEks(objs: Obj[], want: EksExpect): void {
  checkServer(objs, { tls: true, namespace: 'cairn' });
  const ns = one(objs, 'Namespace', 'cairn');
  expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');

  const sts = one(objs, 'StatefulSet', 'cairn');
  const c = (sts.spec.template.spec.containers as Obj[]).find((x) => x.name === 'cairn')!;
  expect(c.image, 'image from a registry, not the bare base name').toMatch(/^[^/]+\.[^/]+\/.+:.+$/);

  // Every drive on the chosen class; the class binds where the pod is scheduled and keeps data.
  for (const v of sts.spec.volumeClaimTemplates as Obj[]) {
    expect(v.spec.storageClassName, `${v.metadata.name} storage class`).toBe(want.storageClass);
    if (want.minGi) expect(parseQuantityGi(v.spec.resources.requests.storage)).toBeGreaterThanOrEqual(want.minGi);
  }
  const sc = one(objs, 'StorageClass', want.storageClass);
  expect(sc.provisioner).toBe(want.provisioner);
  expect(sc.volumeBindingMode).toBe('WaitForFirstConsumer');
  expect(sc.reclaimPolicy).toBe('Retain');
  if (want.ebsType) {
    expect(sc.parameters.type).toBe(want.ebsType);
    expect(sc.parameters.encrypted).toBe('true');
  }

  // TLS: Certificate → Secret → volume mounted at CAIRN_TLS_DIR → same Secret on the ingress.
  const cert = one(objs, 'Certificate', 'cairn');
  expect(cert.apiVersion).toBe('cert-manager.io/v1');
  const secretName = cert.spec.secretName as string;
  const env = c.env as Obj[];
  const tlsDir = env.find((e) => e.name === 'CAIRN_TLS_DIR')!.value as string;
  const mount = (c.volumeMounts as Obj[]).find((m) => m.mountPath === tlsDir);
  expect(mount, `a volume mounted at CAIRN_TLS_DIR ${tlsDir}`).toBeDefined();
  expect(mount!.subPath, 'no subPath (renewals must reach the pod)').toBeUndefined();
  const vol = (sts.spec.template.spec.volumes as Obj[]).find((v) => v.name === mount!.name);
  expect(vol?.secret?.secretName).toBe(secretName);

  const ing = one(objs, 'Ingress', 'cairn');
  const ann = ing.metadata.annotations as Obj;
  for (const [k, v] of Object.entries(INGRESS_ANNOTATIONS)) expect(ann[k], k).toBe(v);
  for (const k of ['proxy-read-timeout', 'proxy-send-timeout']) {
    expect(Number(ann[`nginx.ingress.kubernetes.io/${k}`]), k).toBeGreaterThanOrEqual(600);
  }
  expect(ann['nginx.ingress.kubernetes.io/backend-protocol']).toBe('HTTPS');
  expect(ing.spec.ingressClassName).toBe('nginx');
  const tlsHosts = (ing.spec.tls as Obj[]).flatMap((t) => {
    expect(t.secretName).toBe(secretName);
    return t.hosts as string[];
  });
  const s3 = one(objs, 'Service', 'cairn');
  const rules = ing.spec.rules as Obj[];
  for (const r of rules) {
    expect(tlsHosts, `${r.host} has TLS`).toContain(r.host);
    expect(cert.spec.dnsNames, `${r.host} in the certificate`).toContain(r.host);
    for (const p of r.http.paths as Obj[]) {
      expect(p.backend.service.name).toBe(s3.metadata.name);
      const port = p.backend.service.port;
      expect((s3.spec.ports as Obj[]).some((sp) => sp.name === port.name || sp.port === port.number)).toBe(true);
    }
  }
  // Virtual-host style: the ingress answers for the domain and its wildcard.
  const domain = env.find((e) => e.name === 'CAIRN_DOMAIN')?.value as string;
  expect(rules.map((r) => r.host)).toEqual(expect.arrayContaining([domain, `*.${domain}`]));
  // In-cluster clients and Prometheus reach the pod by its Service name.
  expect(cert.spec.dnsNames).toContain(`cairn.cairn.svc`);
  const sm = one(objs, 'ServiceMonitor', 'cairn');
  expect(cert.spec.dnsNames).toContain(sm.spec.endpoints[0].tlsConfig.serverName);
  expect(sm.spec.endpoints[0].tlsConfig.ca.secret.name).toBe(secretName);
}

// ---------------------------------------------------------------- tests

const kubectl = findKubectl();
const renderIt = typeof kubectl === 'string' ? it.skip : it;
const skipNote = typeof kubectl === 'string' ? ` (skipped: ${kubectl})` : '';
if (typeof kubectl === 'string') console.warn(`deploy-kubernetes: rendering tests skipped: ${kubectl}`);

describe('deploy/kubernetes', () => {
  it('PrometheusRule is generated from deploy/prometheus/alerts.yml', () => {
    const want = prometheusRuleFromAlerts();
    if (process.env.UPDATE_DEPLOY === '1') writeFileSync(PROMETHEUS_RULE, want);
    expect(readFileSync(PROMETHEUS_RULE, 'utf8'), 'stale: UPDATE_DEPLOY=1 npx vitest run tests/deploy-kubernetes.test.ts').toBe(want);
  });

  it('base files, as written, describe a valid single-node server', () => {
    checkServer(rawBase(), { tls: false });
  });

  renderIt(`kubectl kustomize base${skipNote}`, () => {
    const objs = kustomize(kubectl as Kubectl, BASE);
    checkServer(objs, { tls: false });
    for (const o of objs) expect(o.metadata.labels?.['app.kubernetes.io/part-of'], `${o.kind} label`).toBe('cairn');
  });

  renderIt(`kubectl kustomize overlays/eks (EBS gp3, TLS, ingress)${skipNote}`, () => {
    const gp3: EksExpect = { storageClass: 'cairn-gp3', provisioner: 'ebs.csi.aws.com', ebsType: 'gp3' };
    const objs = kustomize(kubectl as Kubectl, join(K8S, 'overlays/eks'));
    checkEks(objs, gp3);
    // And the EKS checks can fail, each for its reason.
    const broken: [string, (o: Obj[]) => void, RegExp][] = [
      ['buffering ingress', (o) => { one(o, 'Ingress').metadata.annotations['nginx.ingress.kubernetes.io/proxy-request-buffering'] = 'on'; }, /proxy-request-buffering/],
      ['certificate into another Secret', (o) => { one(o, 'Certificate').spec.secretName = 'other-tls'; }, /expected 'cairn-tls' to be 'other-tls'|expected 'other-tls'/],
      ['plain-HTTP readiness probe with TLS on', (o) => { one(o, 'StatefulSet').spec.template.spec.containers[0].readinessProbe.httpGet.scheme = 'HTTP'; }, /readinessProbe scheme/],
      ['a drive on another class', (o) => { one(o, 'StatefulSet').spec.volumeClaimTemplates[2].spec.storageClassName = 'gp2'; }, /data3 storage class/],
    ];
    for (const [what, mutate, reason] of broken) {
      const copy = structuredClone(objs);
      mutate(copy);
      expect(() => checkEks(copy, gp3), what).toThrow(reason);
    }
  });

  renderIt(`kubectl kustomize overlays/eks-st1${skipNote}`, () => {
    // st1 volumes cannot be smaller than 125 GiB.
    checkEks(kustomize(kubectl as Kubectl, join(K8S, 'overlays/eks-st1')), {
      storageClass: 'cairn-st1', provisioner: 'ebs.csi.aws.com', ebsType: 'st1', minGi: 125,
    });
  });

  renderIt(`kubectl kustomize overlays/eks-nvme (instance store)${skipNote}`, () => {
    checkEks(kustomize(kubectl as Kubectl, join(K8S, 'overlays/eks-nvme')), {
      storageClass: 'local-storage', provisioner: 'kubernetes.io/no-provisioner',
    });
  });

  // The checks must be able to fail: manifests that break one thing each are rejected, for
  // the reason that was broken.
  const broken: [string, Obj[], RegExp][] = [
    ['a drive without its PVC', [{ op: 'remove', path: '/spec/volumeClaimTemplates/3' }], /one volumeClaimTemplate per drive/],
    ['a readiness probe on a path the server does not serve',
      [{ op: 'replace', path: '/spec/template/spec/containers/0/readinessProbe/httpGet/path', value: '/healthz' }], /readinessProbe path/],
    ['a liveness probe on another port',
      [{ op: 'replace', path: '/spec/template/spec/containers/0/livenessProbe/httpGet/port', value: 9001 }], /livenessProbe port/],
    ['a container running as root', [{ op: 'replace', path: '/spec/template/spec/securityContext/runAsUser', value: 0 }], /pod runAsUser/],
    ['a literal root password',
      [{ op: 'replace', path: '/spec/template/spec/containers/0/env/1', value: { name: 'CAIRN_ROOT_PASSWORD', value: 'hunter2hunter2' } }], /CAIRN_ROOT_PASSWORD has no literal value/],
    ['OrderedReady pod management', [{ op: 'replace', path: '/spec/podManagementPolicy', value: 'OrderedReady' }], /Parallel/],
  ];
  for (const [what, ops, reason] of broken) {
    it(`rejects ${what}`, () => {
      const objs = structuredClone(rawBase());
      const sts = objs.find((o) => o.kind === 'StatefulSet')!;
      for (const op of ops) applyJsonPatch(sts, op);
      expect(() => checkServer(objs, { tls: false })).toThrow(reason);
    });
  }
});

/** The two JSON-patch (RFC 6902) operations the negative cases use. */
function applyJsonPatch(doc: Obj, op: Obj): void {
  const parts = (op.path as string).split('/').slice(1);
  const last = parts.pop()!;
  const parent = parts.reduce<Obj>((o, k) => o[k] as Obj, doc);
  if (op.op === 'remove') {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  } else if (op.op === 'replace') {
    parent[last] = op.value;
  } else {
    throw new Error(`unsupported op ${op.op}`);
  }
}
