/**
 * Read plans of spec'd frames: which memory evaluating a frame's captures reads, learned from
 * an earlier evaluation of a frame of the same function at the same pc, so that a pause can
 * read that memory without evaluating anything (pointer chasing in batched rounds, one
 * `process_vm_readv` per round) and the evaluation can run after the resume, from the bytes
 * the pause kept. Each read of the evaluation is derived from the frame (its CFA), from a
 * pointer in the bytes of an earlier read, or is absolute (type descriptors, globals).
 * A plan is a guess that the next frame is laid out like the last one: the evaluation after
 * the resume reads only what the pause kept, and a read the plan did not make is a miss
 * (the caller reads it live, marks the frame, and learns the plan again).
 */
import { type Address, addr } from '../common/address.js';
import type { BatchMemory, CopiedMemory } from '../proc/copied-memory.js';
import { u64At } from '../proc/copied-memory.js';
import type { Memory } from '../proc/memory.js';
import type { MemRange } from '../proc/vm-reader.js';
import { liveReadSize } from './pause-memory.js';

/** Where one read of a plan gets its address. */
interface Step {
  /** -1: the frame's CFA plus delta; -2: delta itself (absolute); else the index of an earlier step. */
  readonly src: number;
  /** With an earlier step: the byte offset of the pointer in that step's bytes. */
  readonly off: number;
  readonly delta: number;
  /** Bytes the evaluation asked for (a live read of it reads ahead, see liveReadSize). */
  readonly size: number;
  /** Round in which the read can be made: 0 for CFA and absolute, one more than its source's. */
  readonly round: number;
}

/** The reads of one frame's evaluation, as a recipe. */
export interface ReadPlan {
  readonly steps: readonly Step[];
  readonly rounds: number;
}

/** A pointer explains a read that starts at most this far past it (a field of the object it points at). */
const FIELD_SPAN = 1 << 14;
/** Plans kept per function and pc: frames that take different paths (a nil, another dynamic type) each get one. */
const PLANS_PER_KEY = 4;
/** Steps of one plan at most (an evaluation that reads more is left to the pause). */
const MAX_STEPS = 256;
/**
 * Earlier reads searched for the pointer that explains a read: learning may run inside a
 * pause (a frame evaluated there for want of a plan), so it stays linear in the reads.
 */
const SOURCE_WINDOW = 32;

/** A Memory that records every read made through it (address, size, the bytes returned). */
export class ReadRecorder implements Memory {
  readonly reads: { address: number; size: number; bytes: Uint8Array }[] = [];
  constructor(private readonly inner: Memory) {}
  read(address: Address, size: number): Uint8Array {
    const bytes = this.inner.read(address, size);
    if (this.reads.length <= MAX_STEPS) this.reads.push({ address, size, bytes });
    return bytes;
  }
}

/**
 * The plan that explains `reads` on a frame whose CFA is `cfa`, on a goroutine stack spanning
 * [stackLo, stackHi) (undefined when too long to be worth it).
 */
export function learnPlan(
  reads: ReadRecorder['reads'],
  cfa: number,
  stackLo: number,
  stackHi: number,
): ReadPlan | undefined {
  if (reads.length > MAX_STEPS) return undefined;
  const steps: Step[] = [];
  let rounds = 0;
  for (let i = 0; i < reads.length; i++) {
    const { address, size } = reads[i]!;
    const s =
      address >= stackLo && address < stackHi
        ? { src: -1, off: 0, delta: address - cfa, size, round: 0 }
        : deriveStep(reads, i, address, size, steps);
    rounds = Math.max(rounds, s.round + 1);
    steps.push(s);
  }
  return { steps, rounds };
}

function deriveStep(
  reads: ReadRecorder['reads'],
  i: number,
  address: number,
  size: number,
  steps: readonly Step[],
): Step {
  // The nearest pointer below the address, in the latest read that holds one: the object
  // the evaluation was reading when it followed it.
  for (let j = i - 1; j >= 0 && j >= i - SOURCE_WINDOW; j--) {
    const b = reads[j]!.bytes;
    let best = -1;
    let bestDelta = FIELD_SPAN;
    for (let k = 0; k + 8 <= b.length; k += 8) {
      const p = u64At(b, k);
      const d = address - p;
      if (d >= 0 && d < bestDelta) {
        best = k;
        bestDelta = d;
      }
    }
    if (best >= 0) return { src: j, off: best, delta: bestDelta, size, round: steps[j]!.round + 1 };
  }
  return { src: -2, off: 0, delta: address, size, round: 0 };
}

/** Plans per binary and bias, by function and pc. */
export class ReadPlans {
  private readonly byKey = new Map<string, ReadPlan[]>();

  /** The plans for frames of `fn` at `pc`. */
  get(fn: string, pc: number): readonly ReadPlan[] | undefined {
    return this.byKey.get(`${pc}\0${fn}`);
  }

  /** Keeps `plan` for frames of `fn` at `pc`, after those kept already (the oldest go first). */
  add(fn: string, pc: number, plan: ReadPlan): void {
    const key = `${pc}\0${fn}`;
    const list = this.byKey.get(key) ?? [];
    if (list.some((p) => samePlan(p, plan))) return;
    list.push(plan);
    if (list.length > PLANS_PER_KEY) list.shift();
    this.byKey.set(key, list);
  }
}

function samePlan(a: ReadPlan, b: ReadPlan): boolean {
  if (a.steps.length !== b.steps.length) return false;
  for (let i = 0; i < a.steps.length; i++) {
    const x = a.steps[i]!;
    const y = b.steps[i]!;
    if (x.src !== y.src || x.off !== y.off || x.delta !== y.delta || x.size !== y.size) return false;
  }
  return true;
}

/** One frame to read for: its CFA and its plans. */
export interface PlannedFrame {
  readonly cfa: number;
  readonly plans: readonly ReadPlan[];
}

/**
 * Makes the reads of `frames`' plans into `copy`, round by round (a round's reads in one
 * batch to `live`, only those not copied already): afterwards `copy` holds what evaluating
 * those frames would have read, if they are laid out as the plans expect. Returns the
 * number of ranges read. Makes no read that its source's bytes do not point at.
 */
export function readPlanned(frames: readonly PlannedFrame[], copy: CopiedMemory, live: BatchMemory): number {
  let maxRounds = 0;
  for (const f of frames) for (const p of f.plans) maxRounds = Math.max(maxRounds, p.rounds);
  // Per frame and plan, the address of each step once known (NaN: not readable).
  const at = frames.map((f) => f.plans.map((p) => new Float64Array(p.steps.length).fill(Number.NaN)));
  let total = 0;
  for (let round = 0; round < maxRounds; round++) {
    const ranges: MemRange[] = [];
    for (let fi = 0; fi < frames.length; fi++) {
      const f = frames[fi]!;
      for (let pi = 0; pi < f.plans.length; pi++) {
        const { steps } = f.plans[pi]!;
        const where = at[fi]![pi]!;
        for (let si = 0; si < steps.length; si++) {
          const s = steps[si]!;
          if (s.round !== round) continue;
          const a = addressOf(s, f.cfa, where, copy);
          if (a === undefined) continue;
          where[si] = a;
          if (copy.has(addr(a), s.size)) continue;
          ranges.push({ address: addr(a), size: liveReadSize(a, s.size) });
        }
      }
    }
    if (ranges.length === 0) continue;
    const got = live.readBatch(dedupe(ranges));
    for (let k = 0; k < got.length; k++) {
      const bytes = got[k];
      if (bytes) copy.add(ranges[k]!.address, bytes);
    }
    total += ranges.length;
  }
  return total;
}

/** The address of a step, from the CFA, itself, or the pointer in its source's copied bytes. */
function addressOf(s: Step, cfa: number, where: Float64Array, copy: CopiedMemory): number | undefined {
  if (s.src === -1) return cfa + s.delta;
  if (s.src === -2) return s.delta;
  const from = where[s.src]!;
  if (Number.isNaN(from)) return undefined;
  const srcSize = 8;
  const p = from + s.off;
  if (!copy.has(addr(p), srcSize)) return undefined;
  const ptr = u64At(copy.read(addr(p), srcSize), 0);
  // A nil (or small) pointer is not followed: the evaluation stops there too.
  if (ptr < 4096 || ptr > Number.MAX_SAFE_INTEGER) return undefined;
  return ptr + s.delta;
}

/** The ranges without exact repeats (frames of one connection type share type descriptors). */
function dedupe(ranges: MemRange[]): MemRange[] {
  const seen = new Set<string>();
  let w = 0;
  for (const r of ranges) {
    const k = `${r.address}:${r.size}`;
    if (seen.has(k)) continue;
    seen.add(k);
    ranges[w++] = r;
  }
  ranges.length = w;
  return ranges;
}

/** Plans per binary, then per process (absolute steps are the process's own addresses). */
const stores = new WeakMap<object, Map<number, ReadPlans>>();
/** Processes whose plans one binary keeps (the oldest are dropped: their pids may be reused). */
const MAX_PROCESSES = 256;

/** The read plans learned for process `pid` running `bin` (made empty on first use). */
export function readPlansFor(bin: object, pid: number): ReadPlans {
  let byPid = stores.get(bin);
  if (!byPid) {
    byPid = new Map();
    stores.set(bin, byPid);
  }
  let plans = byPid.get(pid);
  if (!plans) {
    plans = new ReadPlans();
    byPid.set(pid, plans);
    if (byPid.size > MAX_PROCESSES) byPid.delete(byPid.keys().next().value as number);
  }
  return plans;
}
