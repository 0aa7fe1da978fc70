/**
 * Benchmark: what a snapshot of a process with many goroutines costs the process that takes
 * it (the agent's capture thread, or a one-shot CLI), and the server that receives it. The
 * target is testdata/pausebench with N goroutines parked at depth 10; each run is a fresh
 * Node process (support/big-snapshot-child.ts) so that its peak RSS is the snapshot's. Per
 * phase: time, and memory held after it (after a full collection); the figures to compare
 * are the ratios held / bytes read (aim: at most 2x) and the decode time (aim: 0.5 s at 100k).
 *
 * Usage: npx tsc -p . && node dist/bench/big-snapshot.js [--n 100000] [--runs 3]
 *        [--builtin-spec] [--ingest] (also store it in a fresh DuckDB store: the server's ingest)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BigSnapshotResult } from '../support/big-snapshot-child.js';
import { describeMachine, loadAverage, today } from '../support/machine.js';
import { startPauseTarget } from '../support/pause-target.js';
import { median } from '../support/stats.js';
import { formatTable } from '../support/table.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const N = Number(arg('--n') ?? 100_000);
const RUNS = Number(arg('--runs') ?? 3);
const SPEC = process.argv.includes('--builtin-spec');
const INGEST = process.argv.includes('--ingest');
/** The aims at 100k goroutines. */
const AIM_HELD = 2;
const AIM_DECODE_MS = 500;

const child = join(import.meta.dirname, '..', 'support', 'big-snapshot-child.js');
const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;
const ms = (x: number): string => `${x.toFixed(x >= 100 ? 0 : 1)} ms`;

function runChild(pid: number): BigSnapshotResult {
  const dir = INGEST ? mkdtempSync(join(tmpdir(), 'periscope-bigsnap-')) : undefined;
  try {
    const out = execFileSync(
      process.execPath,
      [child, String(pid), ...(SPEC ? ['--builtin-spec'] : []), ...(dir ? ['--ingest', dir] : [])],
      { encoding: 'utf8', maxBuffer: 1 << 20, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    return JSON.parse(out.trim().split('\n').pop() ?? '') as BigSnapshotResult;
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

const machine = describeMachine();
const loadBefore = loadAverage();
const target = await startPauseTarget(N);
const results: BigSnapshotResult[] = [];
try {
  runChild(target.pid); // the page cache and the target's first snapshot, not counted
  for (let i = 0; i < RUNS; i++) results.push(runChild(target.pid));
} finally {
  await target.stop();
}
const load = `${loadBefore} -> ${loadAverage()}`;
const med = (f: (r: BigSnapshotResult) => number): number => median(results.map(f));
const read = med((r) => r.bytesRead);
const heldSnap = med((r) => r.heldSnapshotBytes);
const decode = med((r) => r.decodeMs);
const rows: string[][] = [
  [`N = ${N}${SPEC ? ', built-in spec' : ''}, median of ${RUNS} fresh processes`, 'value'],
  ['goroutines', String(results[0]?.goroutines ?? 0)],
  ['bytes read from the target', mib(read)],
  ['pause', ms(med((r) => r.pauseMs))],
  ['held after the pause (the copy)', mib(med((r) => r.heldCopyBytes))],
  ['decode (resume to ProcessSnapshot)', ms(decode)],
  ['  CPU time (all threads; on a busy machine the steadier figure)', ms(med((r) => r.decodeCpuMs))],
  ['  its own decodeNs', ms(med((r) => r.decodeOwnMs))],
  ['held after decode (snapshot alive, copy dropped)', mib(heldSnap)],
  ['  held / bytes read', `${(heldSnap / read).toFixed(2)}x`],
  ['encode for the wire (JSON)', ms(med((r) => r.encodeMs))],
  ['  wire JSON', mib(med((r) => r.wireBytes))],
  ['  deflate (level 1)', `${ms(med((r) => r.deflateMs))}, ${mib(med((r) => r.deflatedBytes))}`],
  ['server: JSON.parse', ms(med((r) => r.parseMs))],
  ['server: expand the wire form', ms(med((r) => r.expandMs))],
  ['server: held by the expanded snapshot', mib(med((r) => r.heldServerBytes))],
  ...(INGEST ? [['server: store ingest (DuckDB)', ms(med((r) => r.ingestMs))]] : []),
  ['RSS after prepare (binary loaded)', mib(med((r) => r.preparedRssBytes))],
  ['peak RSS of the process (prepare to the deflated wire form)', mib(med((r) => r.peakRssBytes))],
  ['server: peak RSS (parse, expand, ingest; VmHWM reset before)', mib(med((r) => r.serverPeakRssBytes))],
  [`aim: held <= ${AIM_HELD}x bytes read`, heldSnap <= AIM_HELD * read ? 'met' : 'NOT met'],
  [`aim: decode <= ${AIM_DECODE_MS} ms`, decode <= AIM_DECODE_MS ? 'met' : 'NOT met'],
];
console.log(`big-snapshot: ${machine.short}; Node ${machine.node}, ${machine.go}; load ${load}; ${today()}`);
console.log(formatTable(rows));
console.log(
  `\nrow: | Snapshot of ${N} goroutines (pausebench${SPEC ? ', built-in spec' : ''}), median of ${RUNS} fresh processes: decode / held after decode / peak RSS | ${ms(decode)} / ${mib(heldSnap)} (${(heldSnap / read).toFixed(2)}x the ${mib(read)} read) / ${mib(med((r) => r.peakRssBytes))} | aims: ${AIM_DECODE_MS} ms / ${AIM_HELD}x | ${machine.short}; load ${load} | ${today()} |`,
);
