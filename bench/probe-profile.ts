/**
 * Benchmark: what each probe program does per hit of testdata/probe-values' main.work, from
 * the kernel's side: instructions emitted, verified (bpf_prog_info.verified_insns) and
 * translated, helper calls by name, and the program's own run time per hit
 * (BPF_ENABLE_STATS: run_time_ns / run_cnt), next to the CPU time per call the target
 * measures (trap + program). Configurations interleaved round by round: the floor (an empty
 * program), a counter, one captured register, and the five captures of bench/probe-cost.ts.
 *
 * Usage: npx tsc -p . && node dist/bench/probe-profile.js [--rounds N] [--ring BYTES] [--drain-ms MS]
 */
import { AttachedProbes } from '../src/probes/attached-probes.js';
import { Assembler } from '../src/probes/bpf/assembler.js';
import { attachUprobeMulti } from '../src/probes/bpf/attach.js';
import { CMD, newAttr, putPointer } from '../src/probes/bpf/attr.js';
import { type Helper, helperName, R0, R1, R2, R3, R6, R7, R10 } from '../src/probes/bpf/isa.js';
import { type BpfMap, createMap } from '../src/probes/bpf/maps.js';
import { enableRunTimeStats, runStats } from '../src/probes/bpf/prog-stats.js';
import { ATTACH_UPROBE_MULTI, loadProgram } from '../src/probes/bpf/program.js';
import { RingBufferReader } from '../src/probes/bpf/ringbuf.js';
import { syscalls } from '../src/probes/bpf/syscalls.js';
import { type CompiledProbe, compileProbe } from '../src/probes/compile/compile-probe.js';
import { ProbeSet } from '../src/probes/probe-set.js';
import { functionSites } from '../src/probes/sites/function-sites.js';
import { drainLoop, drainMsArg } from '../support/drain-loop.js';
import { describeMachine, loadAverage } from '../support/machine.js';
import { fixtureBinary } from '../support/probe-fixture.js';
import { median } from '../support/stats.js';
import { formatTable } from '../support/table.js';
import { startTarget, type Target } from '../support/target.js';

const roundsArg = process.argv.indexOf('--rounds');
const ROUNDS = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 5;
const CALLS = 200_000;
const ringArg = process.argv.indexOf('--ring');
/** Ring buffer bytes of the probes measured (default: what an agent uses, 8 MiB). */
const RING = ringArg > 0 ? Number(process.argv[ringArg + 1]) : 1 << 23;
/** Milliseconds between drains of the ring buffers (0: each turn of the event loop). */
const DRAIN_MS = drainMsArg(2);

/** bpf_prog_info: translated bytes, and the instructions the verifier processed. */
function programSize(fd: number): { xlated: number; verified: number } {
  const info = Buffer.alloc(220);
  const attr = newAttr();
  attr.writeUInt32LE(fd, 0);
  attr.writeUInt32LE(info.length, 4);
  putPointer(attr, 8, info);
  if (syscalls().bpf(CMD.OBJ_GET_INFO_BY_FD, attr) !== 0) return { xlated: 0, verified: 0 };
  return { xlated: info.readUInt32LE(20) / 8, verified: info.readUInt32LE(216) };
}

/** Helper calls in emitted bytecode, by name (in program order; a call on a branch counts once). */
function helpers(insns: Uint8Array): string[] {
  const out: string[] = [];
  for (let i = 0; i + 8 <= insns.length; i += 8)
    if (insns[i] === 0x85)
      out.push(helperName(new DataView(insns.buffer, insns.byteOffset + i + 4).getInt32(0, true)) ?? '?');
  return out;
}

/** Programs that make one kind of helper call `n` times in a row: what each costs per hit. */
function helperProgram(what: Helper | 'reserve+submit', n: number, ring: BpfMap): Uint8Array {
  const a = new Assembler().mov64(R6, R1);
  for (let i = 0; i < n; i++) {
    if (what === 'reserve+submit') {
      const skip = `s${i}`;
      a.ldMap(R1, ring).mov64(R2, 424).mov64(R3, 0).call('ringbuf_reserve');
      a.jmp('jeq', R0, 0, skip)
        .mov64(R7, R0)
        .st('dw', R7, 0, 0)
        .mov64(R1, R7)
        .mov64(R2, 0)
        .call('ringbuf_submit');
      a.label(skip);
    } else if (what === 'probe_read_user') {
      // The goroutine id: 8 bytes at r14 + 152, as the event header reads it.
      a.mov64(R1, R10).alu64('add', R1, -16).mov64(R2, 8).ldx('dw', R3, R6, 8).alu64('add', R3, 152);
      a.call('probe_read_user');
    } else if (what === 'get_attach_cookie') a.mov64(R1, R6).call(what);
    else a.call(what);
  }
  return a.mov64(R0, 0).exit().assemble();
}

interface Config {
  readonly name: string;
  readonly probe?: CompiledProbe;
  /** The small ring's bytes (default: the agent's). */
  readonly hotRing?: number;
  cpu: number[];
  prog: number[];
  insns?: number;
  size?: { xlated: number; verified: number };
  calls?: string[];
}

async function main(): Promise<void> {
  const bin = await fixtureBinary();
  const sites = functionSites(bin, 'main.work');
  const at = { kind: 'entry', function: 'main.work' } as const;
  const spec = (captures: string[]) => compileProbe(bin, { name: 'work', at, captures });
  const configs: Config[] = [
    { name: 'empty BPF program (floor)', cpu: [], prog: [] },
    { name: 'counter', probe: spec([]), cpu: [], prog: [] },
    { name: '1 capture (a)', probe: spec(['a']), cpu: [], prog: [] },
    { name: '5 captures', probe: spec(['a', 's', 'p', 'b', 'xs']), cpu: [], prog: [] },
    {
      name: '5 captures, one large ring (as before)',
      probe: spec(['a', 's', 'p', 'b', 'xs']),
      hotRing: RING,
      cpu: [],
      prog: [],
    },
  ];
  for (const c of configs)
    if (c.probe) {
      const insns = c.probe.program(
        0,
        0,
        { kind: 'cookie' },
        {
          ring: { fd: 0 },
          hotBytes: 1 << 20,
          overflow: { fd: 0 },
          stats: { fd: 0 },
          histogram: { fd: 0 },
          starts: { fd: 0 },
          rate: { fd: 0 },
          stacks: { fd: 0 },
          stackFrames: 1,
        },
        0,
      );
      c.insns = insns.length / 8;
      c.calls = helpers(insns);
    }
  const statsFd = enableRunTimeStats();
  const loadBefore = loadAverage();
  const target = await startTarget(bin.path);
  const timed = async (t: Target) => {
    const since = performance.now();
    t.child.stdin!.write(`bench ${CALLS}\n`);
    const line = await t.waitFor(/^done bench/, 300_000, since);
    return Number(/cpu (\d+)/.exec(line.text)![1]) / CALLS;
  };
  try {
    await timed(target);
    for (let r = 0; r < ROUNDS; r++)
      for (const c of r % 2 ? [...configs].reverse() : configs) {
        let fds: number[];
        let close: () => Promise<void>;
        if (c.probe) {
          const set = await AttachedProbes.attach([c.probe], {
            pid: target.pid,
            ringBytes: RING,
            ...(c.hotRing ? { hotRingBytes: c.hotRing } : {}),
          });
          const stopDrain = drainLoop(() => set.pollRaw(() => {}), DRAIN_MS);
          fds = set.programFds;
          close = async () => {
            stopDrain();
            await set.close();
          };
        } else {
          const set = await ProbeSet.open({
            tag: 'pf',
            pid: target.pid,
            path: bin.path,
            offsets: [sites.entry.fileOffset],
            action: { kind: 'empty' },
            attach: 'multi',
          });
          fds = set.programFds;
          close = () => set.close();
        }
        try {
          c.size ??= programSize(fds[0]!);
          const before = runStats(fds[0]!);
          c.cpu.push(await timed(target));
          const after = runStats(fds[0]!);
          c.prog.push((after.runTimeNs - before.runTimeNs) / Math.max(1, after.runCount - before.runCount));
        } finally {
          await close();
        }
      }
  } finally {
    await target.kill();
    syscalls().close(statsFd);
  }
  // Each helper alone, 8 calls a hit (the ring drained meanwhile), against the empty program.
  const parts: [string, number, number][] = [];
  const ring = createMap({
    name: 'periscope_pfr',
    type: 'ringbuf',
    keySize: 0,
    valueSize: 0,
    maxEntries: 1 << 24,
  });
  const t2 = await startTarget(bin.path);
  const stats2 = enableRunTimeStats();
  try {
    const kinds: (Helper | 'reserve+submit' | 'none')[] = [
      'none',
      'ktime_get_ns',
      'get_current_pid_tgid',
      'get_attach_cookie',
      'probe_read_user',
      'reserve+submit',
    ];
    for (const k of kinds) {
      const n = k === 'none' ? 0 : 8;
      const insns = helperProgram(k === 'none' ? 'ktime_get_ns' : k, n, ring);
      const prog = loadProgram({ name: 'periscope_pfh', insns, expectedAttachType: ATTACH_UPROBE_MULTI });
      const link = attachUprobeMulti(prog, bin.path, [sites.entry.fileOffset], t2.pid);
      const rb = new RingBufferReader(ring);
      const stopDrain = drainLoop(() => rb.poll(() => {}), DRAIN_MS);
      try {
        const ns: number[] = [];
        for (let r = 0; r < ROUNDS; r++) {
          const before = runStats(prog.fd);
          await timed(t2);
          const after = runStats(prog.fd);
          ns.push((after.runTimeNs - before.runTimeNs) / Math.max(1, after.runCount - before.runCount));
        }
        parts.push([k, n, median(ns)]);
      } finally {
        stopDrain();
        rb.close();
        await link.detach();
        prog.close();
      }
    }
  } finally {
    await t2.kill();
    syscalls().close(stats2);
    ring.close();
  }
  const base = parts[0]![2];
  console.log(
    formatTable([
      ['helper (8 calls a hit)', 'program ns/hit', 'ns per call'],
      ...parts.map(([k, n, ns]) => [k, ns.toFixed(0), n === 0 ? '' : ((ns - base) / n).toFixed(1)]),
    ]),
  );
  const floor = median(configs[0]!.cpu);
  const rows = [
    [
      'configuration',
      'insns emitted / xlated / verified',
      'helper calls',
      'program ns/hit',
      'CPU ns/call',
      'x floor',
    ],
  ];
  for (const c of configs)
    rows.push([
      c.name,
      c.probe
        ? `${c.insns} / ${c.size?.xlated} / ${c.size?.verified}`
        : `— / ${c.size?.xlated} / ${c.size?.verified}`,
      c.calls
        ? `${c.calls.length}: ${[...new Set(c.calls)].map((h) => `${h} x${c.calls!.filter((x) => x === h).length}`).join(', ')}`
        : '0',
      median(c.prog).toFixed(0),
      median(c.cpu).toFixed(0),
      `${(median(c.cpu) / floor).toFixed(2)}x`,
    ]);
  console.log(
    `per hit of main.work, medians of ${ROUNDS} rounds of ${CALLS} calls; overflow ring ${RING} bytes, drained every ${DRAIN_MS} ms`,
  );
  console.log(formatTable(rows));
  console.log(
    `${describeMachine().short}; Node ${describeMachine().node}, ${describeMachine().go}; load ${loadBefore} -> ${loadAverage()}; ${new Date().toISOString().slice(0, 10)}`,
  );
}

await main();
