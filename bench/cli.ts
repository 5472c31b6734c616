/**
 * `npm run bench -- [flags]`: see USAGE. Starts what it measures (unless given an
 * endpoint), runs one workload or a suite, prints the results table and the
 * ratio table on stdout, and writes JSON / SVG when asked.
 */
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { CLIENT_KINDS, type ClientKind } from './client.js';
import { BASELINES, BenchEnv, type BaselineName, type EnvOptions } from './env.js';
import { plotSvg } from './plot.js';
import { StderrProgress } from './progress.js';
import { CAIRN, extrasText, ratios, ratioTable, resultsTable, type Ratio } from './report.js';
import type { RunResult } from './runner.js';
import { runCases, suite, SUITE_NAMES, WORKLOADS, type Case, type SuiteName } from './suite.js';
import { parseDuration, parsePositiveInt, parseSize, UsageError } from './units.js';
import type { WorkloadName } from './workloads/types.js';

export const USAGE = `Usage: npm run bench -- [flags]

What to run:
  --suite quick|targets|sse  a suite (quick: ~2 min, all baselines; targets: the issue's set, long;
                          sse: PUT/GET 64 MiB x4 and 4 KiB x64 with --sse s3, no other baselines)
  --workload W            put | get | mixed | list | multipart (default put)
  --size S                object size, 4KiB..1GiB (default 1MiB; LIST: size of each listed object, default 0)
  --concurrency N         operations in flight (default 8)
  --duration D            measured phase per run, e.g. 10s (default 10s; suites 5s)
  --count N               stop after N operations instead
  --objects N             objects written before GET/mixed, keys for LIST (default 10000)
  --part-size S           multipart part size (default 16MiB)
  --part-concurrency N    parts in flight per upload (default 4)
  --no-verify             do not check a sample of GET bodies
  --sse s3                PUTs ask for SSE-S3 (x-amz-server-side-encryption: AES256); the started Cairn
                          gets a generated CAIRN_KMS_SECRET_KEY. The same target written without SSE runs
                          right after as baseline 'plain', so the ratio column is SSE / plain
Baselines, measured in the same run and printed as ratios:
  --baselines LIST        comma list of noop,noop-node,raw,inproc,s3rver, or all, or none (default none;
                          suites all). noop-node: the no-op server driven by the node:http client (the
                          older load generator), so both clients' ceilings show in the same run
Where:
  --drives A,B,...        drive mount points for the Cairn the bench starts (a scratch dir is made
                          on each and removed after); default: temp dirs under ${os.tmpdir()}
  --drive-count N         number of temp drives (default 6)
  --parity N              EC parity of the started Cairn and the in-process pipeline (suites: 2, i.e. 4+2)
  --workers N[,M...]      cairn server --workers N; a list runs every case once per worker count, one
                          Cairn after the other (baselines with the first), and the ratio column is
                          each count against the first (e.g. --workers 1,2: scaling from 1 to 2 workers)
  --endpoint URL          benchmark any S3 endpoint instead (MinIO, RustFS, AWS...)
  --access-key K --secret-key S --region R   credentials for --endpoint (default region us-east-1)
  --bucket B              bucket to use on --endpoint (default: a new one, removed afterwards)
  --server-pid P          pid of the --endpoint server, to sample its RSS and CPU
  --server-node-arg A     node flag for the started Cairn, repeatable (e.g. --cpu-prof --cpu-prof-dir=/tmp/prof)
Load generator:
  --client raw|node       HTTP client for every HTTP target (default raw: net.Socket reading into one
                          reused buffer per connection; node: node:http keep-alive agent, the older ceiling).
                          https:// endpoints always use node
Output:
  --json FILE             full results as JSON
  --plot FILE.svg         throughput over time, 1 s buckets
  --quiet                 no progress on stderr
`;

export interface CliOptions {
  cases: Case[];
  env: Omit<EnvOptions, 'note'>;
  bucket?: string;
  json?: string;
  plot?: string;
  quiet: boolean;
  suite?: SuiteName;
  /** --workers N,M,...: the worker counts to run in turn (absent for a single count). */
  workerSweep?: number[];
}

export function parseCli(argv: string[]): CliOptions {
  const { values: v } = parseArgs({
    args: argv,
    strict: true,
    options: {
      suite: { type: 'string' },
      workload: { type: 'string' },
      size: { type: 'string' },
      concurrency: { type: 'string' },
      duration: { type: 'string' },
      count: { type: 'string' },
      objects: { type: 'string' },
      'part-size': { type: 'string' },
      'part-concurrency': { type: 'string' },
      'no-verify': { type: 'boolean' },
      sse: { type: 'string' },
      baselines: { type: 'string' },
      drives: { type: 'string', multiple: true },
      'drive-count': { type: 'string' },
      parity: { type: 'string' },
      workers: { type: 'string' },
      endpoint: { type: 'string' },
      'access-key': { type: 'string' },
      'secret-key': { type: 'string' },
      region: { type: 'string' },
      bucket: { type: 'string' },
      'server-pid': { type: 'string' },
      'server-node-arg': { type: 'string', multiple: true },
      client: { type: 'string' },
      json: { type: 'string' },
      plot: { type: 'string' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) throw new UsageError('');
  const int = (name: string, s: string | undefined) => (s === undefined ? undefined : parsePositiveInt(name, s));
  if (v.suite !== undefined && !(SUITE_NAMES as readonly string[]).includes(v.suite)) throw new UsageError(`--suite must be one of ${SUITE_NAMES.join(', ')}`);
  const suiteName = v.suite as SuiteName | undefined;
  const workload = (v.workload ?? 'put') as WorkloadName;
  if (!(workload in WORKLOADS)) throw new UsageError(`--workload must be one of ${Object.keys(WORKLOADS).join(', ')}`);

  let baselines: BaselineName[];
  if (v.sse !== undefined && v.sse !== 's3') throw new UsageError('--sse must be s3 (SSE-KMS and SSE-C are not benchmarked)');
  const sse = v.sse === 's3' || suiteName === 'sse';
  const b = v.baselines ?? (suiteName && suiteName !== 'sse' ? 'all' : 'none');
  if (b === 'all') baselines = [...BASELINES];
  else if (b === 'none' || b === '') baselines = [];
  else {
    baselines = b.split(',').map((s) => s.trim()) as BaselineName[];
    const bad = baselines.filter((x) => !(BASELINES as readonly string[]).includes(x));
    if (bad.length) throw new UsageError(`unknown baseline ${bad.join(', ')}: use ${BASELINES.join(', ')}, all or none`);
  }

  const shape = {
    partSize: v['part-size'] ? parseSize(v['part-size']) : 16 << 20,
    partConcurrency: int('part-concurrency', v['part-concurrency']) ?? 4,
    verify: !v['no-verify'],
  };
  if (shape.partSize < 5 << 20) throw new UsageError('--part-size must be at least 5MiB (S3 minimum for all but the last part)');
  const durationS = v.duration ? parseDuration(v.duration) : suiteName ? 5 : 10;
  const count = int('count', v.count);
  const objects = int('objects', v.objects);
  let cases: Case[];
  if (suiteName) {
    cases = suite(suiteName, durationS, shape);
  } else {
    const size = v.size ? parseSize(v.size) : workload === 'list' ? 0 : 1 << 20;
    if (size > 5 * 1024 ** 3) throw new UsageError('--size is at most 5GiB (the S3 single PUT limit)');
    cases = [{ workload, size, concurrency: int('concurrency', v.concurrency) ?? 8, durationS, ...shape, ...(count ? { count } : {}), ...(objects ? { objects } : {}) }];
  }

  let endpoint: EnvOptions['endpoint'];
  if (v.endpoint) {
    if (!v['access-key'] || !v['secret-key']) throw new UsageError('--endpoint needs --access-key and --secret-key');
    const pid = int('server-pid', v['server-pid']);
    endpoint = { url: v.endpoint, accessKey: v['access-key'], secretKey: v['secret-key'], region: v.region ?? 'us-east-1', name: new URL(v.endpoint).host, ...(pid ? { pid } : {}) };
  }
  const drives = v.drives?.flatMap((d) => d.split(',')).filter((d) => d !== '');
  const parity = v.parity !== undefined ? Number(v.parity) : suiteName ? 2 : undefined;
  if (parity !== undefined && (!Number.isInteger(parity) || parity < 0)) throw new UsageError('--parity must be an integer ≥ 0');
  const workerList = v.workers?.split(',').map((w) => parsePositiveInt('workers', w.trim()));
  if (workerList && new Set(workerList).size !== workerList.length) throw new UsageError('--workers: each count once');
  if (workerList && workerList.length > 1 && endpoint) throw new UsageError('--workers with several counts needs the Cairn the bench starts, not --endpoint');
  const workers = workerList?.[0];
  if (v.client !== undefined && !(CLIENT_KINDS as readonly string[]).includes(v.client)) throw new UsageError(`--client must be one of ${CLIENT_KINDS.join(', ')}`);
  return {
    cases,
    env: {
      ...(endpoint ? { endpoint } : {}),
      ...(drives?.length ? { drives } : {}),
      driveCount: int('drive-count', v['drive-count']) ?? 6,
      ...(parity !== undefined ? { parity } : {}),
      ...(workers ? { workers } : {}),
      ...(v['server-node-arg']?.length ? { serverNodeArgs: v['server-node-arg'] } : {}),
      baselines: new Set(baselines),
      ...(sse ? { sse: 's3' as const } : {}),
      ...(v.client !== undefined ? { client: v.client as ClientKind } : {}),
    },
    ...(v.bucket ? { bucket: v.bucket } : {}),
    ...(v.json ? { json: v.json } : {}),
    ...(v.plot ? { plot: v.plot } : {}),
    quiet: v.quiet === true,
    ...(suiteName ? { suite: suiteName } : {}),
    ...(workerList && workerList.length > 1 ? { workerSweep: workerList } : {}),
  };
}

export interface Report {
  version: 1;
  startedAt: string;
  command: string[];
  machine: { cpus: number; cpuModel: string; memBytes: number; node: string; os: string };
  primary: string;
  /** The load generator's HTTP client (--client). */
  client?: ClientKind;
  results: RunResult[];
  ratios: Ratio[];
  /** --workers N,M,...: the primary's headline figure per worker count, per case. */
  scaling?: WorkerScaling[];
}

export interface WorkerScaling {
  case: string;
  unit: string;
  values: Array<{ workers: number; value: number }>;
}

/** "PUT 64 MiB x4  MB/s: 1 worker 180, 2 workers 320 (1.78x)" — each count against the first. */
export function scalingText(rows: WorkerScaling[]): string {
  return rows
    .map((r) => {
      const first = r.values[0]!;
      const parts = r.values.map((v, i) => {
        const ratio = i > 0 && first.value > 0 ? ` (${(v.value / first.value).toFixed(2)}x)` : '';
        return `${v.workers} worker${v.workers === 1 ? '' : 's'} ${v.value >= 100 ? Math.round(v.value) : v.value.toPrecision(3)}${ratio}`;
      });
      return `${r.case}  ${r.unit}: ${parts.join(', ')}`;
    })
    .join('\n');
}

export function machine(): Report['machine'] {
  const cpus = os.cpus();
  return { cpus: cpus.length, cpuModel: cpus[0]?.model ?? 'unknown', memBytes: os.totalmem(), node: process.version, os: `${os.type()} ${os.release()} ${os.arch()}` };
}

export async function runBench(o: CliOptions, argv: string[]): Promise<Report> {
  if (o.workerSweep) return runWorkerSweep(o, o.workerSweep, argv);
  const progress = new StderrProgress(o.quiet);
  const startedAt = new Date().toISOString();
  const env = await BenchEnv.open({ ...o.env, note: (l) => progress.note(l) });
  // Ctrl-C: stop the servers and remove the scratch directories before leaving.
  const interrupt = () => {
    progress.note('interrupted: cleaning up');
    env.close().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  let results: RunResult[];
  try {
    results = await runCases(env, o.cases, progress, o.bucket);
  } finally {
    process.off('SIGINT', interrupt);
    progress.phase('stopping');
    await env.close();
    progress.end();
  }
  const primary = env.primary.name;
  return { version: 1, startedAt, command: argv, machine: machine(), primary, client: o.env.client ?? 'raw', results, ratios: ratios(results, primary) };
}

/**
 * --workers N,M,...: the cases against a Cairn with N workers (and the baselines), then against
 * a fresh Cairn with M workers, and so on. The primary's runs are named `cairn wN`; the ratio
 * table is `cairn wN` against everything else, and `scaling` gives each count's headline
 * figure, printed against the first count's (the scaling factor).
 */
async function runWorkerSweep(o: CliOptions, counts: number[], argv: string[]): Promise<Report> {
  const startedAt = new Date().toISOString();
  const results: RunResult[] = [];
  let primaryName = CAIRN;
  for (const [i, workers] of counts.entries()) {
    const baselines = i === 0 ? o.env.baselines : new Set<BaselineName>();
    const one = await runBench({ ...o, workerSweep: undefined, env: { ...o.env, workers, baselines } } as CliOptions, argv);
    primaryName = one.primary;
    for (const r of one.results) results.push(r.target === one.primary ? { ...r, target: `${one.primary} w${workers}` } : r);
  }
  const primary = `${primaryName} w${counts[0]!}`;
  const all = ratios(results, primary);
  // The ratio table reads "cairn w1 / X"; the scaling lines read the other way: each count / the first.
  const scaling: WorkerScaling[] = all.map((r) => ({
    case: r.case,
    unit: r.unit,
    values: counts.map((w, i) => ({ workers: w, value: i === 0 ? r.cairn : (r.baselines[`${primaryName} w${w}`]?.value ?? 0) })),
  }));
  return { version: 1, startedAt, command: argv, machine: machine(), primary, client: o.env.client ?? 'raw', results, ratios: all, scaling };
}

export function printReport(r: Report, out: NodeJS.WritableStream = process.stdout): void {
  const m = r.machine;
  out.write(`\nmachine: ${m.cpus} x ${m.cpuModel}, ${(m.memBytes / 2 ** 30).toFixed(0)} GiB, node ${m.node}, ${m.os}\n`);
  out.write(`load generator: ${r.client === 'node' ? 'node:http keep-alive agent (--client node)' : 'raw net.Socket client (--client raw)'}\n\n`);
  out.write(resultsTable(r.results) + '\n');
  const extras = extrasText(r.results);
  if (extras) out.write('\n' + extras + '\n');
  if (r.ratios.some((x) => Object.keys(x.baselines).length > 0)) out.write('\nratios (higher is better for ' + r.primary + '):\n' + ratioTable(r.ratios, r.primary) + '\n');
  if (r.scaling?.length) out.write('\nworker scaling (each count against the first):\n' + scalingText(r.scaling) + '\n');
  out.write(
    '\nMB/s = 10^6 bytes/s; latency in ms; RSS and CPU: the target process tree, sampled every 250 ms (CPU% of one core;\n' +
      'raw disk and in-process run inside the bench process, so theirs include the bench). bench CPU%: the load generator.\n',
  );
}

async function main(argv: string[]): Promise<void> {
  let o: CliOptions;
  try {
    o = parseCli(argv);
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      const msg = (err as Error).message;
      process.stderr.write((msg ? `bench: ${msg}\n\n` : '') + USAGE);
      process.exit(msg ? 2 : 0);
    }
    throw err;
  }
  const report = await runBench(o, argv);
  printReport(report);
  if (o.json) await writeFile(o.json, JSON.stringify(report, null, 2) + '\n');
  if (o.plot) await writeFile(o.plot, plotSvg(report.results));
  const errors = report.results.reduce((n, r) => n + (r.stats?.errors ?? 0), 0);
  if (errors > 0) process.exitCode = 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await main(process.argv.slice(2));
}

