/**
 * Malformed target memory never crashes the goroutine reader and never makes it loop:
 * damaged g headers, stacks and start registers give per-goroutine errors; garbage from
 * the very first read gives a clear error or an empty result; a stack full of return
 * addresses that lead nowhere stops at the frame cap.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addr, NO_BIAS } from '../../../src/common/address.js';
import { PeriscopeError } from '../../../src/common/errors.js';
import { GoBinary } from '../../../src/gobinary/go-binary.js';
import {
  captureGoroutines,
  type GoroutineCapture,
  planGoroutineCapture,
  StartSource,
} from '../../../src/goruntime/goroutines/capture.js';
import { decodeGoroutines } from '../../../src/goruntime/goroutines/decode.js';
import { stackSymbolsFor } from '../../../src/goruntime/goroutines/stack-symbols.js';
import { unwindAmd64 } from '../../../src/goruntime/goroutines/unwind.amd64.js';
import { type BatchMemory, CopiedMemory } from '../../../src/proc/copied-memory.js';
import { VmReader } from '../../../src/proc/vm-reader.js';
import { buildFixture } from '../../../support/go-fixtures.js';
import { prng } from '../../../support/prng.js';
import { startTarget } from '../../../support/target.js';

/** Captures the zoo once (no pause needed for damage tests: the bytes are what matters). */
async function zooCapture(): Promise<{ bin: GoBinary; capture: GoroutineCapture }> {
  const { path } = await buildFixture('goroutines');
  const bin = await GoBinary.open(path);
  const zoo = await startTarget(path);
  try {
    const reader = new VmReader(zoo.pid);
    const capture = captureGoroutines(planGoroutineCapture(bin), reader, []);
    reader.close();
    return { bin, capture };
  } finally {
    await zoo.kill();
  }
}

/** A copy of the capture whose bytes and start registers went through `damage`. */
function damaged(
  c: GoroutineCapture,
  rnd: () => number,
  damage: (bytes: Uint8Array, isHeader: boolean) => void,
): GoroutineCapture {
  const mem = new CopiedMemory();
  const gs = new Set(c.gs);
  for (const [start, end] of c.memory.ranges()) {
    const bytes = Uint8Array.from(c.memory.read(start, end - start));
    damage(
      bytes,
      [...gs].some((g) => g >= start && g < end),
    );
    mem.add(start, bytes);
  }
  const startPc = Float64Array.from(c.startPc, (v) => (rnd() < 0.2 ? Math.floor(rnd() * 2 ** 47) : v));
  const startSp = Float64Array.from(c.startSp, (v) =>
    rnd() < 0.2 ? v + Math.floor(rnd() * 4096) - 2048 : v,
  );
  return { ...c, memory: mem, startPc, startSp };
}

test('damaged g headers, stacks and registers give per-goroutine errors, never a crash or a hang', async () => {
  const { bin, capture } = await zooCapture();
  const clean = decodeGoroutines(bin, capture);
  assert.ok(clean.goroutines.length > 20);
  let withErrors = 0;
  for (let seed = 1; seed <= 60; seed++) {
    const rnd = prng(seed);
    const mode = seed % 3;
    const c = damaged(capture, rnd, (b, isHeader) => {
      if (mode === 0 && !isHeader) return;
      if (mode === 1 && isHeader) return;
      const n = Math.max(1, Math.floor(b.length * 0.02));
      for (let k = 0; k < n; k++) {
        const at = Math.floor(rnd() * b.length) & ~7;
        // Words of garbage, zeros, or plausible text addresses (which make loops and wild jumps).
        const v = rnd();
        const word =
          v < 0.3 ? 0 : v < 0.6 ? 0x400000 + Math.floor(rnd() * 0x100000) : Math.floor(rnd() * 2 ** 48);
        for (let j = 0; j < 8 && at + j < b.length; j++) b[at + j] = Math.floor(word / 2 ** (8 * j)) & 0xff;
      }
    });
    const snap = decodeGoroutines(bin, c);
    for (const g of snap.goroutines) {
      assert.ok(g.stack.frames.length <= 1024, 'frames are capped');
      if (g.errors.length > 0) withErrors++;
    }
  }
  assert.ok(withErrors > 0, 'damage shows up as per-goroutine errors');
});

test('garbage from the first read gives a clear error or a bounded result', async () => {
  const { path } = await buildFixture('goroutines');
  const bin = await GoBinary.open(path);
  const plan = planGoroutineCapture(bin, {
    maxGoroutines: 2000,
    maxStackBytes: 1 << 16,
    maxTotalStackBytes: 1 << 20,
  });
  for (let seed = 1; seed <= 30; seed++) {
    const rnd = prng(seed);
    const garbage: BatchMemory = {
      readBatch: (ranges) =>
        ranges.map((r) => {
          if (rnd() < 0.1) return undefined;
          const b = new Uint8Array(r.size);
          for (let i = 0; i < b.length; i++) b[i] = rnd() < 0.5 ? 0 : Math.floor(rnd() * 256);
          return b;
        }),
    };
    try {
      const capture = captureGoroutines(plan, garbage, [{ tid: 1, pc: 0x401000, sp: 0x7fff0000 }]);
      const snap = decodeGoroutines(bin, capture);
      assert.ok(snap.goroutines.length <= 2000);
    } catch (e) {
      assert.ok(e instanceof PeriscopeError, `a PeriscopeError, not ${String(e)}`);
    }
  }
});

test('a stack of return addresses that lead nowhere stops at the frame cap', async () => {
  const { path } = await buildFixture('goroutines');
  const bin = await GoBinary.open(path);
  const sym = stackSymbolsFor(bin);
  const spin = bin.symtab.pcln.funcByName('main.spinA')!;
  // spinA has no frame of its own at entry: every word is a return address into it.
  const lo = 0x7f0000000000;
  const words = new Uint8Array(1 << 16);
  const pc = spin.entry + 1;
  for (let i = 0; i < words.length; i += 8)
    for (let j = 0; j < 8; j++) words[i + j] = Math.floor(pc / 2 ** (8 * j)) & 0xff;
  const mem = new CopiedMemory();
  mem.add(addr(lo), words);
  const stack = unwindAmd64(
    sym,
    mem,
    { pc: spin.entry, sp: lo, trap: true, syscall: false },
    { lo, hi: lo + words.length, maxFrames: 1024, bias: NO_BIAS },
  );
  assert.ok(stack.frames.length <= 1024);
  assert.ok(stack.end === 'truncated' || stack.end === 'error', `ended by ${stack.end}`);
});

test('a running goroutine whose saved context is cleared and whose thread is off its stack: stack unavailable, not an error', async () => {
  const { bin, capture } = await zooCapture();
  // A goroutine whose thread is off its stack where no saved context can be found (see
  // signal-frames.test.ts for the signal handler, where one is): status running, no usable
  // thread registers (source sched-stale), g.sched.sp cleared by gogo.
  const i = capture.source.indexOf(StartSource.Sched);
  assert.ok(i >= 0);
  const startSp = Float64Array.from(capture.startSp);
  const source = Uint8Array.from(capture.source);
  startSp[i] = 0;
  source[i] = StartSource.SchedStale;
  const decoded = decodeGoroutines(bin, { ...capture, startSp, source });
  const g = decoded.goroutines.find((x) => x.address === capture.gs[i]);
  assert.ok(g);
  assert.equal(g.stack.end, 'unavailable');
  assert.deepEqual(g.stack.frames, []);
  assert.deepEqual(g.errors, []);
  // The rule is that narrow: a zero sp from any other source is still an error.
  source[i] = StartSource.Sched;
  const other = decodeGoroutines(bin, { ...capture, startSp, source }).goroutines.find(
    (x) => x.address === capture.gs[i],
  );
  assert.equal(other?.stack.end, 'error');
});
