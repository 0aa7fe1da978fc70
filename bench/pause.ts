/**
 * Benchmark: how long a Go service stands still while its goroutines are dumped. The target
 * (testdata/pausebench) has N goroutines parked at stack depth 10 and a ticker thread that
 * records the longest gap between its clock readings; a stop of the whole process shows up
 * as such a gap. For each N, in one run: the gap during Periscope's snapshot (in this
 * process: `prepareProcess` once, then `captureProcess` in the window), during `GET /debug/pprof/goroutine?debug=2` and during
 * `runtime.Stack(buf, true)`, the anchors; Periscope's own pause figure, its phases, total
 * time, bytes read and memory; and the ratios anchor gap / Periscope gap.
 *
 * Both sides run at nice -10 (this process's main thread and every thread of the target;
 * --nice N to change, --nice 0 to leave them): on a busy machine other work otherwise
 * deschedules the ticker for milliseconds, and the gaps would measure the scheduler.
 *
 * Usage: npx tsc -p . && node dist/bench/pause.js [--n 1000,10000,100000] [--reps K] [--nice N]
 *        [--builtin-spec]   snapshot with the built-in spec, as the CLI and agents do: the
 *                           target serves net/http, so its values are read inside the pause
 *        [--contention]     also the pause's median and p99 with every core kept busy
 *                           (bench/pause-contention.ts), [--contention-n N] (default 10000),
 *                           [--contention-reps K] (default 100), [--busy K] (default 2 per core),
 *                           [--contention-set boost|boost-more|history] (default boost: the
 *                           straggler boost A/B; boost-more: also a 3 ms grace and the boost
 *                           without real-time polling; history: the stop's earlier modes);
 *                           --contention-only skips the quiet sections
 */
import { setPriority } from 'node:os';
import { captureGoroutines, reserveForCapture } from '../src/goruntime/goroutines/index.js';
import { pauseProcess } from '../src/proc/pause.js';
import { VmReader } from '../src/proc/vm-reader.js';
import { captureProcess, prepareProcess } from '../src/snapshot/take-snapshot.js';
import { effectiveSpec } from '../src/spec/effective-spec.js';
import { EMPTY_SPEC } from '../src/spec/spec-types.js';
import { describeMachine, loadAverage, today } from '../support/machine.js';
import { type Gap, type PauseTarget, startPauseTarget } from '../support/pause-target.js';
import { median, ratio } from '../support/stats.js';
import { formatTable } from '../support/table.js';
import { measureContention, reportContention } from './pause-contention.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const SIZES = (arg('--n') ?? '1000,10000,100000').split(',').map(Number);
const REPS_ARG = arg('--reps');
const NICE = Number(arg('--nice') ?? -10);
/** Snapshot with the built-in spec (net/http, gRPC), whose values are read inside the pause. */
const SPEC = process.argv.includes('--builtin-spec') ? effectiveSpec(EMPTY_SPEC) : undefined;
/** Repetitions per method: fewer at 100k, where each debug=2 moves ~150 MB. */
const repsFor = (n: number): number =>
  REPS_ARG ? Number(REPS_ARG) : n >= 100_000 ? 5 : n >= 10_000 ? 9 : 15;
/** The aims: the longest pause per N, and the least ratio to debug=2. */
const AIM_MS: Record<number, number> = { 1000: 1, 10000: 5, 100000: 50 };
const AIM_RATIO = 20;

const hrNs = (): number => Number(process.hrtime.bigint());
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const fmtMs = (ns: number): string =>
  ns >= 10e6 ? `${(ns / 1e6).toFixed(1)} ms` : `${(ns / 1e6).toFixed(2)} ms`;
const fmtMiB = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** Samples of one figure. */
class Series {
  readonly xs: number[] = [];
  add(x: number): void {
    this.xs.push(x);
  }
  get med(): number {
    return median(this.xs);
  }
  get max(): number {
    return Math.max(...this.xs);
  }
}

/** Everything measured at one N. */
interface Result {
  n: number;
  threads: number;
  periscopeGap: Series;
  pause: Series;
  stop: Series;
  copy: Series;
  values: Series;
  resume: Series;
  total: Series;
  decode: Series;
  bytesRead: Series;
  heapGrowth: Series;
  rssGrowth: Series;
  gapInPause: number;
  debug2Gap: Series;
  debug2Bytes: number;
  stackGap: Series;
  stackOwn: Series;
  idleGap: Series;
  phases: Map<string, Series>;
  maxRss: number;
  /** The first snapshot of the process: nothing reserved yet, so the copy faults fresh pages. */
  coldGap: number;
  coldPause: number;
  load: string;
}

const held = (): number => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

async function periscopeOnce(t: PauseTarget, r: Result): Promise<void> {
  // Prepared outside the gap window, as an agent prepares once and captures many times: the
  // window then spans the capture and decoding, not the binary lookup and spec compile,
  // during which the target's own hiccups (up to ~4 ms here) would also be counted.
  const plan = prepareProcess(t.pid, SPEC);
  await t.gap();
  const h0 = held();
  const rss0 = process.memoryUsage().rss;
  const t0 = hrNs();
  const snap = captureProcess(t.pid, plan);
  const t1 = hrNs();
  r.heapGrowth.add(held() - h0);
  r.rssGrowth.add(process.memoryUsage().rss - rss0);
  const g: Gap = await t.gap();
  if (snap.goroutines.length < t.goroutines) throw new Error(`only ${snap.goroutines.length} goroutines`);
  r.threads = snap.threads;
  r.periscopeGap.add(g.maxNs);
  r.pause.add(snap.pauseNs);
  r.stop.add(snap.phasesNs.stop);
  r.copy.add(snap.phasesNs.copy);
  r.values.add(snap.phasesNs.values);
  r.resume.add(snap.phasesNs.resume);
  r.total.add(t1 - t0);
  r.decode.add(snap.decodeNs);
  r.bytesRead.add(snap.bytesRead);
  // Cross-check: the ticker's longest gap lies inside the snapshot call (1 ms slack for clocks).
  if (g.endNs - g.maxNs >= t0 - 1e6 && g.endNs <= t1 + 1e6) r.gapInPause++;
}

/** A bare capture (pause, copy, resume) to split the copy into its phases. */
function captureOnce(pid: number, r: Result): void {
  const plan = prepareProcess(pid);
  const reader = new VmReader(pid);
  try {
    const reserved = reserveForCapture(plan.goroutines, reader); // as take-snapshot does before pausing
    const paused = pauseProcess(pid);
    reader.armHelper(1000, reserved.bytes);
    let phases: Readonly<Record<string, number>> = {};
    try {
      const threads = paused.threads.map((x) => ({ tid: x.tid, pc: x.regs.pc, sp: x.regs.sp }));
      phases = captureGoroutines(plan.goroutines, reader, threads, { scratch: reserved.scratch }).phases;
    } finally {
      reader.disarmHelper();
      paused.resume();
    }
    const add = (name: string, ns: number): void => {
      const s = r.phases.get(name) ?? new Series();
      r.phases.set(name, s);
      s.add(ns);
    };
    add('ptrace stop (incl. registers)', paused.timings.stopNs + paused.timings.regsNs);
    for (const [k, v] of Object.entries(phases)) add(`copy: ${k}`, v * 1e6);
    add('ptrace detach', paused.timings.resumeNs);
  } finally {
    reader.close();
  }
}

function newResult(n: number): Result {
  return {
    n,
    threads: 0,
    periscopeGap: new Series(),
    pause: new Series(),
    stop: new Series(),
    copy: new Series(),
    values: new Series(),
    resume: new Series(),
    total: new Series(),
    decode: new Series(),
    bytesRead: new Series(),
    heapGrowth: new Series(),
    rssGrowth: new Series(),
    gapInPause: 0,
    debug2Gap: new Series(),
    debug2Bytes: 0,
    stackGap: new Series(),
    stackOwn: new Series(),
    idleGap: new Series(),
    phases: new Map(),
    maxRss: 0,
    coldGap: 0,
    coldPause: 0,
    load: '',
  };
}

async function measure(n: number): Promise<Result> {
  const t = await startPauseTarget(n, NICE === 0 ? undefined : NICE);
  const r = newResult(n);
  const loadBefore = loadAverage();
  try {
    // Warm-up: binary load and JIT on our side, the dump buffers on the target's.
    const cold = newResult(n);
    await periscopeOnce(t, cold);
    r.coldGap = cold.periscopeGap.xs[0]!;
    r.coldPause = cold.pause.xs[0]!;
    await periscopeOnce(t, newResult(n));
    await t.debug2();
    await t.stackAll();
    for (let i = 0; i < 3; i++) {
      await t.gap();
      await sleep(100);
      r.idleGap.add((await t.gap()).maxNs);
    }
    const methods: (() => Promise<void>)[] = [
      () => periscopeOnce(t, r),
      async () => {
        await t.gap();
        r.debug2Bytes = (await t.debug2()).bytes;
        r.debug2Gap.add((await t.gap()).maxNs);
      },
      async () => {
        await t.gap();
        r.stackOwn.add((await t.stackAll()).ns);
        r.stackGap.add((await t.gap()).maxNs);
      },
    ];
    const reps = repsFor(n);
    for (let i = 0; i < reps; i++) {
      for (let k = 0; k < methods.length; k++) {
        await methods[(i + k) % methods.length]!();
        await sleep(20);
      }
      captureOnce(t.pid, r);
    }
    r.maxRss = process.resourceUsage().maxRSS * 1024;
    r.load = `${loadBefore} -> ${loadAverage()}`;
    return r;
  } finally {
    await t.stop();
  }
}

function report(r: Result): string {
  const row = (name: string, s: Series, f: (x: number) => string = fmtMs): string[] => [
    name,
    f(s.med),
    f(s.max),
  ];
  const aim = AIM_MS[r.n];
  const rows: string[][] = [
    [
      `N = ${r.n} goroutines (${r.threads} threads), ${r.periscopeGap.xs.length} runs each, load ${r.load}`,
      'median',
      'max',
    ],
    row('Periscope snapshot: longest gap seen by the ticker', r.periscopeGap),
    [
      '  first snapshot of the process (nothing reserved yet): gap, pause',
      fmtMs(r.coldGap),
      fmtMs(r.coldPause),
    ],
    row('  Periscope pause (its own figure, pauseNs)', r.pause),
    row('    stop (seize + interrupt + registers)', r.stop),
    row('    copy (headers, stacks)', r.copy),
    ...(SPEC ? [row('    values of the built-in spec', r.values)] : []),
    row('    resume (detach)', r.resume),
    ...[...r.phases.entries()].map(([k, s]) => row(`      bare capture: ${k}`, s)),
    row('  Periscope snapshot total (capture: pause, decode)', r.total),
    row('    decode after resume', r.decode),
    row('  bytes read from the target', r.bytesRead, fmtMiB),
    row('  heap + buffers held after the snapshot', r.heapGrowth, fmtMiB),
    row('  RSS growth over the snapshot', r.rssGrowth, fmtMiB),
    ['  peak RSS of this process so far', fmtMiB(r.maxRss), ''],
    ['  gaps inside the snapshot call (cross-check)', `${r.gapInPause}/${r.periscopeGap.xs.length}`, ''],
    row('debug=2: longest gap', r.debug2Gap),
    ['  dump size', fmtMiB(r.debug2Bytes), ''],
    row('runtime.Stack(all): longest gap', r.stackGap),
    row('  its own duration (measured inside the target)', r.stackOwn),
    row('idle: longest gap in 100 ms with nothing done (noise floor)', r.idleGap),
    [
      'ratio debug=2 gap / Periscope gap',
      ratio(r.debug2Gap.med, r.periscopeGap.med),
      ratio(r.debug2Gap.max, r.periscopeGap.max),
    ],
    [
      'ratio runtime.Stack gap / Periscope gap',
      ratio(r.stackGap.med, r.periscopeGap.med),
      ratio(r.stackGap.max, r.periscopeGap.max),
    ],
  ];
  if (aim !== undefined) {
    rows.push([
      `aim: pause <= ${aim} ms`,
      r.periscopeGap.med <= aim * 1e6 ? 'met' : 'NOT met',
      r.periscopeGap.max <= aim * 1e6 ? 'met' : 'NOT met',
    ]);
  }
  rows.push([
    `aim: >= ${AIM_RATIO}x less than debug=2`,
    r.debug2Gap.med / r.periscopeGap.med >= AIM_RATIO ? 'met' : 'NOT met',
    '',
  ]);
  return formatTable(rows);
}

let niced = 'not reniced';
if (NICE !== 0) {
  try {
    setPriority(NICE);
    niced = `nice ${NICE}`;
  } catch {
    niced = `nice ${NICE} not permitted`;
  }
}
const machine = describeMachine();
console.log(
  `pause: ${machine.short}; Node ${machine.node}, ${machine.go}; load ${machine.load}; ${niced}; ${today()}`,
);
const t0 = performance.now();
const results: Result[] = [];
const CONTENTION_ONLY = process.argv.includes('--contention-only');
for (const n of CONTENTION_ONLY ? [] : SIZES) {
  const r = await measure(n);
  results.push(r);
  console.log(`\n${report(r)}`);
}
console.log(
  `\nsummary (medians; ratio = anchor gap / Periscope gap), ${((performance.now() - t0) / 1000).toFixed(0)} s`,
);
console.log(
  formatTable([
    ['N', 'Periscope gap', 'pauseNs', 'debug=2 gap', 'ratio', 'runtime.Stack gap', 'ratio', 'aim'],
    ...results.map((r) => [
      String(r.n),
      fmtMs(r.periscopeGap.med),
      fmtMs(r.pause.med),
      fmtMs(r.debug2Gap.med),
      ratio(r.debug2Gap.med, r.periscopeGap.med),
      fmtMs(r.stackGap.med),
      ratio(r.stackGap.med, r.periscopeGap.med),
      AIM_MS[r.n] === undefined
        ? ''
        : r.periscopeGap.med <= AIM_MS[r.n]! * 1e6 && r.debug2Gap.med / r.periscopeGap.med >= AIM_RATIO
          ? 'met'
          : 'NOT met',
    ]),
  ]),
);
console.log('\nrows for docs/performance.md:');
for (const r of results) {
  const m = `${machine.short}; Node ${machine.node}, ${machine.go}; load ${r.load}`;
  console.log(
    `| Pause of a snapshot${SPEC ? ' with the built-in spec' : ''}, ${r.n} goroutines at depth 10: longest gap seen by a ticker thread, median of ${r.periscopeGap.xs.length} (max) | ${fmtMs(r.periscopeGap.med)} (${fmtMs(r.periscopeGap.max)}) | \`goroutine?debug=2\`: ${fmtMs(r.debug2Gap.med)} (${fmtMs(r.debug2Gap.max)}) | ${ratio(r.debug2Gap.med, r.periscopeGap.med)} | ${m} | ${today()} |`,
  );
  console.log(
    `| Same, anchor \`runtime.Stack(buf, true)\` | ${fmtMs(r.periscopeGap.med)} | ${fmtMs(r.stackGap.med)} (${fmtMs(r.stackGap.max)}) | ${ratio(r.stackGap.med, r.periscopeGap.med)} | ${m} | ${today()} |`,
  );
}

if (process.argv.includes('--contention') || CONTENTION_ONLY) {
  const n = Number(arg('--contention-n') ?? 10_000);
  const reps = Number(arg('--contention-reps') ?? 100);
  const busy = Number(arg('--busy') ?? 2 * machine.cores);
  const loadBefore = loadAverage();
  const setArg = arg('--contention-set');
  const set = setArg === 'history' || setArg === 'boost-more' ? setArg : 'boost';
  const r = await measureContention(n, reps, busy, SPEC, set);
  console.log(`\ncontention (load ${loadBefore} -> ${loadAverage()}):`);
  console.log(reportContention(n, r, `${machine.short}; Node ${machine.node}; load ${loadBefore}`, today()));
}
