/**
 * Benchmark: readInto on one thread against two (VmReader's copy helper, copy-helper.ts),
 * first alone on synthetic ranges (600 bytes every 2 KiB of the target's large rw mappings,
 * like used stacks), then as the copy phase of a goroutine capture on one thread against two (VmReader's
 * copy helper, copy-helper.ts), on testdata/pausebench with N parked goroutines, paused with
 * the ptrace pause. Modes of the capture alternate within one run: one thread; two threads with the helper
 * armed right before the pause (what take-snapshot should do); two threads not armed (the
 * helper sleeps and must be woken). Figures are the capture's own phases (ms), medians.
 *
 * Usage: npx tsc -p . && node dist/bench/copy-threads.js [--n 100000] [--reps 9]
 */
import { captureGoroutines, reserveForCapture } from '../src/goruntime/goroutines/index.js';
import { copyHelperReady, copySplitStats } from '../src/proc/copy-helper.js';
import { readMaps } from '../src/proc/maps.js';
import { pauseProcess } from '../src/proc/pause.js';
import { VmReader } from '../src/proc/vm-reader.js';
import { prepareProcess } from '../src/snapshot/take-snapshot.js';
import { describeMachine, loadAverage } from '../support/machine.js';
import { startPauseTarget } from '../support/pause-target.js';
import { median, ratio } from '../support/stats.js';
import { formatTable } from '../support/table.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const N = Number(arg('--n') ?? 100_000);
const REPS = Number(arg('--reps') ?? 9);

type Mode = 'one thread' | 'two threads, armed' | 'two threads, not armed';
const MODES: readonly Mode[] = ['one thread', 'two threads, armed', 'two threads, not armed'];

/** Per mode and phase name, the samples (ms). */
const samples = new Map<Mode, Map<string, number[]>>();
const helperShare = new Map<Mode, { blocks: number; helper: number }>();
let megabytes = 0;

function captureOnce(pid: number, plan: ReturnType<typeof prepareProcess>, mode: Mode): void {
  const reader = new VmReader(pid, { threads: mode === 'one thread' ? 1 : 2 });
  try {
    reserveForCapture(plan.goroutines, reader); // also starts the helper (already running here)
    if (mode === 'two threads, armed') reader.armHelper();
    // Time spent inside readInto (the part the helper can share), beside the phases.
    let inRead = 0;
    const readInto = reader.readInto.bind(reader);
    reader.readInto = (...args: Parameters<VmReader['readInto']>): number => {
      const t0 = performance.now();
      try {
        return readInto(...args);
      } finally {
        inRead += performance.now() - t0;
      }
    };
    const s0 = copySplitStats();
    const paused = pauseProcess(pid);
    let phases: Readonly<Record<string, number>> = {};
    let ms = 0;
    try {
      const threads = paused.threads.map((x) => ({ tid: x.tid, pc: x.regs.pc, sp: x.regs.sp }));
      const c = captureGoroutines(plan.goroutines, reader, threads);
      phases = c.phases;
      ms = c.ms;
    } finally {
      paused.resume();
    }
    const s1 = copySplitStats();
    const share = helperShare.get(mode) ?? { blocks: 0, helper: 0 };
    share.blocks += s1.blocks - s0.blocks;
    share.helper += s1.helperBlocks - s0.helperBlocks;
    helperShare.set(mode, share);
    megabytes = reader.stats().bytesRead / 1e6;
    const m = samples.get(mode) ?? new Map<string, number[]>();
    samples.set(mode, m);
    const all = [
      ...Object.entries(phases),
      ['capture (all phases)', ms] as const,
      ['  of which in readInto', inRead] as const,
    ];
    for (const [k, v] of all) {
      const xs = m.get(k) ?? [];
      m.set(k, xs);
      xs.push(v);
    }
  } finally {
    reader.close();
  }
}

/** readInto alone, one thread against two (armed), on ranges of the paused target: rows of the table. */
async function rawReads(pid: number): Promise<string[][]> {
  const addresses: number[] = [];
  for (const m of readMaps(pid))
    if (m.perms.startsWith('rw') && m.end - m.start >= 4 << 20)
      for (let a: number = m.start; a + 2048 <= m.end && addresses.length < 150_000; a += 2048)
        addresses.push(a + 256);
  const all = Float64Array.from(addresses);
  const sizes = new Float64Array(all.length).fill(600);
  const dest = Buffer.alloc(600 * all.length);
  const ok = new Uint8Array(all.length);
  const one = new VmReader(pid, { threads: 1 });
  const two = new VmReader(pid);
  const rows: string[][] = [
    [
      `readInto alone, 600-byte ranges 2 KiB apart; median ms`,
      'one thread',
      'two threads, armed',
      '',
      'one/two',
    ],
  ];
  const paused = pauseProcess(pid);
  try {
    for (const gap of [0, 4096])
      for (const n of [800, 1600, 20_000, all.length]) {
        const t1: number[] = [];
        const t2: number[] = [];
        for (let i = 0; i < REPS * 3; i++) {
          let t0 = performance.now();
          one.readInto(all, sizes, n, dest, 0, ok, gap);
          t1.push(performance.now() - t0);
          two.armHelper(5);
          t0 = performance.now();
          two.readInto(all, sizes, n, dest, 0, ok, gap);
          t2.push(performance.now() - t0);
        }
        const a = median(t1);
        const b = median(t2);
        const label = `  ${n} ranges (${((n * 600) / 1e6).toFixed(1)} MB), join gap ${gap}`;
        rows.push([label, a.toFixed(3), b.toFixed(3), '', ratio(a, b)]);
      }
  } finally {
    paused.resume();
  }
  return rows;
}

const target = await startPauseTarget(N);
try {
  const plan = prepareProcess(target.pid);
  new VmReader(target.pid).startHelper();
  if (!copyHelperReady(5000)) throw new Error('the copy helper did not start');
  for (let i = 0; i < 2; i++) for (const mode of MODES) captureOnce(target.pid, plan, mode); // warm-up
  const raw = await rawReads(target.pid);
  samples.clear();
  helperShare.clear();
  for (let i = 0; i < REPS; i++) {
    for (const mode of MODES) {
      captureOnce(target.pid, plan, mode);
      await new Promise((r) => setTimeout(r, 20)); // let the target run between pauses
    }
  }
  const one = samples.get('one thread') as Map<string, number[]>;
  const rows: string[][] = [
    [
      `N = ${N} goroutines, ${megabytes.toFixed(1)} MB copied, ${REPS} runs per mode; median ms`,
      ...MODES,
      'one/armed',
    ],
  ];
  for (const phase of one.keys()) {
    const med = MODES.map((m) => median(samples.get(m)?.get(phase) ?? [Number.NaN]));
    rows.push([`  ${phase}`, ...med.map((x) => x.toFixed(2)), ratio(med[0]!, med[1]!)]);
  }
  rows.push([
    '  blocks read by the helper',
    '',
    ...MODES.slice(1).map((m) => {
      const s = helperShare.get(m) ?? { blocks: 0, helper: 0 };
      return `${s.helper}/${s.blocks}`;
    }),
    '',
  ]);
  console.log(`copy-threads: ${describeMachine().short}; load ${loadAverage()}`);
  console.log(formatTable([...raw, ...rows]));
} finally {
  await target.stop();
}
