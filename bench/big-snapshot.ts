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
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
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

/** dist/ of this checkout, and of the one to compare with (--baseline DIR: a built checkout). */
const DIST = join(import.meta.dirname, '..');
const BASELINE = arg('--baseline');
/**
 * The child script in a dist/ (copied into a baseline's, which may predate it: it uses only
 * APIs older checkouts have).
 */
function childIn(dist: string): string {
  const path = join(dist, 'support', 'big-snapshot-child.js');
  if (dist !== DIST) copyFileSync(join(DIST, 'support', 'big-snapshot-child.js'), path);
  return path;
}
const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;
const ms = (x: number): string => `${x.toFixed(x >= 100 ? 0 : 1)} ms`;

function runChild(pid: number, root = DIST): BigSnapshotResult {
  const dir = INGEST ? mkdtempSync(join(tmpdir(), 'periscope-bigsnap-')) : undefined;
  try {
    const out = execFileSync(
      process.execPath,
      [
        '--expose-gc',
        childIn(root),
        String(pid),
        ...(SPEC ? ['--builtin-spec'] : []),
        ...(dir ? ['--ingest', dir] : []),
      ],
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
const ours: BigSnapshotResult[] = [];
const base: BigSnapshotResult[] = [];
try {
  runChild(target.pid); // the page cache and the target's first snapshot, not counted
  for (let i = 0; i < RUNS; i++) {
    // Interleaved, alternating which goes first: the machine's load moves during a run.
    const both = [() => ours.push(runChild(target.pid)), () => base.push(runChild(target.pid, BASELINE))];
    if (!BASELINE) both.pop();
    if (i % 2 === 1) both.reverse();
    for (const run of both) run();
  }
} finally {
  await target.stop();
}
const load = `${loadBefore} -> ${loadAverage()}`;

type Pick = (r: BigSnapshotResult) => number;
const med = (rs: BigSnapshotResult[], f: Pick): number => median(rs.map(f));
const col = (f: Pick, fmt: (x: number) => string): string[] =>
  BASELINE ? [fmt(med(ours, f)), fmt(med(base, f))] : [fmt(med(ours, f))];
const x = (r: BigSnapshotResult, f: Pick): number => f(r) / r.bytesRead;
const rows: string[][] = [
  [
    `N = ${N}${SPEC ? ', built-in spec' : ''}, median of ${RUNS} fresh processes each`,
    'this checkout',
    ...(BASELINE ? [`baseline ${BASELINE}`] : []),
  ],
  ['goroutines', ...col((r) => r.goroutines, String)],
  ['bytes read from the target', ...col((r) => r.bytesRead, mib)],
  ['pause', ...col((r) => r.pauseMs, ms)],
  ['held after the pause (the copy)', ...col((r) => r.heldCopyBytes, mib)],
  ['decode (resume to ProcessSnapshot), wall', ...col((r) => r.decodeMs, ms)],
  ['  CPU time (all threads: the collector too)', ...col((r) => r.decodeCpuMs, ms)],
  ['held after decode (snapshot alive, copy dropped)', ...col((r) => r.heldSnapshotBytes, mib)],
  [
    '  held / bytes read',
    ...col(
      (r) => x(r, (q) => q.heldSnapshotBytes),
      (v) => `${v.toFixed(2)}x`,
    ),
  ],
  ['encode for the wire (JSON)', ...col((r) => r.encodeMs, ms)],
  ['  wire JSON', ...col((r) => r.wireBytes, mib)],
  ['  deflate (level 1)', ...col((r) => r.deflateMs, ms)],
  ['  deflated', ...col((r) => r.deflatedBytes, mib)],
  ['server: JSON.parse', ...col((r) => r.parseMs, ms)],
  ['server: expand the wire form', ...col((r) => r.expandMs, ms)],
  ['server: held by the expanded snapshot', ...col((r) => r.heldServerBytes, mib)],
  ...(INGEST ? [['server: store ingest (DuckDB)', ...col((r) => r.ingestMs, ms)]] : []),
  ['RSS after prepare and warm-up', ...col((r) => r.preparedRssBytes, mib)],
  ['peak RSS (prepare to the deflated wire form)', ...col((r) => r.peakRssBytes, mib)],
  ['server: peak RSS (parse, expand, ingest; VmHWM reset)', ...col((r) => r.serverPeakRssBytes, mib)],
];
const heldX = med(ours, (r) => x(r, (q) => q.heldSnapshotBytes));
const decode = med(ours, (r) => r.decodeMs);
rows.push(
  [`aim: held <= ${AIM_HELD}x bytes read`, heldX <= AIM_HELD ? 'met' : 'NOT met'],
  [`aim: decode <= ${AIM_DECODE_MS} ms`, decode <= AIM_DECODE_MS ? 'met' : 'NOT met'],
);
console.log(`big-snapshot: ${machine.short}; Node ${machine.node}, ${machine.go}; load ${load}; ${today()}`);
console.log(formatTable(rows));
