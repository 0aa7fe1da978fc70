/**
 * The form a ProcessSnapshot travels in from an agent to the server: every distinct stack
 * (functions, files, lines, pcs) listed once, and per goroutine only a reference to it and
 * its frames' stack pointers. Goroutines mostly share a few stacks: at 100k goroutines the
 * plain JSON is ~325 MB (close to V8's 512 MB string limit), the wire form a small fraction
 * of it. Decoding gives back the same ProcessSnapshot, frame for frame.
 */
import type { Address } from '../common/address.js';
import type { Frame, Goroutine, Stack } from '../goruntime/goroutines/index.js';
import type { ProcessSnapshot, SnapshotGoroutine } from '../snapshot/snapshot-types.js';

/** Marks the wire form (a plain ProcessSnapshot has no `wire` field). */
const WIRE_VERSION = 1;

/** A frame without its per-goroutine addresses. */
type SharedFrame = Omit<Frame, 'sp' | 'cfa'>;

/** A stack shared by goroutines: its frames without sp and cfa. */
interface WireStack {
  readonly frames: SharedFrame[];
  readonly end: Stack['end'];
  readonly error?: string;
}

/** A goroutine's stack on the wire: which shared stack, and its frames' sp and cfa. */
interface WireStackRef {
  readonly ref: number;
  /** sp of frame 0, then each frame's sp minus the previous frame's. */
  readonly sp: number[];
  /** Each frame's cfa minus its sp. */
  readonly cfa: number[];
}

/** The ProcessSnapshot with stacks listed once. */
interface WireSnapshot extends Omit<ProcessSnapshot, 'goroutines'> {
  readonly wire: number;
  readonly stacks: WireStack[];
  readonly goroutines: (Omit<SnapshotGoroutine, 'stack'> & { readonly stack: WireStackRef })[];
}

/** The JSON text of a snapshot in wire form. */
export function encodeSnapshot(s: ProcessSnapshot): string {
  const ids = new Map<string, number>();
  const stacks: WireStack[] = [];
  const goroutines = s.goroutines.map((g) => {
    const { frames, end, error } = g.stack;
    // What a frame shows follows from its pc (and inline position) in one binary.
    let key = `${end}|${error ?? ''}`;
    for (const f of frames) key += `|${f.pc}${f.inlined ? 'i' : ''}${f.hidden ? 'h' : ''}${f.function}`;
    let ref = ids.get(key);
    if (ref === undefined) {
      ref = stacks.length;
      ids.set(key, ref);
      const shared = frames.map(({ sp: _sp, cfa: _cfa, ...rest }): SharedFrame => rest);
      stacks.push(error === undefined ? { frames: shared, end } : { frames: shared, end, error });
    }
    const sp: number[] = [];
    const cfa: number[] = [];
    let last = 0;
    for (const f of frames) {
      sp.push(f.sp - last);
      last = f.sp;
      cfa.push(f.cfa - f.sp);
    }
    return { ...g, stack: { ref, sp, cfa } };
  });
  const wire: WireSnapshot = { ...s, wire: WIRE_VERSION, stacks, goroutines };
  return JSON.stringify(wire);
}

/**
 * The ProcessSnapshot of a parsed snapshot in either form: the wire form is expanded, a
 * plain one (from an agent that predates the wire form) is returned as it is.
 */
export function decodeSnapshot(parsed: unknown): ProcessSnapshot {
  const w = parsed as Partial<WireSnapshot>;
  if (w.wire === undefined) return parsed as ProcessSnapshot;
  if (w.wire !== WIRE_VERSION || !Array.isArray(w.stacks) || !Array.isArray(w.goroutines))
    throw new Error(`unknown snapshot wire form ${String(w.wire)}`);
  const stacks = w.stacks;
  const goroutines = w.goroutines.map((g): SnapshotGoroutine => {
    const { ref, sp, cfa } = g.stack;
    const shared = stacks[ref];
    if (!shared || sp.length !== shared.frames.length || cfa.length !== sp.length)
      throw new Error(`goroutine ${g.id}: stack reference ${ref} does not fit the snapshot`);
    let at = 0;
    const frames = shared.frames.map((f, i): Frame => {
      at += sp[i]!;
      // Written out (not spread): a million frames at 100k goroutines, built the same shape.
      return {
        function: f.function,
        file: f.file,
        line: f.line,
        pc: f.pc,
        entry: f.entry,
        sp: at as Address,
        cfa: (at + cfa[i]!) as Address,
        inlined: f.inlined,
        hidden: f.hidden,
      };
    });
    const stack: Stack =
      shared.error === undefined
        ? { frames, end: shared.end }
        : { frames, end: shared.end, error: shared.error };
    return { ...(g as Omit<Goroutine, 'stack'>), stack } as SnapshotGoroutine;
  });
  const { wire: _wire, stacks: _stacks, ...rest } = w as WireSnapshot;
  return { ...rest, goroutines } as ProcessSnapshot;
}
