/**
 * Capturing the spec's expressions on the frames of spec'd functions. Runs while the
 * process is paused, so that the values are consistent with the stacks; reads go through
 * a PauseMemory, which keeps every byte it read.
 */
import { type Address, addr } from '../common/address.js';
import { evaluate, type FrameContext } from '../goruntime/expr/index.js';
import {
  decodeGoroutines,
  type Goroutine,
  type GoroutineCapture,
  mayHaveFrames,
  memoryOf,
} from '../goruntime/goroutines/index.js';
import { makeValueContext, type ValueContext } from '../goruntime/values/index.js';
import type { Memory } from '../proc/memory.js';
import { dwarfRegisterValue, type Registers, withSigcontext } from '../proc/regs.amd64.js';
import { type CapturePlan, matchName } from './capture-plan.js';
import { PauseMemory } from './pause-memory.js';
import type { CapturedValue, FrameCapture } from './snapshot-types.js';

/** Registers of a thread as DWARF register number -> value. */
function dwarfRegisters(regs: Registers): (reg: number) => bigint | undefined {
  return (reg) => dwarfRegisterValue(regs, reg);
}

/** The captures of one goroutine: every frame whose function the spec names. */
export function captureFrames(
  plan: CapturePlan,
  ctx: ValueContext,
  g: Goroutine,
  threadRegs: ReadonlyMap<number, Registers>,
  signalContexts: ReadonlyMap<number, Uint8Array> = new Map(),
): FrameCapture[] {
  const out: FrameCapture[] = [];
  const frames = g.stack.frames;
  // The innermost physical frame: the first frame not inlined into an outer one.
  let innermostPhysical = 0;
  while (innermostPhysical < frames.length && frames[innermostPhysical]!.inlined) innermostPhysical++;
  const regs = registersOf(g, threadRegs, signalContexts);
  for (let depth = 0; depth < frames.length; depth++) {
    const f = frames[depth]!;
    const fp = plan.functions.get(matchName(f.function));
    if (!fp) continue;
    const innermost = depth <= innermostPhysical;
    const frame: FrameContext = {
      ctx,
      // Callers' pcs are return addresses: look variables up inside the call instruction.
      pc: addr(innermost ? f.pc : f.pc - 1) as Address,
      cfa: f.cfa,
      ...(innermost && regs ? { registers: dwarfRegisters(regs) } : {}),
    };
    const values: CapturedValue[] = fp.captures.map((c) => {
      const r = evaluate(c.plan, frame);
      return r.ok
        ? { column: c.column, expr: c.expr, value: r.value }
        : { column: c.column, expr: c.expr, value: null, error: r.error };
    });
    out.push({ depth, function: f.function, table: fp.spec.table, values });
  }
  return out;
}

/**
 * The registers of a goroutine's innermost frame: its thread's when it was running there, the
 * context its thread's signal handler interrupted (saved general registers, the rest from the
 * thread), or none for a parked goroutine (its frames keep nothing in registers).
 */
function registersOf(
  g: Goroutine,
  threadRegs: ReadonlyMap<number, Registers>,
  signalContexts: ReadonlyMap<number, Uint8Array>,
): Registers | undefined {
  const thread = g.threadId === undefined ? undefined : threadRegs.get(g.threadId);
  if (g.stackSource === 'thread') return thread;
  const saved = g.stackSource === 'signal' ? signalContexts.get(g.address) : undefined;
  return thread && saved ? withSigcontext(thread, saved) : undefined;
}

/**
 * The spec's values on every frame of a spec'd function. Only the goroutines whose start pc
 * or copied stack holds a pc of such a function (or of one it was inlined into) are unwound
 * for it: inside a pause, unwinding every goroutine would cost more than the copy.
 */
export function captureValues(
  plan: CapturePlan,
  capture: GoroutineCapture,
  reader: Memory,
  regs: ReadonlyMap<number, Registers>,
  maxFrames: number | undefined,
  opts: ValuesOptions = {},
): ValuesResult {
  const candidates =
    opts.only ??
    mayHaveFrames(capture.startPc, capture.packedStacks, capture.gs.length, plan.frameHosts, plan.bias);
  const indices: number[] = [];
  for (let i = 0; i < candidates.length; i++) if (candidates[i]) indices.push(i);
  const captures = new Map<Address, FrameCapture[]>();
  if (indices.length === 0) return { captures, pending: undefined, frames: 0 };
  // Only the candidates' headers and stacks, the rest read through `reader` (the paused
  // process, or the running one for values read after the pause).
  const mem = memoryOf(capture, candidates, reader);
  const some: GoroutineCapture = { ...capture, memory: mem };
  const ctx = makeValueContext(plan.bin, new PauseMemory(mem, reader), plan.bias, plan.limits);
  let frames = 0;
  for (let k = 0; k < indices.length; k += VALUES_CHUNK) {
    if (k > 0 && opts.deadline !== undefined && performance.now() > opts.deadline) {
      const pending = new Uint8Array(capture.gs.length);
      for (let j = k; j < indices.length; j++) pending[indices[j]!] = 1;
      return { captures, pending, frames };
    }
    const chunk = decodeGoroutines(plan.bin, some, {
      maxFrames,
      indices: indices.slice(k, k + VALUES_CHUNK),
    });
    for (const g of chunk.goroutines) {
      const fc = captureFrames(plan, ctx, g, regs, capture.signalContexts);
      frames += fc.length;
      captures.set(g.address, opts.afterPause ? fc.map((f) => ({ ...f, afterPause: true })) : fc);
    }
  }
  return { captures, pending: undefined, frames };
}

/** Goroutines unwound and evaluated between two looks at the deadline. */
const VALUES_CHUNK = 16;

/** Options of captureValues. */
export interface ValuesOptions {
  /** Evaluate only these goroutines (a mask over capture.gs); default: those whose stacks may hold a spec'd frame. */
  readonly only?: Uint8Array;
  /** performance.now() past which no new goroutine is started; the rest are returned as pending. */
  readonly deadline?: number;
  /** Mark the frames as read after the pause (from the running process). */
  readonly afterPause?: boolean;
}

/** What captureValues read, and what it left for later. */
export interface ValuesResult {
  readonly captures: Map<Address, FrameCapture[]>;
  /** Goroutines left when the deadline passed (a mask over capture.gs), if any. */
  readonly pending: Uint8Array | undefined;
  /** Frames captured. */
  readonly frames: number;
}
