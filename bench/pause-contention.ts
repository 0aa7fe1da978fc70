/**
 * The contention section of bench/pause.ts: the pause's median and p99 on a quiet machine
 * and with every core saturated by spinning processes, in one run (quiet and busy
 * snapshots interleaved: the spinning processes are frozen with SIGSTOP for the quiet
 * ones), and with the ways the snapshotting thread may wait for the target's threads to stop
 * and be scheduled meanwhile (proc/pause.ts stopWait, realtime) and with and without the
 * second pause after a slow stop (SnapshotOptions.retrySlowStop) (`--contention-set history`),
 * or (the default set) with and without the boost of the target's straggling threads
 * (PauseOptions.boostAfterMs). The target and this thread run at nice 0 here,
 * as a service and an agent do, so the spinning processes compete with both on equal terms.
 * The figure is the time the target was held: pauseNs, plus any first pause discarded for a
 * slow stop (pauseAndCopy pauses again then); a snapshot whose stop gave up at the cap counts as
 * a hold of the cap.
 */
import { getPriority, setPriority } from 'node:os';
import { type PauseOptions, PauseTimeoutError } from '../src/proc/pause.js';
import { DEFAULT_PAUSE_CAP_MS } from '../src/snapshot/paused-capture.js';
import type { ProcessSnapshot } from '../src/snapshot/snapshot-types.js';
import { captureProcess, prepareProcess } from '../src/snapshot/take-snapshot.js';
import type { EffectiveSpec } from '../src/spec/effective-spec.js';
import { startBusyLoad } from '../support/busy-load.js';
import { startPauseTarget } from '../support/pause-target.js';
import { median, quantile } from '../support/stats.js';
import { formatTable } from '../support/table.js';

/** The aim of the issue: under contention, p99 at most this many times the median. */
export const AIM_P99_OVER_MEDIAN = 3;

/** One condition's samples. */
interface Condition {
  readonly name: string;
  readonly busy: boolean;
  /** How this condition pauses (proc/pause.ts). */
  readonly pause: PauseOptions;
  /** SnapshotOptions.retrySlowStop (default true). */
  readonly retry?: boolean;
  held: number[];
  stop: number[];
  /** The hold less the stop (the copy, the values, the detach; a discarded first pause's stop included). */
  rest: number[];
  gaps: number[];
  partial: number;
  retried: number;
  /** Snapshots that failed (e.g. the stop gave up at the cap twice), with the first error. */
  failed: number;
  error?: string;
}

/** Measures the pause at `n` goroutines under each condition, `reps` times each, with `busy` spinning processes. */
export async function measureContention(
  n: number,
  reps: number,
  busy: number,
  spec: EffectiveSpec | undefined,
  set: 'boost' | 'boost-more' | 'history' = 'boost',
): Promise<{ conditions: Condition[]; busy: number }> {
  const busyName = `${busy} spinning processes`;
  const history: Omit<Condition, 'held' | 'stop' | 'rest' | 'gaps' | 'partial' | 'retried' | 'failed'>[] = [
    {
      name: 'quiet, yielding while threads stop (before 2026-12-06)',
      busy: false,
      pause: { stopWait: 'yield', boostAfterMs: false },
    },
    {
      name: 'quiet, SCHED_FIFO from the first interrupt, no boost',
      busy: false,
      pause: { boostAfterMs: false },
    },
    {
      name: `${busyName}, yielding while threads stop, real-time once stopped (before 2026-12-06)`,
      busy: true,
      pause: { stopWait: 'yield', boostAfterMs: false },
    },
    {
      name: `${busyName}, no priority change`,
      busy: true,
      pause: { stopWait: 'yield', realtime: false, boostAfterMs: false },
    },
    {
      name: `${busyName}, SCHED_FIFO from the first interrupt, no boost`,
      busy: true,
      pause: { boostAfterMs: false },
    },
    {
      name: `${busyName}, SCHED_FIFO, no boost, no second pause after a slow stop`,
      busy: true,
      pause: { boostAfterMs: false },
      retry: false,
    },
  ];
  // Stragglers boosted (proc/stop-boost.ts): against the previous default, at once or after a
  // grace, and without this thread's own SCHED_FIFO.
  const boost: typeof history = [
    { name: 'quiet, no boost (default before the boost)', busy: false, pause: { boostAfterMs: false } },
    { name: 'quiet, stragglers boosted after 1 ms', busy: false, pause: { boostAfterMs: 1 } },
    { name: 'quiet, default (stragglers boosted at once)', busy: false, pause: {} },
    { name: `${busyName}, no boost (default before the boost)`, busy: true, pause: { boostAfterMs: false } },
    { name: `${busyName}, stragglers boosted after 1 ms`, busy: true, pause: { boostAfterMs: 1 } },
    { name: `${busyName}, default (stragglers boosted at once)`, busy: true, pause: {} },
  ];
  // More graces, and the boost without this thread's own SCHED_FIFO (`--contention-set boost-more`).
  const boostMore: typeof history = [
    ...boost,
    { name: `${busyName}, stragglers boosted after 3 ms`, busy: true, pause: { boostAfterMs: 3 } },
    {
      name: `${busyName}, boosted after 1 ms, this thread not real-time (sleeping between polls)`,
      busy: true,
      pause: { stopWait: 'sleep', realtime: false, boostAfterMs: 1 },
    },
  ];
  const conditions: Condition[] = (
    set === 'history' ? history : set === 'boost-more' ? boostMore : boost
  ).map((c) => ({
    ...c,
    held: [],
    stop: [],
    rest: [],
    gaps: [],
    partial: 0,
    retried: 0,
    failed: 0,
  }));
  let restore = 0;
  try {
    restore = getPriority();
    setPriority(0);
  } catch {
    // Not permitted to change: measured at the nice value we have.
  }
  const target = await startPauseTarget(n);
  const load = startBusyLoad(busy);
  try {
    const plan = prepareProcess(target.pid, spec);
    captureProcess(target.pid, plan); // warm-up: compiled code, reserves sized
    for (let i = 0; i < reps; i++) {
      for (let k = 0; k < conditions.length; k++) {
        const c = conditions[(i + k) % conditions.length]!;
        if (c.busy) await load.run();
        else await load.freeze();
        await target.gap();
        let s: ProcessSnapshot;
        try {
          s = captureProcess(target.pid, plan, {
            pause: c.pause,
            retrySlowStop: c.retry !== false,
          });
        } catch (e) {
          c.failed++;
          c.error ??= (e as Error).message;
          // A stop that gave up at the cap held the threads that had stopped until then: counted
          // as one hold of the cap (a lower bound when a second pause gave up too).
          if (e instanceof PauseTimeoutError) c.held.push(DEFAULT_PAUSE_CAP_MS * 1e6);
          await target.gap();
          continue;
        }
        c.gaps.push((await target.gap()).maxNs);
        c.held.push(s.pauseNs + (s.discardedPauseNs ?? 0));
        c.stop.push(s.phasesNs.stop);
        c.rest.push(s.pauseNs + (s.discardedPauseNs ?? 0) - s.phasesNs.stop);
        if (s.partial) c.partial++;
        if (s.discardedPauseNs !== undefined) c.retried++;
      }
    }
  } finally {
    load.stop();
    await target.stop();
    try {
      setPriority(restore);
    } catch {
      // As above.
    }
  }
  return { conditions, busy };
}

const fmtMs = (ns: number): string => `${(ns / 1e6).toFixed(2)} ms`;

/** The section's table, and the rows for docs/performance.md. */
export function reportContention(
  n: number,
  r: { conditions: Condition[]; busy: number },
  machine: string,
  date: string,
): string {
  const rows: string[][] = [
    [
      `N = ${n}, ${r.conditions[0]!.held.length} snapshots per condition (interleaved)`,
      'median',
      'p99',
      'p99/median',
      `aim <= ${AIM_P99_OVER_MEDIAN}x`,
      'stop median (p99)',
      'rest of the hold median (p99)',
      'ticker gap median (p99)',
      'partial',
      'paused twice',
      'failed (counted as held the cap)',
    ],
  ];
  for (const c of r.conditions) {
    const med = median(c.held);
    const p99 = quantile(c.held, 0.99);
    rows.push([
      c.name,
      fmtMs(med),
      fmtMs(p99),
      `${(p99 / med).toFixed(2)}x`,
      p99 / med <= AIM_P99_OVER_MEDIAN ? 'met' : 'NOT met',
      `${fmtMs(median(c.stop))} (${fmtMs(quantile(c.stop, 0.99))})`,
      `${fmtMs(median(c.rest))} (${fmtMs(quantile(c.rest, 0.99))})`,
      `${fmtMs(median(c.gaps))} (${fmtMs(quantile(c.gaps, 0.99))})`,
      String(c.partial),
      String(c.retried),
      String(c.failed),
    ]);
  }
  const errors: string[] = [];
  for (const c of r.conditions) if (c.error) errors.push(`${c.name}: first failure: ${c.error}`);
  const quiet = r.conditions[0]!;
  const lines = [formatTable(rows), ...errors, '', 'rows for docs/performance.md:'];
  for (const c of r.conditions.slice(1)) {
    const med = median(c.held);
    const p99 = quantile(c.held, 0.99);
    lines.push(
      `| Pause under contention, ${n} goroutines, ${c.name}: p99 / median of ${c.held.length} (time the target was held) | ${(p99 / med).toFixed(2)}x (${fmtMs(med)}, p99 ${fmtMs(p99)}) | same run, quiet: median ${fmtMs(median(quiet.held))}, p99/median ${(quantile(quiet.held, 0.99) / median(quiet.held)).toFixed(2)}x | busy median / quiet median ${(med / median(quiet.held)).toFixed(2)}x; aim p99/median <= ${AIM_P99_OVER_MEDIAN}x: ${p99 / med <= AIM_P99_OVER_MEDIAN ? 'met' : 'NOT met'} | ${machine} | ${date} |`,
    );
  }
  return lines.join('\n');
}
