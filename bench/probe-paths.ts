/**
 * Benchmark: the ways a probe program can write an event, each alone at the entry site of
 * testdata/probe-values' main.work: CPU time per call as the target measures it and the
 * program's own run time (BPF_ENABLE_STATS), interleaved round by round. What it answers:
 * which part of an event's cost is the ring buffer, the record's size, the clock, a read.
 *
 * Usage: npx tsc -p . && node dist/bench/probe-paths.js [--rounds N]
 */
import { Assembler } from '../src/probes/bpf/assembler.js';
import { attachUprobeMulti } from '../src/probes/bpf/attach.js';
import { R0, R1, R2, R3, R4, R6, R7, R10 } from '../src/probes/bpf/isa.js';
import { type BpfMap, createMap } from '../src/probes/bpf/maps.js';
import { enableRunTimeStats, runStats } from '../src/probes/bpf/prog-stats.js';
import { ATTACH_UPROBE_MULTI, loadProgram } from '../src/probes/bpf/program.js';
import { RingBufferReader } from '../src/probes/bpf/ringbuf.js';
import { syscalls } from '../src/probes/bpf/syscalls.js';
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
const MiB = 1 << 20;
/** Milliseconds between drains of the rings (0: each turn of the event loop). */
const DRAIN_MS = drainMsArg(2);

interface Variant {
  readonly name: string;
  readonly ring: number;
  /** A second, larger ring the program falls back to when `ring` is full. */
  readonly overflow?: number;
  readonly emit: (a: Assembler, m: { ring: BpfMap; scratch: BpfMap; big: BpfMap; overflow?: BpfMap }) => void;
  cpu: number[];
  prog: number[];
}

/** 8-byte stores of `bytes` bytes at r7. */
const fill = (a: Assembler, bytes: number, base = R7, off = 0) => {
  for (let i = 0; i < bytes; i += 8) a.st('dw', base, off + i, i);
};
const reserve = (a: Assembler, ring: BpfMap, bytes: number, body: () => void, submitFlags = 0) => {
  a.ldMap(R1, ring).mov64(R2, bytes).mov64(R3, 0).call('ringbuf_reserve');
  a.jmp('jeq', R0, 0, 'out').mov64(R7, R0);
  body();
  a.mov64(R1, R7).mov64(R2, submitFlags).call('ringbuf_submit');
  a.label('out');
};

function variants(): Variant[] {
  const v = (name: string, ring: number, emit: Variant['emit'], overflow?: number): Variant => ({
    name,
    ring,
    overflow,
    emit,
    cpu: [],
    prog: [],
  });
  const twoRings = (a: Assembler, m: { ring: BpfMap; overflow?: BpfMap }) => {
    a.ldMap(R1, m.ring).mov64(R2, 424).mov64(R3, 0).call('ringbuf_reserve');
    a.jmp('jne', R0, 0, 'got');
    a.ldMap(R1, m.overflow!).mov64(R2, 424).mov64(R3, 0).call('ringbuf_reserve');
    a.jmp('jeq', R0, 0, 'out');
    a.label('got').mov64(R7, R0);
    fill(a, 424);
    a.mov64(R1, R7).mov64(R2, 0).call('ringbuf_submit');
    a.label('out');
  };
  return [
    v('empty (floor)', 4096, () => {}),
    v('ktime_get_ns', 4096, (a) => a.call('ktime_get_ns')),
    v('jiffies64', 4096, (a) => a.call('jiffies64')),
    v('probe_read_user 8 bytes (goid)', 4096, (a) => {
      a.mov64(R1, R10).alu64('add', R1, -64).mov64(R2, 8).ldx('dw', R3, R6, 8).alu64('add', R3, 152);
      a.call('probe_read_user');
    }),
    v('probe_read_user 64 bytes (g)', 4096, (a) => {
      a.mov64(R1, R10).alu64('add', R1, -64).mov64(R2, 64).ldx('dw', R3, R6, 8).alu64('add', R3, 128);
      a.call('probe_read_user');
    }),
    v('reserve 424 + 1 store + submit, 8 MiB', 8 * MiB, (a, m) => reserve(a, m.ring, 424, () => fill(a, 8))),
    v('reserve 424 + 424 bytes stored + submit, 8 MiB', 8 * MiB, (a, m) =>
      reserve(a, m.ring, 424, () => fill(a, 424)),
    ),
    v('same, 32 MiB', 32 * MiB, (a, m) => reserve(a, m.ring, 424, () => fill(a, 424))),
    v('same, 1 MiB', 1 * MiB, (a, m) => reserve(a, m.ring, 424, () => fill(a, 424))),
    v('same, submit without wake-up', 8 * MiB, (a, m) => reserve(a, m.ring, 424, () => fill(a, 424), 1)),
    v('reserve 128 + 128 bytes + submit, 8 MiB', 8 * MiB, (a, m) =>
      reserve(a, m.ring, 128, () => fill(a, 128)),
    ),
    v('424 bytes on the stack + ringbuf_output', 8 * MiB, (a, m) => {
      fill(a, 424, R10, -424);
      a.ldMap(R1, m.ring).mov64(R2, R10).alu64('add', R2, -424).mov64(R3, 424).mov64(R4, 0);
      a.call('ringbuf_output');
    }),
    v('424 bytes into a per-CPU array value (no ring)', 4096, (a, m) => {
      a.st('w', R10, -8, 0).ldMap(R1, m.scratch).mov64(R2, R10).alu64('add', R2, -8).call('map_lookup_elem');
      a.jmp('jeq', R0, 0, 'out').mov64(R7, R0);
      fill(a, 424);
      a.label('out');
    }),
    v('424 bytes round-robin into an 8 MiB array (no reader)', 4096, (a, m) => roundRobin(a, m.big, 16384)),
    v('424 bytes round-robin into a 64 KiB array (no reader)', 4096, (a, m) => roundRobin(a, m.big, 128)),
    v('8 bytes round-robin, 512-byte stride, 8 MiB array', 4096, (a, m) => roundRobin(a, m.big, 16384, 8)),
    v('8 bytes round-robin, 4 KiB stride, 8 MiB array', 4096, (a, m) => roundRobin(a, m.big, 16384, 8, 3)),
    v('8 bytes round-robin, 512-byte stride, 1 MiB array', 4096, (a, m) => roundRobin(a, m.big, 2048, 8)),
    v('424 bytes round-robin into a 1 MiB array (no reader)', 4096, (a, m) => roundRobin(a, m.big, 2048)),
    v('424 bytes, 1 MiB ring, else an 8 MiB one', 1 * MiB, twoRings, 8 * MiB),
    v('424 bytes, 2 MiB ring, else an 8 MiB one', 2 * MiB, twoRings, 8 * MiB),
    v('424 bytes, 512 KiB ring, else an 8 MiB one', MiB / 2, twoRings, 8 * MiB),
  ];
}

/** Stores a 424-byte record into entry (counter++ % entries) of `big` (512-byte entries; entry 0 of scratch counts). */
function roundRobin(a: Assembler, big: BpfMap, entries: number, bytes = 424, strideShift = 0): void {
  a.st('w', R10, -8, 0).ldMap(R1, big).mov64(R2, R10).alu64('add', R2, -8).call('map_lookup_elem');
  a.jmp('jeq', R0, 0, 'out').mov64(R7, R0);
  a.ldx('dw', R1, R7, 0).alu64('add', R1, 1).stx('dw', R7, 0, R1);
  a.alu64('lsh', R1, strideShift)
    .alu64('and', R1, entries - 1)
    .alu64('add', R1, 1)
    .stx('w', R10, -8, R1);
  a.ldMap(R1, big).mov64(R2, R10).alu64('add', R2, -8).call('map_lookup_elem');
  a.jmp('jeq', R0, 0, 'out').mov64(R7, R0);
  fill(a, bytes);
  a.label('out');
}

async function main(): Promise<void> {
  const bin = await fixtureBinary();
  const site = functionSites(bin, 'main.work').entry.fileOffset;
  const vs = variants();
  const scratch = createMap({
    name: 'periscope_pps',
    type: 'percpuArray',
    keySize: 4,
    valueSize: 512,
    maxEntries: 1,
  });
  const big = createMap({
    name: 'periscope_ppb',
    type: 'array',
    keySize: 4,
    valueSize: 512,
    maxEntries: 16385,
  });
  const statsFd = enableRunTimeStats();
  const loadBefore = loadAverage();
  const target = await startTarget(bin.path);
  const timed = async (t: Target) => {
    const since = performance.now();
    t.child.stdin!.write(`bench ${CALLS}\n`);
    const line = await t.waitFor(/^done bench/, 300_000, since);
    return Number(/cpu (\d+)/.exec(line.text)![1]) / CALLS;
  };
  const drops = new Map<string, number>();
  const spills = new Map<string, number>();
  try {
    await timed(target);
    for (let r = 0; r < ROUNDS; r++)
      for (const c of r % 2 ? [...vs].reverse() : vs) {
        const ring = createMap({
          name: 'periscope_ppr',
          type: 'ringbuf',
          keySize: 0,
          valueSize: 0,
          maxEntries: c.ring,
        });
        const a = new Assembler().mov64(R6, R1);
        const overflow = c.overflow
          ? createMap({
              name: 'periscope_ppo',
              type: 'ringbuf',
              keySize: 0,
              valueSize: 0,
              maxEntries: c.overflow,
            })
          : undefined;
        c.emit(a, { ring, scratch, big, overflow });
        const prog = loadProgram({
          name: 'periscope_pp',
          insns: a.mov64(R0, 0).exit().assemble(),
          expectedAttachType: ATTACH_UPROBE_MULTI,
        });
        const link = attachUprobeMulti(prog, bin.path, [site], target.pid);
        const rb = new RingBufferReader(ring);
        const ob = overflow ? new RingBufferReader(overflow) : undefined;
        let read = 0;
        let spilled = 0;
        const stopDrain = drainLoop(() => {
          read += rb.poll(() => {});
          const o = ob?.poll(() => {}) ?? 0;
          read += o;
          spilled += o;
        }, DRAIN_MS);
        try {
          const before = runStats(prog.fd);
          c.cpu.push(await timed(target));
          const after = runStats(prog.fd);
          c.prog.push((after.runTimeNs - before.runTimeNs) / Math.max(1, after.runCount - before.runCount));
          if (c.ring > 4096)
            drops.set(
              c.name,
              (drops.get(c.name) ?? 0) + CALLS - read - rb.poll(() => {}) - (ob?.poll(() => {}) ?? 0),
            );
          if (ob) spills.set(c.name, (spills.get(c.name) ?? 0) + spilled);
        } finally {
          stopDrain();
          rb.close();
          ob?.close();
          overflow?.close();
          await link.detach();
          prog.close();
          ring.close();
        }
      }
  } finally {
    await target.kill();
    syscalls().close(statsFd);
    scratch.close();
    big.close();
  }
  const floor = median(vs[0]!.cpu);
  const floorProg = median(vs[0]!.prog);
  console.log(`per hit of main.work, medians of ${ROUNDS} rounds of ${CALLS} calls`);
  console.log(
    formatTable([
      [
        'program',
        'program ns/hit',
        'CPU ns/call',
        'CPU - floor',
        'program - floor',
        'x floor',
        'not drained',
        'to the 2nd ring',
      ],
      ...vs.map((c) => [
        c.name,
        median(c.prog).toFixed(0),
        median(c.cpu).toFixed(0),
        (median(c.cpu) - floor).toFixed(0),
        (median(c.prog) - floorProg).toFixed(0),
        `${(median(c.cpu) / floor).toFixed(2)}x`,
        drops.has(c.name) ? String(drops.get(c.name)) : '',
        spills.has(c.name) ? String(spills.get(c.name)) : '',
      ]),
    ]),
  );
  console.log(
    `${describeMachine().short}; Node ${describeMachine().node}, ${describeMachine().go}; load ${loadBefore} -> ${loadAverage()}; ${new Date().toISOString().slice(0, 10)}`,
  );
}

await main();
