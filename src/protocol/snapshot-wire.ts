/**
 * The form a ProcessSnapshot travels in from an agent to the server: every distinct stack
 * (functions, files, lines, pcs, frame offsets) listed once, and per goroutine only a
 * reference to it and its stack pointer. Goroutines mostly share a few stacks: at 100k
 * goroutines the plain JSON is ~325 MB (close to V8's 512 MB string limit), the wire form a
 * small fraction of it. Decoding gives back the same ProcessSnapshot, frame for frame, with
 * the frames of a stack shared by its goroutines as the decode made them. Version 1 (agents
 * before frames were shared: each goroutine's frames' sp and cfa listed) is still read.
 */
import type { Address } from '../common/address.js';
import type { Frame, Stack } from '../goruntime/goroutines/index.js';
import { goroutineWith } from '../snapshot/snapshot-goroutine.js';
import type { ProcessSnapshot, SnapshotGoroutine } from '../snapshot/snapshot-types.js';

/** Marks the wire form (a plain ProcessSnapshot has no `wire` field). */
const WIRE_VERSION = 2;

/** A stack shared by goroutines. */
interface WireStack {
  readonly frames: readonly Frame[];
  readonly end: Stack['end'];
  readonly error?: string;
}

/** A goroutine's stack on the wire: which shared stack, and its innermost frame's sp. */
interface WireStackRef {
  readonly ref: number;
  readonly sp: number;
}

/** Version 1: frames without positions, and per goroutine its frames' sp (deltas) and cfa (- sp). */
interface WireStackRefV1 {
  readonly ref: number;
  readonly sp: number[];
  readonly cfa: number[];
}
type FrameV1 = Omit<Frame, 'spOffset' | 'cfaOffset'>;

/** The ProcessSnapshot with stacks listed once. */
interface WireSnapshot extends Omit<ProcessSnapshot, 'goroutines'> {
  readonly wire: number;
  readonly stacks: WireStack[];
  readonly goroutines: (Omit<SnapshotGoroutine, 'stack'> & { readonly stack: WireStackRef })[];
}

/** The JSON text of a snapshot in wire form. */
export function encodeSnapshot(s: ProcessSnapshot): string {
  // Goroutines with the same walk share the frames array (unwind.ts): one entry per array,
  // end and error.
  const ids = new Map<readonly Frame[], { end: Stack['end']; error: string | undefined; ref: number }[]>();
  const stacks: WireStack[] = [];
  const goroutines = s.goroutines.map((g) => {
    const { frames, end, error } = g.stack;
    let known = ids.get(frames);
    if (!known) {
      known = [];
      ids.set(frames, known);
    }
    let ref = known.find((k) => k.end === end && k.error === error)?.ref;
    if (ref === undefined) {
      ref = stacks.length;
      known.push({ end, error, ref });
      stacks.push(error === undefined ? { frames, end } : { frames, end, error });
    }
    return withStack(g, { ref, sp: g.stack.sp });
  });
  const wire: WireSnapshot = { ...s, wire: WIRE_VERSION, stacks, goroutines };
  return JSON.stringify(wire);
}

/**
 * The ProcessSnapshot of a parsed snapshot in any form: the wire form is expanded, a plain
 * one (from an agent that predates the wire form) is returned as it is.
 */
export function decodeSnapshot(parsed: unknown): ProcessSnapshot {
  const w = parsed as Partial<WireSnapshot>;
  if (w.wire === undefined) return parsed as ProcessSnapshot;
  if ((w.wire !== WIRE_VERSION && w.wire !== 1) || !Array.isArray(w.stacks) || !Array.isArray(w.goroutines))
    throw new Error(`unknown snapshot wire form ${String(w.wire)}`);
  const stacks = w.stacks;
  const expand = w.wire === 1 ? expandV1 : expandV2;
  const goroutines = w.goroutines.map((g): SnapshotGoroutine => {
    return withStack(g, expand(stacks, g.stack as unknown, g.id));
  });
  const { wire: _wire, stacks: _stacks, ...rest } = w as WireSnapshot;
  return { ...rest, goroutines } as ProcessSnapshot;
}

function misfit(id: number, ref: unknown): Error {
  return new Error(`goroutine ${id}: stack reference ${String(ref)} does not fit the snapshot`);
}

/** A version 2 reference: the shared stack with this goroutine's sp. */
function expandV2(stacks: readonly WireStack[], r: unknown, id: number): Stack {
  const { ref, sp } = r as WireStackRef;
  const shared = stacks[ref];
  if (!shared || !Array.isArray(shared.frames) || typeof sp !== 'number') throw misfit(id, ref);
  const base = sp as Address;
  return shared.error === undefined
    ? { frames: shared.frames, sp: base, end: shared.end }
    : { frames: shared.frames, sp: base, end: shared.end, error: shared.error };
}

/** A version 1 reference: the frames rebuilt with offsets from the goroutine's sp and cfa lists. */
function expandV1(stacks: readonly WireStack[], r: unknown, id: number): Stack {
  const { ref, sp, cfa } = r as WireStackRefV1;
  const shared = stacks[ref] as unknown as
    | { frames: FrameV1[]; end: Stack['end']; error?: string }
    | undefined;
  if (!shared || sp.length !== shared.frames.length || cfa.length !== sp.length) throw misfit(id, ref);
  const base = sp[0] ?? 0;
  let at = 0;
  const frames = shared.frames.map((f, i): Frame => {
    at += sp[i]!;
    return {
      function: f.function,
      file: f.file,
      line: f.line,
      pc: f.pc,
      entry: f.entry,
      spOffset: at - base,
      cfaOffset: at + cfa[i]! - base,
      inlined: f.inlined,
      hidden: f.hidden,
    };
  });
  const sp0 = base as Address;
  return shared.error === undefined
    ? { frames, sp: sp0, end: shared.end }
    : { frames, sp: sp0, end: shared.end, error: shared.error };
}

/** `g` with another stack, built as snapshot-goroutine.ts builds every goroutine (field by field: one V8 map). */
function withStack<S>(
  g: Omit<SnapshotGoroutine, 'stack'>,
  stack: S,
): Omit<SnapshotGoroutine, 'stack'> & { readonly stack: S } {
  return goroutineWith(g, g.labels, stack, g.captures, g.inconsistent);
}
