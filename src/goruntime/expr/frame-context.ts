/**
 * One stack frame as the expression evaluator sees it: the process (through a
 * ValueContext), the frame's PC and CFA, and the registers when they are known (only for
 * the innermost frame of a stopped thread: for outer frames Go preserves no registers).
 * Also: where a DWARF variable is at that PC, read into bytes and, when in memory, an address.
 */
import { type Address, addr, hex } from '../../common/address.js';
import { type InlinedCall, locationAt, type Variable } from '../../dwarf/functions.js';
import { type EvaluatedPiece, evaluateLocation } from '../../dwarf/location-expr-eval.js';
import type { InfoOffset } from '../../dwarf/sections.js';
import type { ValueContext } from '../values/context.js';
import { allMissing, type MissingBytes } from '../values/missing.js';

/** What evaluating an expression on one frame reads from. */
export interface FrameContext {
  readonly ctx: ValueContext;
  /**
   * The runtime PC used to look up variable locations: the current PC for the innermost
   * frame, and the return address minus 1 (inside the CALL) for callers.
   */
  readonly pc: Address;
  /** The canonical frame address: for Go on amd64, the SP at entry + 8 (the caller's SP). */
  readonly cfa: Address | undefined;
  /** DWARF register number -> value; only for the innermost frame of a stopped thread. */
  readonly registers?: (reg: number) => bigint | undefined;
  /**
   * When the frame is a logical (inlined) one: the DW_TAG_inlined_subroutine it stands for.
   * Without it, the innermost inlined call of the expression's function containing pc is used.
   */
  readonly inlinedCall?: InfoOffset;
}

/**
 * A variable's value on a frame: its bytes (and address when it lives in memory), or why not.
 * `missing` lists the parts its location does not give (pieces optimized out at this PC or
 * unreadable, a location shorter than the type); their bytes are zero.
 */
export type VariableRead =
  | {
      readonly ok: true;
      readonly bytes: Uint8Array;
      readonly address: Address | undefined;
      readonly missing?: readonly MissingBytes[];
    }
  | { readonly ok: false; readonly reason: string };

/** Whether a link-time PC is inside a list of ranges. */
export function inRanges(ranges: readonly { low: number; high: number }[], pc: number): boolean {
  return ranges.some((r) => pc >= r.low && pc < r.high);
}

/** Whether a variable has a non-empty location anywhere in its function. */
export function everLocated(v: Variable): boolean {
  const loc = v.location;
  if (!loc) return false;
  if (loc.kind === 'expr') return loc.expr.length > 0;
  return loc.entries.some((e) => e.expr.length > 0);
}

/** The chain of inlined calls containing `pc`, outermost first. */
export function inlineChainAt(calls: readonly InlinedCall[], pc: number): InlinedCall[] {
  const out: InlinedCall[] = [];
  let level: readonly InlinedCall[] = calls;
  for (let depth = 0; depth < 64; depth++) {
    const c = level.find((x) => inRanges(x.ranges, pc));
    if (!c) break;
    out.push(c);
    level = c.inlined;
  }
  return out;
}

/**
 * Reads a variable of `size` bytes on a frame. Register pieces need the frame's registers
 * (innermost frame only); memory pieces are read through the context's memory. A variable
 * none of whose bytes can be had is not ok; one only some of whose pieces can be had is,
 * with the rest listed as missing.
 */
export function readVariable(v: Variable, size: number, frame: FrameContext): VariableRead {
  const linkPc = frame.ctx.bias.toLink(frame.pc);
  const expr = locationAt(v, linkPc);
  if (!expr || expr.length === 0) return { ok: false, reason: 'optimized out at this PC' };
  const mem = frame.ctx.memory;
  let pieces: EvaluatedPiece[];
  try {
    pieces = evaluateLocation(expr, {
      register: (r) => frame.registers?.(r),
      cfa: frame.cfa,
      frameBase: frame.cfa,
      readMemory: (a, n) => {
        try {
          return mem.read(addr(a), n);
        } catch {
          return undefined;
        }
      },
      size,
    });
  } catch (e) {
    return { ok: false, reason: `malformed location: ${e instanceof Error ? e.message : String(e)}` };
  }
  const one = pieces.length === 1 ? pieces[0]! : undefined;
  if (one?.kind === 'memory' && (one.size === undefined || one.size >= size)) {
    const address = addr(one.address);
    try {
      return { ok: true, bytes: mem.read(address, size), address };
    } catch (e) {
      return { ok: false, reason: `cannot read ${size} bytes at ${hex(address)}: ${errText(e)}` };
    }
  }
  // Pieces: each one that cannot be had leaves its bytes missing, not the whole variable.
  const out = new Uint8Array(size);
  const missing: MissingBytes[] = [];
  let at = 0;
  for (const p of pieces) {
    const n = p.size ?? size - at;
    if (at + n > size) return { ok: false, reason: 'location pieces are larger than the variable' };
    const r = pieceBytes(p, n, frame);
    if (typeof r === 'string') missing.push({ offset: at, size: n, reason: r });
    else out.set(r.subarray(0, n), at);
    at += n;
  }
  if (at < size)
    missing.push({ offset: at, size: size - at, reason: `location covers ${at} of ${size} bytes` });
  if (missing.length === 0) return { ok: true, bytes: out, address: undefined };
  if (allMissing(missing, size))
    return { ok: false, reason: [...new Set(missing.map((m) => m.reason))].join('; ') };
  return { ok: true, bytes: out, address: undefined, missing };
}

/** The bytes of one piece, or why they cannot be had. */
function pieceBytes(p: EvaluatedPiece, n: number, frame: FrameContext): Uint8Array | string {
  switch (p.kind) {
    case 'unavailable':
      return p.reason === 'optimized out' ? 'optimized out at this PC' : p.reason;
    case 'value': {
      const b = new Uint8Array(n);
      b.set(p.bytes.subarray(0, n));
      return b;
    }
    case 'memory':
      try {
        return frame.ctx.memory.read(addr(p.address), n);
      } catch (e) {
        return `cannot read ${n} bytes at ${hex(p.address)}: ${errText(e)}`;
      }
    case 'register': {
      if (!frame.registers) return 'in a register of an outer frame (Go saves no registers across calls)';
      const v = frame.registers(p.reg);
      if (v === undefined) return `register ${p.reg} is not known for this frame`;
      const b = new Uint8Array(Math.max(n, 8));
      new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
      return b.subarray(0, n);
    }
  }
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
