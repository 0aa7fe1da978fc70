/**
 * The decode phase of a goroutine snapshot, run after the process has resumed: every g
 * header, label set and stack is read from the copies made during the pause. One bad
 * goroutine yields errors on that goroutine, never a failed snapshot.
 */
import { type Address, addr, type LoadBias, linkAddr } from '../../common/address.js';
import { sortedOrder } from '../../common/radix-order.js';
import { FUNC_ID_NORMAL } from '../../gobinary/func-id.js';
import type { GoBinary } from '../../gobinary/go-binary.js';
import { funcNameForPrint } from '../../gobinary/inline-tree.js';
import { u32At, u64At } from '../../proc/copied-memory.js';
import { type GoroutineCapture, START_SOURCE_NAMES, StartSource } from './capture.js';
import { decodeLabels } from './labels.js';
import { type StackSymbols, stackSymbolsFor } from './stack-symbols.js';
import type { CreatedBy, Goroutine, GoroutineSnapshot } from './types.js';
import { unwindAmd64 } from './unwind.amd64.js';
import { DEFAULT_MAX_FRAMES, type Stack, StackShapes } from './unwind.js';

/** Options of decodeGoroutines. */
export interface DecodeOptions {
  /** Logical frames per stack (default 1024). */
  maxFrames?: number;
  /** Report dead goroutines too (default: skip them, as Go's traceback does). */
  includeDead?: boolean;
  /** Decode only these goroutines (indices into capture.gs), in this order. */
  indices?: ArrayLike<number>;
}

/** Labels or errors of a goroutine without any: one array for all of them. */
const NONE: readonly never[] = Object.freeze([]);

const UNAVAILABLE: Stack = { frames: [], sp: addr(0), end: 'unavailable' };

const NO_STACK: Stack = {
  frames: [],
  sp: addr(0),
  end: 'error',
  error: 'no stack: the goroutine is dead or its header is unreadable',
};

const NOT_COPIED: Stack = {
  frames: [],
  sp: addr(0),
  end: 'error',
  error: 'not copied: the pause reached its cap before this stack was copied (the snapshot is partial)',
};

/** Whether a decoded goroutine's stack was left uncopied by a pause cut short by its cap. */
export function stackNotCopied(g: Goroutine): boolean {
  return g.stack === NOT_COPIED || (g.stack.end === 'error' && g.stack.error === NOT_COPIED.error);
}

/**
 * Decodes every goroutine of a capture; `make` turns each into what the caller keeps (e.g.
 * with its captured values) as it is decoded, so that the decoded one dies young: at 100k
 * goroutines, keeping both until the end cost a promotion of 100k objects to the old space.
 */
export function decodeGoroutines<G extends Goroutine = Goroutine>(
  bin: GoBinary,
  capture: GoroutineCapture,
  opts: DecodeOptions = {},
  make: (g: Goroutine) => G = (g) => g as G,
): GoroutineSnapshot<G> {
  const t0 = performance.now();
  const sym = stackSymbolsFor(bin);
  const reasons = bin.waitReasons();
  const plan = capture.plan;
  const layout = plan.layout;
  const mem = capture.memory;
  const o = layout.gOffsets;
  const waiting = layout.statusValues.get('_Gwaiting');
  const leaked = layout.statusValues.get('_Gleaked');
  const wrSize = layout.g.fields.find((f) => f.name === 'waitreason')?.size ?? 1;
  const nowNs = Number(capture.monotonicNs);
  const maxFrames = opts.maxFrames ?? DEFAULT_MAX_FRAMES;
  const out: G[] = [];
  let dead = 0;
  const creators = new Map<number, Omit<CreatedBy, 'parentId'> | null>();
  const creations = new Creations();
  const starts = new Map<number, { name: string | undefined; system: boolean }>();
  const shapes = new StackShapes();
  // The capture keeps runtime.allgs order (no sorting inside the pause): report goroutines
  // in address order, each once even if a damaged allgs lists it twice.
  const gs = capture.gs;
  const order = opts.indices ?? sortedOrder(gs);
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    if (!opts.indices && k > 0 && gs[i] === gs[order[k - 1]!]) continue;
    const gp = addr(gs[i]!);
    let h = mem.locate(gp, plan.gSize);
    let b = mem.lastOffset;
    if (!h) {
      try {
        h = mem.read(gp, plan.gSize);
        b = 0;
      } catch (e) {
        out.push(make(unreadable(gp, e)));
        continue;
      }
    }
    const errors: string[] = [];
    const raw = u32At(h, b + o.atomicstatus);
    const code = raw & ~plan.scanBit;
    if (plan.dead.has(code) && !opts.includeDead) {
      dead++;
      continue;
    }
    const id = u64At(h, b + o.goid);
    const wr = wrSize === 1 ? h[b + o.waitreason]! : u32At(h, b + o.waitreason);
    const isWaiting = code === waiting || code === leaked;
    const waitsince = u64At(h, b + o.waitsince);
    const blocked = isWaiting || code === plan.syscall;
    const startPc = u64At(h, b + o.startpc);
    const lockedm = u64At(h, b + o.lockedm);
    const lo = u64At(h, b + o.stackLo);
    const hi = u64At(h, b + o.stackHi);
    const src = capture.source[i]! as StartSource;
    let labels: readonly (readonly [string, string])[] = NONE;
    const lp = u64At(h, b + o.labels);
    if (lp !== 0) {
      try {
        labels = decodeLabels(layout, mem, addr(lp));
      } catch (e) {
        errors.push(`labels: ${message(e)}`);
      }
    }
    let stack = NO_STACK;
    if (src === StartSource.SchedStale && capture.startSp[i] === 0) {
      // gogo clears g.sched when a goroutine starts running: nothing to walk from.
      stack = UNAVAILABLE;
    } else if (capture.notCopied?.[i]) {
      stack = NOT_COPIED;
      errors.push(`stack: ${NOT_COPIED.error}`);
    } else if (src !== StartSource.None) {
      stack = unwindAmd64(
        sym,
        mem,
        {
          pc: capture.startPc[i]!,
          sp: capture.startSp[i]!,
          trap: src === StartSource.Thread || src === StartSource.Signal,
          syscall: src === StartSource.Syscall,
        },
        { lo, hi, maxFrames, bias: plan.bias, shapes },
      );
      if (stack.end === 'error') errors.push(`stack: ${stack.error}`);
    }
    let start = starts.get(startPc);
    if (!start) {
      const linkPc = plan.bias.toLink(addr(startPc));
      const fn = sym.funcAt(linkPc);
      start = { name: fn && funcNameForPrint(fn.name), system: sym.isSystemStart(linkPc) };
      starts.set(startPc, start);
    }
    const gopc = u64At(h, b + o.gopc);
    let creator = creators.get(gopc);
    if (creator === undefined) {
      creator = createdBy(sym, plan.bias, gopc) ?? null;
      creators.set(gopc, creator);
    }
    const parent = o.parentGoid === undefined ? 0 : u64At(h, b + o.parentGoid);
    out.push(
      make({
        address: gp,
        id,
        status: layout.statusNames.get(code) ?? `unknown (${code})`,
        statusCode: code,
        scan: (raw & plan.scanBit) !== 0,
        waitReason: isWaiting && wr !== 0 ? (reasons[wr] ?? `waitReason(${wr})`) : undefined,
        waitSinceNs: blocked && waitsince > 0 ? waitsince : undefined,
        waitDurationNs: blocked && waitsince > 0 ? Math.max(0, nowNs - waitsince) : undefined,
        labels,
        createdBy: creator && id !== 1 ? creations.of(creator, gopc, parent) : undefined,
        startFunction: start.name,
        startPc: addr(startPc),
        system: start.system,
        threadId: threadOf(capture, i, u64At(h, b + o.m), lockedm),
        lockedToThread: lockedm !== 0,
        stackLo: addr(lo),
        stackHi: addr(hi),
        stackSource: START_SOURCE_NAMES[src] ?? 'none',
        stack,
        errors: errors.length === 0 ? NONE : errors,
      }),
    );
  }
  const st = mem.stats();
  return {
    goroutines: byId(out),
    truncated: capture.truncated,
    stats: {
      allglen: capture.allglen,
      dead,
      captureMs: capture.ms,
      decodeMs: performance.now() - t0,
      bytesCopied: st.bytesCopied,
      rangesCopied: st.ranges,
      fallbackReads: st.fallbackReads,
    },
  };
}

/** Go's printcreatedby: the physical function at gopc and its file:line at the call (goroutine 1 has none). */
function createdBy(sym: StackSymbols, bias: LoadBias, gopc: number): Omit<CreatedBy, 'parentId'> | undefined {
  if (gopc === 0) return undefined;
  const linkPc = bias.toLink(addr(gopc));
  const fn = sym.funcAt(linkPc);
  if (!fn || !sym.showFrame(fn.name, fn.funcID, false, FUNC_ID_NORMAL)) return undefined;
  // gopc is the return address of the go statement's call: its line is that of gopc - 1.
  const tracepc = linkPc > fn.entry ? linkAddr(linkPc - 1) : linkPc;
  const fl = sym.pcln.fileLine(fn, tracepc);
  return {
    function: funcNameForPrint(fn.name),
    file: fl?.file ?? '?',
    line: fl?.line ?? 0,
    pc: addr(gopc),
  };
}

/** m.procid of the m the goroutine runs on (g.m) or is locked to (g.lockedm), if copied. */
function threadOf(capture: GoroutineCapture, i: number, m: number, lockedm: number): number | undefined {
  if (capture.threadOf[i]) return capture.threadOf[i];
  return procidOf(capture, m) ?? procidOf(capture, lockedm);
}

function procidOf(capture: GoroutineCapture, mp: number): number | undefined {
  if (mp === 0) return undefined;
  const a: Address = addr(mp + capture.plan.layout.mOffsets.procid);
  if (!capture.memory.has(a, 8)) return undefined;
  const tid = capture.memory.readU64(a);
  return tid > 0 && tid < 0x8000_0000 ? tid : undefined;
}

function unreadable(gp: Address, e: unknown): Goroutine {
  return {
    address: gp,
    id: 0,
    status: 'unknown',
    statusCode: -1,
    scan: false,
    waitReason: undefined,
    waitSinceNs: undefined,
    waitDurationNs: undefined,
    labels: [],
    createdBy: undefined,
    startFunction: undefined,
    startPc: addr(0),
    system: false,
    threadId: undefined,
    lockedToThread: false,
    stackLo: addr(0),
    stackHi: addr(0),
    stackSource: 'none',
    stack: NO_STACK,
    errors: [`g header: ${message(e)}`],
  };
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The goroutines in goroutine id order (stable), radix-sorted: 100k objects by comparator took ~50 ms. */
function byId<G extends Goroutine>(gs: G[]): G[] {
  const ids = new Float64Array(gs.length);
  for (let i = 0; i < gs.length; i++) ids[i] = gs[i]!.id;
  const order = sortedOrder(ids);
  const out = new Array<G>(gs.length);
  for (let k = 0; k < order.length; k++) out[k] = gs[order[k]!]!;
  return out;
}

/**
 * The createdBy of goroutines, one object per go statement and parent: most goroutines of a
 * service come from a few loops of a few goroutines (100k objects at 100k goroutines before).
 */
class Creations {
  private readonly byPc = new Map<number, Map<number, CreatedBy>>();

  /** The createdBy of a goroutine started at `gopc` (found as `creator`) by goroutine `parent` (0: unknown). */
  of(creator: Omit<CreatedBy, 'parentId'>, gopc: number, parent: number): CreatedBy {
    let byParent = this.byPc.get(gopc);
    if (!byParent) {
      byParent = new Map();
      this.byPc.set(gopc, byParent);
    }
    let c = byParent.get(parent);
    if (!c) {
      // Not spread: a spread object got a map of its own in V8 (see snapshot-goroutine.ts).
      c = {
        function: creator.function,
        file: creator.file,
        line: creator.line,
        pc: creator.pc,
        parentId: parent === 0 ? undefined : parent,
      };
      byParent.set(parent, c);
    }
    return c;
  }
}
