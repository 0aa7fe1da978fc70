/**
 * Capturing the spec's expressions on the frames of spec'd functions. Runs while the
 * process is paused, so that the values are consistent with the stacks; reads go through
 * a PauseMemory, which keeps every byte it read.
 *
 * The pause's budget goes to the user's captures first: every goroutine that may hold a
 * spec'd frame is unwound once, its frames of the user's functions evaluated, and only then
 * the built-in ones (gRPC and net/http links), so a server with thousands of connections in
 * built-in frames cannot push the user's values past the budget. A built-in frame whose
 * connection leads to no socket cannot link: its other captures are not read.
 */
import { type Address, addr } from '../common/address.js';
import { evaluate, evaluateRef, type FrameContext } from '../goruntime/expr/index.js';
import {
  decodeGoroutines,
  frameCfa,
  type Goroutine,
  type GoroutineCapture,
  mayHaveFrames,
  memoryOf,
} from '../goruntime/goroutines/index.js';
import {
  type GoValue,
  makeValueContext,
  redactedMark,
  socketOf,
  type ValueContext,
  withRedaction,
} from '../goruntime/values/index.js';
import type { CopiedMemory } from '../proc/copied-memory.js';
import type { Memory } from '../proc/memory.js';
import { dwarfRegisterValue, type Registers, withSigcontext } from '../proc/regs.amd64.js';
import { type CapturePlan, type CapturePlanEntry, type FunctionPlan, matchName } from './capture-plan.js';
import { PauseMemory } from './pause-memory.js';
import { learnPlan, type ReadPlans, ReadRecorder } from './read-plan.js';
import type { CapturedValue, FrameCapture } from './snapshot-types.js';

/** Registers of a thread as DWARF register number -> value. */
function dwarfRegisters(regs: Registers): (reg: number) => bigint | undefined {
  return (reg) => dwarfRegisterValue(regs, reg);
}

/** How captureFrames spends the pause's budget for values, and what it continues from. */
export interface FrameBudget {
  /** performance.now() past which no further expression is started (undefined: no limit). */
  readonly deadline: number | undefined;
  /** Expressions evaluated so far in this pass: the first always is, so every pause makes progress. */
  evaluated: number;
}

/** The frames captureFrames read, whether it got through them all, and how many it evaluated in. */
export interface FramesResult {
  readonly frames: FrameCapture[];
  /** False when the budget ran out first: the last frame may hold only its first values. */
  readonly complete: boolean;
  /** Frames in which this call evaluated at least one expression. */
  readonly evaluatedFrames: number;
}

/** Which frames a pass evaluates: the user's functions, the built-in ones, or all. */
export type Phase = 'user' | 'built-in' | 'all';

function inPhase(fp: FunctionPlan, phase: Phase): boolean {
  return phase === 'all' || (phase === 'built-in') === fp.builtIn;
}

/** The value of a socket capture: the socket's description, or why there is none (see socket-identity.ts). */
function socketValue(c: CapturePlanEntry, frame: FrameContext): CapturedValue {
  const r = evaluateRef(c.plan, frame);
  if (!r.ok) return { column: c.column, expr: c.expr, value: null, error: r.error };
  const s = socketOf(r.ctx, r.type, r.bytes, r.address);
  if (!s.ok)
    return { column: c.column, expr: c.expr, value: { socket: null, peer: null, unresolved: s.error } };
  const { network, local, remote, fd, via, localIp, localPort, remoteIp, remotePort } = s.socket;
  // TCP and UDP ends are named by their addresses, the same from both sides; Unix ones by
  // kernel inodes, filled in after the pause.
  const named = !network.startsWith('unix');
  const value: { [k: string]: GoValue } = {
    network,
    local,
    remote,
    ...(localIp !== undefined ? { local_ip: localIp } : {}),
    ...(localPort !== undefined ? { local_port: localPort } : {}),
    ...(remoteIp !== undefined ? { remote_ip: remoteIp } : {}),
    ...(remotePort !== undefined ? { remote_port: remotePort } : {}),
    fd,
    via: [...via],
    socket: named ? `${network} ${local}` : null,
    peer: named ? `${network} ${remote}` : null,
  };
  return { column: c.column, expr: c.expr, value };
}

/** Whether a socket capture found no socket (its frame cannot link). */
function noSocket(v: CapturedValue): boolean {
  return (
    v.value === null || (typeof v.value === 'object' && !Array.isArray(v.value) && 'unresolved' in v.value)
  );
}

/**
 * The captures of one goroutine: every frame whose function the spec names, once per table
 * of that function (in `phase`; the others keep what `prior` has of them). The budget is looked at before each
 * expression, so one frame with many expressions cannot outlast it. `prior` holds what an
 * earlier pass read of this goroutine: those values are kept and only the rest are
 * evaluated; frames given values here are marked `afterPause` when `afterPause` is set.
 */
export function captureFrames(
  plan: CapturePlan,
  ctx: ValueContext,
  g: Goroutine,
  threadRegs: ReadonlyMap<number, Registers>,
  signalContexts: ReadonlyMap<number, Uint8Array> = new Map(),
  pass: {
    budget?: FrameBudget;
    prior?: readonly FrameCapture[];
    afterPause?: boolean;
    phase?: Phase;
    /** Learn each fully evaluated frame's read plan into this (read-plan.ts). */
    learn?: ReadPlans;
  } = {},
): FramesResult {
  const out: FrameCapture[] = [];
  const frames = g.stack.frames;
  const { budget, prior } = pass;
  const phase = pass.phase ?? 'all';
  // The innermost physical frame: the first frame not inlined into an outer one.
  let innermostPhysical = 0;
  while (innermostPhysical < frames.length && frames[innermostPhysical]!.inlined) innermostPhysical++;
  const regs = registersOf(g, threadRegs, signalContexts);
  let evaluatedFrames = 0;
  for (let depth = 0; depth < frames.length; depth++) {
    const f = frames[depth]!;
    const entries = plan.functions.get(matchName(f.function));
    if (!entries) continue;
    const innermost = depth <= innermostPhysical;
    const rec = pass.learn ? new ReadRecorder(ctx.memory) : undefined;
    let learnable = rec !== undefined;
    const frame: FrameContext = {
      ctx: rec ? { ...ctx, memory: rec } : ctx,
      // Callers' pcs are return addresses: look variables up inside the call instruction.
      pc: addr(innermost ? f.pc : f.pc - 1) as Address,
      cfa: frameCfa(g.stack, f),
      ...(innermost && regs ? { registers: dwarfRegisters(regs) } : {}),
    };
    for (const fp of entries) {
      const before = prior?.find((p) => p.depth === depth && p.table === fp.spec.table);
      if (!inPhase(fp, phase) || (before && before.values.length === fp.captures.length)) {
        if (before) out.push(before);
        learnable = false; // the plan would lack the reads of what is not evaluated here
        continue;
      }
      if (before) learnable = false;
      const values: CapturedValue[] = before ? [...before.values] : [];
      let cut = false;
      for (let i = values.length; i < fp.captures.length; i++) {
        if (
          budget &&
          budget.evaluated > 0 &&
          budget.deadline !== undefined &&
          performance.now() >= budget.deadline
        ) {
          cut = true;
          break;
        }
        const c = fp.captures[i]!;
        if (c.socket) {
          const v = socketValue(c, frame);
          values.push(v);
          if (budget) budget.evaluated++;
          if (fp.builtIn && noSocket(v)) {
            // A built-in frame exists to be linked; without a socket its other values are noise.
            for (let j = i + 1; j < fp.captures.length; j++) {
              const rest = fp.captures[j]!;
              values.push({ column: rest.column, expr: rest.expr, value: null, error: SKIPPED });
            }
            break;
          }
          continue;
        }
        if (c.redacted) {
          values.push({
            column: c.column,
            expr: c.expr,
            value: redactedMark(c.redacted.rule, c.redacted.type),
          });
          continue;
        }
        const r = evaluate(c.plan, frame);
        if (budget) budget.evaluated++;
        values.push(
          r.ok
            ? { column: c.column, expr: c.expr, value: r.value }
            : { column: c.column, expr: c.expr, value: null, error: r.error },
        );
      }
      const touched = values.length > (before?.values.length ?? 0);
      if (touched) evaluatedFrames++;
      const late = (touched && pass.afterPause) || before?.afterPause;
      out.push({
        depth,
        function: f.function,
        table: fp.spec.table,
        values,
        ...(late ? { afterPause: true } : {}),
      });
      if (cut) return { frames: out, complete: false, evaluatedFrames };
    }
    if (rec && learnable && pass.learn && frame.cfa !== undefined) {
      const learned = learnPlan(rec.reads, frame.cfa, g.stackLo, g.stackHi);
      if (learned) pass.learn.add(f.function, f.pc, learned);
    }
  }
  return { frames: out, complete: true, evaluatedFrames };
}

/** The error of a built-in capture not read because its frame's connection has no socket. */
export const SKIPPED = "not read: this frame's connection leads to no socket, so it cannot link";

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

/** The goroutines (a mask over capture.gs) whose stacks may hold a frame of the spec's functions. */
export function valueCandidates(plan: CapturePlan, capture: GoroutineCapture): Uint8Array {
  return mayHaveFrames(capture.startPc, capture.packedStacks, capture.gs.length, plan.frameHosts, plan.bias);
}

/**
 * The spec's values on every frame of a spec'd function. Only the goroutines whose start pc
 * or copied stack holds a pc of such a function (or of one it was inlined into) are unwound
 * for it: inside a pause, unwinding every goroutine would cost more than the copy. Each is
 * unwound once: a first pass evaluates the frames of the user's functions, a second those
 * of the built-in ones.
 */
export function captureValues(
  plan: CapturePlan,
  capture: GoroutineCapture,
  reader: Memory,
  regs: ReadonlyMap<number, Registers>,
  maxFrames: number | undefined,
  opts: ValuesOptions = {},
): ValuesResult {
  const candidates = opts.only ?? valueCandidates(plan, capture);
  const indices: number[] = [];
  for (let i = 0; i < candidates.length; i++) if (candidates[i]) indices.push(i);
  const captures = new Map<Address, FrameCapture[]>();
  if (indices.length === 0) return { captures, pending: undefined, frames: 0, missed: 0 };
  // Only the candidates' headers and stacks (or what the pause kept for them), the rest
  // read through `reader` (the paused process, or the running one after the pause).
  const mem = opts.memory ?? memoryOf(capture, candidates, reader);
  const some: GoroutineCapture = { ...capture, memory: mem };
  // After a pause (markMisses), a byte read from the process is not kept for the next frames:
  // each frame that needs one is marked.
  const through = new PauseMemory(mem, reader, !opts.markMisses);
  const ctx = withRedaction(makeValueContext(plan.bin, through, plan.bias, plan.limits), plan.redaction);
  let missed = 0;
  /** Evaluates g's frames; with markMisses, a goroutine that needed a read past the kept bytes is marked. */
  const framesOf = (g: Goroutine, phase: Phase, prior: readonly FrameCapture[] | undefined): FramesResult => {
    const liveBefore = through.stats().reads;
    const r = captureFrames(plan, ctx, g, regs, capture.signalContexts, {
      budget,
      prior,
      afterPause: opts.afterPause,
      phase,
      ...(opts.learn ? { learn: opts.learn } : {}),
    });
    if (!opts.markMisses || through.stats().reads === liveBefore) return r;
    missed++;
    return { ...r, frames: r.frames.map((f) => (f.afterPause ? f : { ...f, afterPause: true })) };
  };
  const budget: FrameBudget = { deadline: opts.deadline, evaluated: 0 };
  const entries = [...plan.functions.values()].flat();
  const hasUser = entries.some((f) => !f.builtIn);
  const hasBuiltIn = entries.some((f) => f.builtIn);
  const twoPasses = hasUser && hasBuiltIn;
  /** Goroutines the first pass unwound that hold built-in frames, in order, for the second. */
  const later: Goroutine[] = [];
  let frames = 0;
  const pendingAt = (k: number, cut: Goroutine | undefined): Uint8Array => {
    const pending = pendingFrom(capture, indices, k, captures);
    const at = indexByAddress(capture, indices);
    for (const g of later) pending[at.get(g.address)!] = 1;
    if (cut) pending[at.get(cut.address)!] = 1;
    return pending;
  };
  for (let k = 0; k < indices.length; k += VALUES_CHUNK) {
    if (k > 0 && pastDeadline(budget)) return { captures, pending: pendingAt(k, undefined), frames, missed };
    const chunk = decodeGoroutines(plan.bin, some, {
      maxFrames,
      indices: indices.slice(k, k + VALUES_CHUNK),
    });
    for (const g of chunk.goroutines) {
      const r = framesOf(g, twoPasses ? 'user' : 'all', opts.prior?.get(g.address));
      frames += r.evaluatedFrames;
      captures.set(g.address, r.frames);
      if (!r.complete) return { captures, pending: pendingAt(k, g), frames, missed };
      if (twoPasses && holdsBuiltIn(plan, g)) later.push(g);
    }
  }
  while (later.length > 0) {
    const g = later[0]!;
    const r = framesOf(g, 'built-in', captures.get(g.address));
    frames += r.evaluatedFrames;
    captures.set(g.address, r.frames);
    if (!r.complete) return { captures, pending: pendingAt(indices.length, undefined), frames, missed };
    later.shift();
    if (later.length > 0 && pastDeadline(budget))
      return { captures, pending: pendingAt(indices.length, undefined), frames, missed };
  }
  return { captures, pending: undefined, frames, missed };
}

/** Whether the budget is spent (never before the first expression: every pause makes progress). */
function pastDeadline(budget: FrameBudget): boolean {
  return budget.evaluated > 0 && budget.deadline !== undefined && performance.now() >= budget.deadline;
}

/** Whether a goroutine has a frame of a built-in spec'd function. */
function holdsBuiltIn(plan: CapturePlan, g: Goroutine): boolean {
  return g.stack.frames.some(
    (f) => plan.functions.get(matchName(f.function))?.some((fp) => fp.builtIn) === true,
  );
}

/** The goroutines of indices[k..] whose values were not all read (a mask over capture.gs). */
function pendingFrom(
  capture: GoroutineCapture,
  indices: readonly number[],
  k: number,
  done: ReadonlyMap<Address, FrameCapture[]>,
): Uint8Array {
  const pending = new Uint8Array(capture.gs.length);
  for (let j = k; j < indices.length; j++)
    if (!done.has(addr(capture.gs[indices[j]!]!))) pending[indices[j]!] = 1;
  return pending;
}

/** The index in capture.gs of each goroutine among `indices`, by address. */
function indexByAddress(capture: GoroutineCapture, indices: readonly number[]): Map<Address, number> {
  const out = new Map<Address, number>();
  for (const i of indices) out.set(addr(capture.gs[i]!), i);
  return out;
}

/** Goroutines unwound and evaluated between two looks at the deadline. */
const VALUES_CHUNK = 16;

/** Options of captureValues. */
export interface ValuesOptions {
  /** Evaluate only these goroutines (a mask over capture.gs); default: those whose stacks may hold a spec'd frame. */
  readonly only?: Uint8Array;
  /**
   * performance.now() past which no new expression is started; the goroutines not read to the
   * end are returned as pending (the first expression of the call is always evaluated).
   */
  readonly deadline?: number;
  /** Mark the frames as read after the pause (from the running process). */
  readonly afterPause?: boolean;
  /** What the pause read of the pending goroutines (a frame the budget cut holds its first values): kept, the rest read. */
  readonly prior?: ReadonlyMap<Address, readonly FrameCapture[]>;
  /** Read through this copy first (what a pause kept for these goroutines) instead of copying their stacks again. */
  readonly memory?: CopiedMemory;
  /** Learn the read plan of each frame evaluated in full (read-plan.ts). */
  readonly learn?: ReadPlans;
  /** Mark afterPause the goroutines whose evaluation read past `memory` (its plan missed a read). */
  readonly markMisses?: boolean;
}

/** What captureValues read, and what it left for later. */
export interface ValuesResult {
  readonly captures: Map<Address, FrameCapture[]>;
  /** Goroutines left when the deadline passed (a mask over capture.gs), if any. */
  readonly pending: Uint8Array | undefined;
  /** Frames given values by this call. */
  readonly frames: number;
  /** Goroutines marked because they read past the kept memory (with markMisses). */
  readonly missed: number;
}
