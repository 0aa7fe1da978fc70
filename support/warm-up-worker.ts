/**
 * A worker for test/snapshot/warm-up-helper.test.ts: a fresh thread (its copy helper not
 * started yet, its code not compiled: as in a one-shot `periscope snapshot --pid`) prepares
 * process `pid` (with the built-in spec when `builtIn`), runs the warm-up that precedes its
 * first pause, and posts whether the copy helper takes jobs at that point, how many reads it
 * shared, the helper's scheduler state and CPUs, whether the pause's watchdog thread is started, what its rehearsal of the pause on a
 * throw-away child did, and the reserve bytes the warm-up left for the pause (with `pool`, the thread pools its reserves). With `pause`, it then pauses once
 * (values budget and cap out of reach) and posts what the pause read by plan and evaluated.
 */
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { copyHelperReady, copyHelperTid, copySplitStats } from '../src/proc/copy-helper.js';
import { lastPauseRehearsal, type PauseRehearsal } from '../src/proc/pause-rehearsal.js';
import { pauseWatchdogStarted } from '../src/proc/pause-watchdog.js';
import { pooledReserveBytes, poolReserves } from '../src/proc/vm-reader.js';
import { pauseAndCopy, warmUpCapture } from '../src/snapshot/paused-capture.js';
import { finishSnapshot, prepareProcess } from '../src/snapshot/take-snapshot.js';
import { effectiveSpec } from '../src/spec/effective-spec.js';
import { EMPTY_SPEC } from '../src/spec/spec-types.js';

/** What the worker posts. */
export interface WarmUpReport {
  readonly ready: boolean;
  readonly splits: number;
  /** The helper's state letter in /proc (R: running or runnable) 20 ms after the warm-up. */
  readonly helperState: string;
  /** Its CPUs (Cpus_allowed_list) then, and this process's. */
  readonly helperCpus: string;
  readonly processCpus: string;
  readonly pooledBytes: number;
  /** The pause's watchdog thread was started by the warm-up (not by the pause). */
  readonly watchdog: boolean;
  /** The warm-up's rehearsal of the pause on a throw-away child (proc/pause-rehearsal.ts), if any. */
  readonly rehearsal: PauseRehearsal | undefined;
  /** With `pause`: ranges read by plan, frames evaluated inside the pause, goroutines with values. */
  readonly planned?: number;
  readonly evaluatedInPause?: number;
  readonly goroutinesWithValues?: number;
}

const { pid, builtIn, pool, pause } = workerData as {
  pid: number;
  builtIn?: boolean;
  pool?: boolean;
  pause?: boolean;
};
if (pool) poolReserves();
const plan = prepareProcess(pid, builtIn ? effectiveSpec(EMPTY_SPEC) : undefined);
warmUpCapture(pid, plan);
const ready = copyHelperReady(0);
const { splits } = copySplitStats();
const pooledBytes = pooledReserveBytes();
const watchdog = pauseWatchdogStarted();
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
const tid = copyHelperTid();
const cpusOf = (path: string): string =>
  /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync(path, 'latin1'))?.[1] ?? '?';
let helperState = '?';
let helperCpus = '?';
if (tid !== undefined) {
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'latin1');
  helperState = stat.charAt(stat.lastIndexOf(')') + 2);
  helperCpus = cpusOf(`/proc/self/task/${tid}/status`);
}
const report: WarmUpReport = {
  ready,
  splits,
  helperState,
  helperCpus,
  processCpus: cpusOf('/proc/self/status'),
  pooledBytes,
  watchdog,
  rehearsal: lastPauseRehearsal(),
};
if (!pause) parentPort?.postMessage(report);
else {
  const copied = pauseAndCopy(pid, plan, { valuesBudgetMs: 60_000, pauseCapMs: 60_000 });
  const evaluatedInPause = [...copied.captures.values()].flat().length;
  const snap = finishSnapshot(copied);
  parentPort?.postMessage({
    ...report,
    planned: copied.kept?.planned ?? 0,
    evaluatedInPause,
    goroutinesWithValues: snap.goroutines.filter((g) => g.captures.length > 0).length,
  });
}
