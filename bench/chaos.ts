/**
 * `npm run chaos`: the crash-consistency chaos harness (issue 5, item 4).
 * Kills Cairn with SIGKILL at random moments under concurrent PUT / multipart /
 * overwrite / delete load, optionally removing or corrupting up to m drives,
 * and checks after every restart that nothing acknowledged was lost and
 * nothing unacknowledged is visible half-written. Exit code 1 on any loss.
 */
import { parseArgs } from 'node:util';
import { runChaos, type ChaosOptions, type ChaosResult } from './chaos/run.js';

const MiB = 1024 * 1024;

export function parseChaosArgs(argv: string[]): ChaosOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      cycles: { type: 'string', default: '20' },
      writers: { type: 'string', default: '64' },
      'max-size': { type: 'string', default: String(64 * MiB) },
      drives: { type: 'string', default: '4' },
      mode: { type: 'string', default: 'both' },
      seed: { type: 'string', default: String(Date.now() % 1_000_000) },
      'duration-per-cycle': { type: 'string', default: '15' },
      workers: { type: 'string', default: '2' },
      keys: { type: 'string' },
      'keep-drives': { type: 'boolean', default: false },
      'skip-heal': { type: 'boolean', default: false },
    },
  });
  const mode = values.mode;
  if (mode !== 'kill' && mode !== 'drives' && mode !== 'both') throw new Error(`--mode must be kill, drives or both, not ${mode}`);
  return {
    cycles: Number(values.cycles),
    writers: Number(values.writers),
    maxSize: parseSize(values['max-size']),
    drives: Number(values.drives),
    mode,
    seed: Number(values.seed),
    durationPerCycleMs: Number(values['duration-per-cycle']) * 1000,
    workers: Number(values.workers),
    ...(values.keys ? { keys: Number(values.keys) } : {}),
    keepDrives: values['keep-drives'],
    heal: !values['skip-heal'],
  };
}

/** "64MiB", "4MiB", "512KiB" or bytes. */
function parseSize(s: string): number {
  const m = /^(\d+)\s*(KiB|MiB|GiB)?$/i.exec(s.trim());
  if (!m) throw new Error(`bad size ${s}`);
  const unit = { kib: 1024, mib: MiB, gib: 1024 * MiB }[(m[2] ?? '').toLowerCase() as 'kib'] ?? 1;
  return Number(m[1]) * unit;
}

export function formatChaosResult(o: ChaosOptions, r: ChaosResult): string {
  return [
    `chaos: mode ${o.mode}, ${o.cycles} cycles × ${o.durationPerCycleMs / 1000} s, ${o.writers} writers, sizes 0 B–${(o.maxSize / MiB).toFixed(1)} MiB, ` +
      `${o.drives} drives (EC:${Math.floor(o.drives / 2)}), ${o.workers} server workers, seed ${o.seed}`,
    `objects written (acknowledged): ${r.objectsWritten} (${r.multipartAcked} multipart), deletes acknowledged: ${r.deletesAcked}`,
    `writes with unknown outcome (in flight at a kill or answered with an error): ${r.unknownOutcome}`,
    `kills: ${r.kills}`,
    `drives failed: ${r.drivesFailed} (shard files corrupted: ${r.shardsCorrupted})`,
    `keys verified: ${r.keysVerified}, bytes verified: ${r.bytesVerified} (${(r.bytesVerified / 1e9).toFixed(2)} GB)`,
    `objects lost: ${r.objectsLost}`,
    `verification GETs answered 503 and retried: ${r.unavailableRetries}`,
    `listing mismatches: ${r.listingViolations.length}`,
    `tmp leftovers after restart: ${r.tmpLeftovers.length}`,
    ...healLines(r),
    `wall time: ${r.seconds.toFixed(0)} s`,
    ...r.violations.slice(0, 20).map((v) => `  LOST ${v}`),
    ...r.listingViolations.slice(0, 20).map((v) => `  LISTING ${v}`),
    ...r.tmpLeftovers.slice(0, 20).map((v) => `  TMP ${v}`),
  ].join('\n');
}

/** `time to heal: ...` and the per-drive record check after it. */
function healLines(r: ChaosResult): string[] {
  if (!r.heal) return ['time to heal: skipped (--skip-heal)'];
  const lines = [
    r.heal.ok
      ? `time to heal: ${r.heal.seconds.toFixed(1)} s (objects healed ${r.heal.objectsHealed}, bytes ${r.heal.bytesHealed}; ` +
        `deep sweep checked ${r.heal.sweepObjectsScanned} objects, repaired ${r.heal.sweepObjectsHealed})`
      : `time to heal: n/a (${r.heal.error})`,
  ];
  if (r.records) {
    const missing = r.records.reduce((n, d) => n + d.missingCount, 0);
    lines.push(
      `records per drive after healing: ${r.records.map((d) => `${d.drive.split('/').pop()} ${d.records}`).join(', ')}; ` +
        `surviving objects missing a record: ${missing}; stale records: ${r.records.reduce((n, d) => n + d.stale, 0)}`,
    );
    for (const d of r.records) for (const k of d.missing) lines.push(`  NO RECORD ${d.drive}: ${k}`);
  }
  return lines;
}

/** A heal that failed, or left a surviving object without a record on some drive. */
export function healFailed(r: ChaosResult): boolean {
  if (!r.heal) return false;
  return !r.heal.ok || (r.records ?? []).some((d) => d.missingCount > 0);
}

async function main(): Promise<void> {
  const o = parseChaosArgs(process.argv.slice(2));
  const r = await runChaos({ ...o, log: (l) => console.error(l) });
  console.log(formatChaosResult(o, r));
  if (r.objectsLost > 0 || r.listingViolations.length > 0 || r.tmpLeftovers.length > 0 || healFailed(r)) process.exitCode = 1;
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) await main();
