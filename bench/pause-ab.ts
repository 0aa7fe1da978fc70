/**
 * Interleaved A/B runs of three choices made for the pause, each against itself switched off,
 * in one process on one target, so that the machine's noise hits both sides alike (comparing
 * two separate runs on this VM is not meaningful: they vary by ±30%):
 *
 *   gc      collecting our own garbage right before the pause (pauseAndCopy's `collect`) or
 *           not, with each snapshot decoded between pauses, as an agent does (10k goroutines);
 *   fifo    SCHED_FIFO from the last stop to the last detach (PauseOptions.realtime) or not,
 *           while two busy loops compete for both CPUs (1k goroutines);
 *   warmup  the first snapshot of a fresh Node process with the warm-up
 *           (SnapshotOptions.warmUp) or without (1k and 10k goroutines).
 *
 * The target is testdata/pausebench; the figure is the longest gap its ticker thread saw (gc),
 * our part of the pause from the last stop to the last detach (fifo), or Periscope's own pause
 * (warmup: a process's start is not part of the gap).
 *
 * Usage: npx tsc -p . && node dist/bench/pause-ab.js [--only gc|fifo|warmup] [--rounds K]
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { pauseAndCopy } from '../src/snapshot/paused-capture.js';
import { finishSnapshot, prepareProcess } from '../src/snapshot/take-snapshot.js';
import { describeMachine, loadAverage, today } from '../support/machine.js';
import { type PauseTarget, startPauseTarget } from '../support/pause-target.js';
import { median, ratio } from '../support/stats.js';
import { formatTable } from '../support/table.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const run = promisify(execFile);
const ONLY = arg('--only');
const ROUNDS = Number(arg('--rounds') ?? 15);
const fmtMs = (ms: number): string => `${ms >= 10 ? ms.toFixed(1) : ms.toFixed(2)} ms`;
const p90 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(0.9 * (xs.length - 1))]!;

interface Row {
  experiment: string;
  figure: string;
  on: number[];
  off: number[];
}
const rows: Row[] = [];

/** Runs `sample(on)` ROUNDS times per side, alternating which side goes first. */
async function ab(sample: (on: boolean) => Promise<number>): Promise<{ on: number[]; off: number[] }> {
  const on: number[] = [];
  const off: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const side of r % 2 === 0 ? [true, false] : [false, true])
      (side ? on : off).push(await sample(side));
  }
  return { on, off };
}

/** The ticker's longest gap (ms) over `act`. */
async function gapOver(target: PauseTarget, act: () => void): Promise<number> {
  await target.gap();
  act();
  return (await target.gap()).maxNs / 1e6;
}

async function gcExperiment(): Promise<void> {
  const target = await startPauseTarget(10_000, -10);
  try {
    const plan = prepareProcess(target.pid);
    finishSnapshot(pauseAndCopy(target.pid, plan)); // warm
    const r = await ab((on) =>
      gapOver(target, () => {
        const copied = pauseAndCopy(target.pid, plan, {}, { collect: on });
        finishSnapshot(copied); // an agent's garbage: the decoded snapshot
      }),
    );
    rows.push({ experiment: 'gc before the pause (10k)', figure: 'ticker gap', ...r });
  } finally {
    await target.stop();
  }
}

async function fifoExperiment(): Promise<void> {
  const target = await startPauseTarget(1000, 0);
  const busy: ChildProcess[] = [];
  try {
    const plan = prepareProcess(target.pid);
    pauseAndCopy(target.pid, plan); // warm
    for (let i = 0; i < 2; i++)
      busy.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
    await new Promise((r) => setTimeout(r, 200));
    // Our own part of the pause, from the last thread stopped to the last detached (where
    // SCHED_FIFO applies): the ticker's gap here is mostly the busy loops taking its CPU.
    const r = await ab(async (on) => {
      const { at } = pauseAndCopy(target.pid, plan, { pause: { realtime: on } });
      return at.resumed - at.stopped;
    });
    rows.push({ experiment: 'SCHED_FIFO in the pause, two busy loops (1k)', figure: 'copy + detach', ...r });
  } finally {
    for (const b of busy) b.kill('SIGKILL');
    await target.stop();
  }
}

const FIRST_SNAPSHOT = new URL('../support/first-snapshot.js', import.meta.url).pathname;

/** The pause (ms) of the first snapshot taken by a fresh Node process. */
async function firstSnapshot(pid: number, warmUp: boolean): Promise<number> {
  const { stdout } = await run(process.execPath, [FIRST_SNAPSHOT, String(pid), warmUp ? 'on' : 'off']);
  return (JSON.parse(stdout) as { pauseMs: number }).pauseMs;
}

async function warmUpExperiment(): Promise<void> {
  for (const n of [1000, 10_000]) {
    const target = await startPauseTarget(n, -10);
    try {
      const r = await ab((on) => firstSnapshot(target.pid, on));
      rows.push({
        experiment: `warm-up before a process's first pause (${n / 1000}k)`,
        figure: 'pause',
        ...r,
      });
    } finally {
      await target.stop();
    }
  }
}

async function main(): Promise<void> {
  const m = describeMachine();
  console.log(`pause-ab: ${m.short}; load ${loadAverage()}; ${ROUNDS} rounds per side; ${today()}\n`);
  if (!ONLY || ONLY === 'gc') await gcExperiment();
  if (!ONLY || ONLY === 'fifo') await fifoExperiment();
  if (!ONLY || ONLY === 'warmup') await warmUpExperiment();
  console.log(
    formatTable([
      ['choice', 'figure', 'on: median', 'p90', 'off: median', 'p90', 'off / on'],
      ...rows.map((r) => [
        r.experiment,
        r.figure,
        fmtMs(median(r.on)),
        fmtMs(p90(r.on)),
        fmtMs(median(r.off)),
        fmtMs(p90(r.off)),
        ratio(median(r.off), median(r.on)),
      ]),
    ]),
  );
  console.log('\nrows for docs/performance.md:');
  for (const r of rows)
    console.log(
      `| ${r.experiment}: ${r.figure}, median (p90) of ${r.on.length} | ${fmtMs(median(r.on))} (${fmtMs(p90(r.on))}) | switched off: ${fmtMs(median(r.off))} (${fmtMs(p90(r.off))}) | ${ratio(median(r.off), median(r.on))} | ${m.short}; load ${loadAverage()} | ${today()} |`,
    );
}

await main();
