/**
 * Benchmark: what a probe costs the probed program, per call of a small Go function
 * (testdata/probe-target's main.target, timed by the target itself). Configurations, all in
 * the same run, interleaved round by round: no probe (the anchor the program competes
 * with), an empty BPF program at the entry site (the floor every probe pays: trap, kernel
 * emulation of PUSHQ BP, program dispatch), a counter, the goid + first-argument event
 * through the ring buffer; then the same empty program and event at a single-stepped site
 * (the MOVQ SP, BP after the PUSHQ), which costs a second trap. Ratios are against the
 * no-probe and the floor anchors.
 *
 * Usage: npx tsc -p . && node dist/bench/probe-cost.js [--rounds N]
 */
import type { FileOffset } from '../src/common/address.js';
import { GoBinary } from '../src/gobinary/go-binary.js';
import type { ProbeAction } from '../src/probes/probe-set.js';
import { ProbeSet } from '../src/probes/probe-set.js';
import { functionCode } from '../src/probes/sites/function-code.js';
import { functionSites } from '../src/probes/sites/function-sites.js';
import { siteAt } from '../src/probes/sites/site.js';
import { buildFixture } from '../support/go-fixtures.js';
import { describeMachine, loadAverage } from '../support/machine.js';
import { median } from '../support/stats.js';
import { formatTable } from '../support/table.js';
import { startTarget, type Target } from '../support/target.js';

const roundsArg = process.argv.indexOf('--rounds');
const ROUNDS = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 5;

interface Config {
  readonly name: string;
  readonly site: 'none' | 'emulated' | 'stepped';
  readonly action?: ProbeAction;
  /** Calls per round: about a quarter of a second each. */
  readonly calls: number;
  readonly samples: number[];
}

async function timedCalls(t: Target, calls: number): Promise<number> {
  const since = performance.now();
  t.child.stdin!.write(`bench ${calls}\n`);
  const line = await t.waitFor(/^done bench/, 120_000, since);
  return Number(/ns (\d+)/.exec(line.text)![1]) / calls;
}

async function main(): Promise<void> {
  const { path } = await buildFixture('probe-target');
  const bin = await GoBinary.open(path);
  const sites = functionSites(bin, 'main.target');
  const code = functionCode(bin, bin.symtab.pcln.funcByName('main.target')!);
  // The instruction after the entry site (MOVQ SP, BP): single-stepped by the kernel.
  const next = code.instructions[code.bodyStart! + 1]!;
  const stepped = siteAt(bin, next, { kind: 'line', function: 'main.target', host: 'main.target' });
  if (sites.entry.handling !== 'emulated' || stepped.handling !== 'stepped')
    throw new Error(`unexpected sites: ${sites.entry.handling} / ${stepped.handling}`);
  const goidOffset = bin.runtimeLayout().gOffsets.goid;
  const event: ProbeAction = { kind: 'event', goidOffset, layout: { regs: ['ax'] } };
  const configs: Config[] = [
    { name: 'no probe', site: 'none', calls: 20_000_000, samples: [] },
    {
      name: 'empty program (floor)',
      site: 'emulated',
      action: { kind: 'empty' },
      calls: 200_000,
      samples: [],
    },
    { name: 'counter', site: 'emulated', action: { kind: 'count' }, calls: 200_000, samples: [] },
    { name: 'goid + first argument event', site: 'emulated', action: event, calls: 200_000, samples: [] },
    { name: 'empty program', site: 'stepped', action: { kind: 'empty' }, calls: 10_000, samples: [] },
    { name: 'goid + first argument event', site: 'stepped', action: event, calls: 10_000, samples: [] },
  ];
  const machine = describeMachine();
  const loadBefore = loadAverage();
  const target = await startTarget(path);
  try {
    await timedCalls(target, 1_000_000); // warm up
    for (let r = 0; r < ROUNDS; r++) {
      for (const c of configs) {
        let set: ProbeSet | undefined;
        if (c.site !== 'none') {
          const offset: FileOffset = c.site === 'emulated' ? sites.entry.fileOffset : stepped.fileOffset;
          set = await ProbeSet.open({
            tag: 'bc',
            pid: target.pid,
            path,
            offsets: [offset],
            action: c.action!,
            attach: 'perf',
          });
        }
        let events = 0;
        const drain = set && setInterval(() => (events += set!.poll(() => {})), 10);
        c.samples.push(await timedCalls(target, c.calls));
        if (drain) clearInterval(drain);
        if (set) {
          events += set.poll(() => {});
          if (c.action?.kind === 'event' && events !== c.calls)
            console.error(`${c.name} (${c.site}): ${events} events for ${c.calls} calls (ring full?)`);
          await set.close();
        }
      }
    }
  } finally {
    await target.kill();
  }
  const none = median(configs[0]!.samples);
  const floor = median(configs[1]!.samples);
  const rows = [
    ['configuration', 'site', 'per call (median of rounds)', 'added per call', 'x no probe', 'x floor'],
  ];
  for (const c of configs) {
    const m = median(c.samples);
    rows.push([
      c.name,
      c.site,
      fmt(m),
      c.site === 'none' ? '' : fmt(m - none),
      `${(m / none).toFixed(m / none >= 10 ? 0 : 2)}x`,
      c.site === 'none' ? '' : `${((m - none) / (floor - none)).toFixed(2)}x`,
    ]);
  }
  console.log(`probe cost per call of main.target (${ROUNDS} rounds, perf-event uprobes)`);
  console.log(formatTable(rows));
  console.log(
    `${machine.short}; Node ${machine.node}, ${machine.go}; load ${loadBefore} -> ${loadAverage()}`,
  );
  console.log(`date ${new Date().toISOString().slice(0, 10)}`);
}

function fmt(ns: number): string {
  return ns >= 1000 ? `${(ns / 1000).toFixed(2)} us` : `${ns.toFixed(1)} ns`;
}

await main();
