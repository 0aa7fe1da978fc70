/**
 * Benchmark: what a probe costs the probed program, per call of a small Go function
 * (testdata/probe-values' main.work: five arguments, a frame; timed by the target itself),
 * configurations interleaved round by round in one run: no probe; a probe defined but off
 * (compiled, programs loaded, not attached); an empty BPF program at Periscope's site (the
 * floor: trap, emulation of PUSHQ BP, dispatch); a counter; five captured values (a, s, p,
 * b, xs) drained as they come; a condition that rejects every call (same captures); tracefs
 * at Periscope's site fetching the same values; bpftrace counting at the first instruction
 * when installed (it accepts no other place); the empty program at a single-stepped site.
 * Ratios against no probe and the floor. Then how many events per second one agent drains
 * without drops (a synthetic producer offering real records at paced rates), how fast it
 * decodes them, and what a flood of real calls delivers.
 *
 * Usage: npx tsc -p . && node dist/bench/probe-cost.js [--rounds N] [--drain-ms MS]
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AttachedProbes } from '../src/probes/attached-probes.js';
import { type CompiledProbe, compileProbe } from '../src/probes/compile/compile-probe.js';
import { ProbeSet } from '../src/probes/probe-set.js';
import type { ProbeSpec } from '../src/probes/probe-spec.js';
import { functionCode } from '../src/probes/sites/function-code.js';
import { functionSites } from '../src/probes/sites/function-sites.js';
import { siteAt } from '../src/probes/sites/site.js';
import { drainLoop, drainMsArg } from '../support/drain-loop.js';
import { describeMachine, loadAverage } from '../support/machine.js';
import { prng } from '../support/prng.js';
import {
  bpftraceAvailable,
  bpftraceCounter,
  definedButOff,
  type Running,
  tracefsProbe,
} from '../support/probe-anchors.js';
import { measureDrain } from '../support/probe-drain.js';
import { fixtureBinary } from '../support/probe-fixture.js';
import { median } from '../support/stats.js';
import { formatTable } from '../support/table.js';
import { startTarget, type Target } from '../support/target.js';

const roundsArg = process.argv.indexOf('--rounds');
const ROUNDS = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 5;
const FIVE = ['a', 's', 'p', 'b', 'xs'];
/**
 * Ring buffer of the drain figures: 32 MiB holds ~80k records of 424 bytes, 160 ms at 500k/s,
 * enough to ride out the drain thread not being scheduled on a busy 2-core machine.
 */
const RING_BYTES = 1 << 25;
/**
 * Milliseconds between drains while calls are timed (0: each turn of the event loop). Events
 * stay in the small ring (cached memory) only while the drain keeps up with it.
 */
const DRAIN_MS = drainMsArg(1);

interface Config {
  readonly name: string;
  readonly site: string;
  readonly calls: number;
  /** CPU time of the calling thread per call (the probe's trap and program are the thread's system time). */
  readonly samples: number[];
  /** Wall-clock time per call. */
  readonly wall: number[];
  /** The calls pass a string on the heap instead of a literal (`bench N heap`). */
  readonly heap?: boolean;
  /** Sets the configuration up on the target; undefined: nothing to set up. */
  readonly setup?: (t: Target) => Promise<Running & { check?(calls: number): string | undefined }>;
}

/** Per call: the target thread's CPU time and the wall-clock time, as the target measured them. */
async function timedCalls(t: Target, calls: number, heap = false): Promise<{ cpu: number; wall: number }> {
  const since = performance.now();
  t.child.stdin!.write(`bench ${calls}${heap ? ' heap' : ''}\n`);
  const line = await t.waitFor(/^done bench/, 300_000, since);
  const m = /ns (\d+) cpu (\d+)/.exec(line.text)!;
  return { wall: Number(m[1]) / calls, cpu: Number(m[2]) / calls };
}

/**
 * Attaches compiled probes and drains their records (copied out, as an agent would before
 * sending); `hotRingBytes` as large as the overflow ring: events go to one large ring, as
 * before the small ring existed.
 */
async function attached(t: Target, probes: CompiledProbe[], hotRingBytes?: number) {
  const set = await AttachedProbes.attach(probes, {
    pid: t.pid,
    ringBytes: RING_BYTES,
    ...(hotRingBytes ? { hotRingBytes } : {}),
  });
  let events = 0;
  const sink = Buffer.alloc(1 << 20);
  const stopDrain = drainLoop(() => {
    events += set.pollRaw((r) => sink.set(r.subarray(0, Math.min(r.length, sink.length))));
  }, DRAIN_MS);
  return {
    check(calls: number) {
      events += set.pollRaw(() => {});
      const s = set.stats(probes[0]!.spec.name);
      const want = probes[0]!.spec.condition ? 0 : calls;
      if (probes[0]!.recordBytes > 0 && (events !== want || s.ringFull !== 0))
        return `${events} events for ${calls} calls, ${s.ringFull} dropped`;
      return undefined;
    },
    async close() {
      stopDrain();
      await set.close();
    },
  };
}

async function main(): Promise<void> {
  const bin = await fixtureBinary();
  const sites = functionSites(bin, 'main.work');
  const code = functionCode(bin, bin.symtab.pcln.funcByName('main.work')!);
  const next = code.instructions[code.bodyStart! + 1]!; // MOVQ SP, BP: single-stepped
  const stepped = siteAt(bin, next, { kind: 'line', function: 'main.work', host: 'main.work' });
  if (sites.entry.handling !== 'emulated' || stepped.handling !== 'stepped')
    throw new Error(`unexpected sites: ${sites.entry.handling} / ${stepped.handling}`);
  const at = { kind: 'entry', function: 'main.work' } as const;
  const spec = (s: Partial<ProbeSpec>): CompiledProbe => compileProbe(bin, { name: 'work', at, ...s });
  const emulated = 'entry (PUSHQ BP, emulated)';
  const floor = (offset: typeof sites.entry.fileOffset) => async (t: Target) => {
    const set = await ProbeSet.open({
      tag: 'bf',
      pid: t.pid,
      path: bin.path,
      offsets: [offset],
      action: { kind: 'empty' },
      attach: 'multi',
    });
    return { close: () => set.close() };
  };
  const configs: Config[] = [
    { name: 'no probe', site: '—', calls: 20_000_000, samples: [], wall: [] },
    {
      name: 'probe defined but off',
      site: '(not attached)',
      calls: 20_000_000,
      samples: [],
      wall: [],
      setup: async () => definedButOff(spec({ captures: FIVE })),
    },
    {
      name: 'empty BPF program (floor)',
      site: emulated,
      calls: 200_000,
      samples: [],
      wall: [],
      setup: floor(sites.entry.fileOffset),
    },
    {
      name: 'counter (no captures)',
      site: emulated,
      calls: 200_000,
      samples: [],
      wall: [],
      setup: (t) => attached(t, [spec({})]),
    },
    {
      name: '5 captured values',
      site: emulated,
      calls: 200_000,
      samples: [],
      wall: [],
      setup: (t) => attached(t, [spec({ captures: FIVE })]),
    },
    {
      // The string above is a literal, whose bytes the probe leaves in the file (REGION_IN_FILE).
      name: '5 captured values, s a string on the heap (copied)',
      site: emulated,
      calls: 200_000,
      samples: [],
      wall: [],
      heap: true,
      setup: (t) => attached(t, [spec({ captures: FIVE })]),
    },
    {
      name: '5 captured values, one large ring (before)',
      site: emulated,
      calls: 200_000,
      samples: [],
      wall: [],
      setup: (t) => attached(t, [spec({ captures: FIVE })], RING_BYTES),
    },
    {
      name: 'condition rejecting every call',
      site: emulated,
      calls: 200_000,
      samples: [],
      wall: [],
      setup: (t) => attached(t, [spec({ captures: FIVE, condition: 'a < 0' })]),
    },
    {
      name: 'tracefs, 5 values',
      site: emulated,
      calls: 200_000,
      samples: [],
      wall: [],
      setup: async () => tracefsProbe(bin.path, sites.entry.fileOffset),
    },
  ];
  if (bpftraceAvailable())
    configs.push({
      name: 'bpftrace counter',
      site: 'first instruction (CMP, stepped)',
      calls: 10_000,
      samples: [],
      wall: [],
      setup: () => bpftraceCounter(bin.path, 'main.work'),
    });
  configs.push({
    name: 'empty BPF program',
    site: 'MOVQ SP, BP (stepped)',
    calls: 10_000,
    samples: [],
    wall: [],
    setup: floor(stepped.fileOffset),
  });
  const machine = describeMachine();
  const loadBefore = loadAverage();
  const target = await startTarget(bin.path);
  const problems: string[] = [];
  try {
    await timedCalls(target, 2_000_000); // warm up
    const random = prng(1);
    for (let r = 0; r < ROUNDS; r++)
      // Each round in a new order: in fixed-order runs the floor, attached first in each round,
      // measured slower than the counter attached after it.
      for (const c of shuffled(configs, random)) {
        const running = await c.setup?.(target);
        try {
          const m = await timedCalls(target, c.calls, c.heap);
          c.samples.push(m.cpu);
          c.wall.push(m.wall);
          const why = running?.check?.(c.calls);
          if (why) problems.push(`${c.name}: ${why}`);
        } finally {
          await running?.close();
        }
      }
  } finally {
    await target.kill();
  }
  const none = median(configs[0]!.samples);
  const fl = median(configs[2]!.samples);
  const rows = [
    ['configuration', 'site', 'CPU per call', 'added per call', 'x no probe', 'x floor', 'wall per call'],
  ];
  for (const c of configs) {
    const m = median(c.samples);
    rows.push([
      c.name,
      c.site,
      fmt(m),
      c === configs[0] ? '' : fmt(m - none),
      `${(m / none).toFixed(m / none >= 10 ? 0 : 2)}x`,
      `${(m / fl).toFixed(2)}x`,
      fmt(median(c.wall)),
    ]);
  }
  console.log(
    `probe cost per call of main.work, medians of ${ROUNDS} rounds, events drained every ${DRAIN_MS} ms (CPU time of the calling thread: the trap and the program count, waiting for a CPU does not; Periscope's probes through uprobe_multi links)`,
  );
  console.log(formatTable(rows));
  for (const p of problems) console.log(`! ${p}`);
  await drainFigures(spec({ captures: FIVE }));
  console.log(
    `${machine.short}; Node ${machine.node}, ${machine.go}; load ${loadBefore} -> ${loadAverage()}`,
  );
  console.log(`date ${new Date().toISOString().slice(0, 10)}`);
}

/** Drain and decode rates, and a flood of real calls. */
async function drainFigures(probe: CompiledProbe): Promise<void> {
  const target = await startTarget(probe.bin.path);
  let record: Uint8Array | undefined;
  const set = await AttachedProbes.attach([probe], { pid: target.pid, ringBytes: RING_BYTES });
  try {
    const since = performance.now();
    target.child.stdin!.write('bench 1000\n');
    await target.waitFor(/^done bench/, 30_000, since);
    await sleep(20);
    const records: Uint8Array[] = [];
    set.pollRaw((r) => records.push(Uint8Array.from(r)));
    record = records[0]!;
    const n = 100_000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) set.decode(records[i % records.length]!);
    const decodeRate = n / ((performance.now() - t0) / 1000);
    // A flood of real calls: 2 goroutines for 1 s, records drained (copied out) as they come.
    let events = 0;
    const sink = Buffer.alloc(1 << 20);
    const copy = (r: Uint8Array) => {
      sink.set(r, (events++ % 1024) * 1024);
    };
    const t1 = performance.now();
    target.child.stdin!.write('flood 2 1000\n');
    const done = target.waitFor(/^done flood/, 60_000, t1);
    let finished = false;
    void done.then(() => {
      finished = true;
    });
    while (!finished || set.pollRaw(copy) > 0)
      if (set.pollRaw(copy) === 0 && !finished) await set.waitForEvents(5);
    const calls = Number(/calls (\d+)/.exec((await done).text)![1]);
    const s = set.stats('work');
    console.log(
      `decode of the five-capture record (${record.length} bytes) to JSON values: ${fmtRate(decodeRate)} on one thread`,
    );
    console.log(
      `real calls, 2 goroutines for 1 s, drained: ${calls} calls, ${events} events (${fmtRate(events / ((performance.now() - t1) / 1000))}), ${s.ringFull} dropped`,
    );
  } finally {
    await set.close();
    await target.kill();
  }
  const results = await measureDrain(record!, [250_000, 500_000, 1_000_000, 2_000_000], 1000, RING_BYTES);
  const rows = [['offered', 'produced', 'drained', 'dropped (ring full)', 'drained per second']];
  for (const r of results)
    rows.push([
      fmtRate(r.offeredPerSecond),
      `${r.produced}`,
      `${r.drained}`,
      `${r.dropped}`,
      fmtRate(r.drainedPerSecond),
    ]);
  console.log(
    'drain by one agent (records copied out; synthetic producer of real records on another thread, 1 s each)',
  );
  console.log(formatTable(rows));
}

function shuffled<T>(xs: readonly T[], random: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function fmt(ns: number): string {
  return ns >= 1000 ? `${(ns / 1000).toFixed(2)} us` : `${ns.toFixed(1)} ns`;
}

function fmtRate(perSecond: number): string {
  return perSecond >= 1e6 ? `${(perSecond / 1e6).toFixed(2)}M/s` : `${Math.round(perSecond / 1000)}k/s`;
}

await main();
