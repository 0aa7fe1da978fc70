/**
 * The spec's values with only reads in the pause: inside it, the goroutines that may hold a
 * spec'd frame are unwound, and the frames whose function has a read plan (read-plan.ts,
 * learned from an earlier evaluation) get their memory read, round by round, into a copy;
 * the rest are evaluated there as before (and their plans learned). After the resume, the
 * planned frames are evaluated from that copy alone. A frame whose evaluation needs a byte
 * the plan did not read is finished from the live process and marked `afterPause`, and its
 * plan is learned again. PERISCOPE_VALUES_IN_PAUSE=1 evaluates everything in the pause (for
 * comparisons).
 */
import { type Address, addr } from '../common/address.js';
import {
  decodeGoroutines,
  frameCfa,
  type Goroutine,
  type GoroutineCapture,
  memoryOf,
} from '../goruntime/goroutines/index.js';
import type { BatchMemory, CopiedMemory } from '../proc/copied-memory.js';
import type { Memory } from '../proc/memory.js';
import type { Registers } from '../proc/regs.amd64.js';
import type { CapturePlan } from './capture-plan.js';
import { matchName } from './capture-plan.js';
import { captureValues, type ValuesResult, valueCandidates } from './capture-values.js';
import { type PlannedFrame, type ReadPlans, readPlanned, readPlansFor } from './read-plan.js';
import type { FrameCapture } from './snapshot-types.js';

/** Whether the pause evaluates every value itself (PERISCOPE_VALUES_IN_PAUSE=1), as before read plans. */
export function valuesInPause(): boolean {
  return process.env.PERISCOPE_VALUES_IN_PAUSE === '1';
}

/** What the pause kept for the values evaluated after it. */
export interface KeptValues {
  /** The goroutines to evaluate after the resume (a mask over capture.gs). */
  readonly only: Uint8Array;
  /** Their headers, stacks and what their plans read. */
  readonly memory: CopiedMemory;
  /** The registers of the paused threads (a running goroutine's innermost frame). */
  readonly regs: ReadonlyMap<number, Registers>;
  /** Ranges the plans read in the pause. */
  readonly planned: number;
}

/** What the pause read for values: the ones it evaluated, those left for later, and what it kept. */
export interface PausedValues extends ValuesResult {
  readonly kept: KeptValues | undefined;
}

/** Goroutines unwound between two looks at the deadline. */
const CHUNK = 16;

/**
 * Inside a pause: reads the memory of the planned frames, evaluates the others. `deadline`
 * as captureValues's: the goroutines not unwound by then are left to its evaluation, which
 * reads the user's frames first and leaves the rest pending (read after the resume).
 */
export function readValuesInPause(
  plan: CapturePlan,
  pid: number,
  capture: GoroutineCapture,
  reader: Memory & BatchMemory,
  regs: ReadonlyMap<number, Registers>,
  maxFrames: number | undefined,
  deadline: number,
): PausedValues {
  const candidates = valueCandidates(plan, capture);
  const indices: number[] = [];
  for (let i = 0; i < candidates.length; i++) if (candidates[i]) indices.push(i);
  if (indices.length === 0)
    return { captures: new Map(), pending: undefined, frames: 0, missed: 0, kept: undefined };
  const plans = readPlansFor(plan.bin, pid);
  const mem = memoryOf(capture, candidates, reader);
  const some: GoroutineCapture = { ...capture, memory: mem };
  const later = new Uint8Array(candidates.length);
  const now = new Uint8Array(candidates.length);
  let planned = 0;
  let anyNow = false;
  for (let k = 0; k < indices.length; k += CHUNK) {
    if (k > 0 && performance.now() >= deadline) {
      // The rest go to the evaluation below, which spends what is left of the budget as
      // before plans: the user's frames first, at least one expression, then pending.
      for (let j = k; j < indices.length; j++) now[indices[j]!] = 1;
      anyNow = true;
      break;
    }
    const chunk = indices.slice(k, k + CHUNK);
    const decoded = decodeGoroutines(plan.bin, some, { maxFrames, indices: chunk });
    const frames: PlannedFrame[] = [];
    const at = new Map<Address, number>();
    for (const i of chunk) at.set(addr(capture.gs[i]!), i);
    for (const g of decoded.goroutines) {
      const i = at.get(g.address)!;
      const mine = plannedFrames(plans, plan, g);
      if (!mine) {
        now[i] = 1;
        anyNow = true;
      } else if (mine.length > 0) {
        frames.push(...mine);
        later[i] = 1;
      } // else no spec'd frame after all (a stale word looked like one of their pcs)
    }
    if (frames.length > 0) planned += readPlanned(frames, mem, reader);
  }
  const evaluated = anyNow
    ? captureValues(plan, capture, reader, regs, maxFrames, {
        only: now,
        deadline,
        memory: mem,
        learn: plans,
      })
    : { captures: new Map<Address, FrameCapture[]>(), pending: undefined, frames: 0, missed: 0 };
  return { ...evaluated, kept: { only: later, memory: mem, regs, planned } };
}

/** The frames of g to read by plan (none when it has no spec'd frame), or undefined when one has no plan yet. */
function plannedFrames(plans: ReadPlans, plan: CapturePlan, g: Goroutine): PlannedFrame[] | undefined {
  const out: PlannedFrame[] = [];
  for (const f of g.stack.frames) {
    if (!plan.functions.has(matchName(f.function))) continue;
    const p = plans.get(f.function, f.pc);
    if (!p) return undefined;
    out.push({ cfa: frameCfa(g.stack, f), plans: p });
  }
  return out;
}

/**
 * After the resume: evaluates the goroutines the pause read by plan, from what it kept; a
 * goroutine that needed more is finished from `live` and marked afterPause (counted in missed).
 */
export function valuesFromKept(
  plan: CapturePlan,
  pid: number,
  capture: GoroutineCapture,
  kept: KeptValues,
  live: Memory,
  maxFrames: number | undefined,
): ValuesResult {
  return captureValues(plan, capture, live, kept.regs, maxFrames, {
    only: kept.only,
    memory: kept.memory,
    learn: readPlansFor(plan.bin, pid),
    markMisses: true,
  });
}
