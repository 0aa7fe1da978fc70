/**
 * Executes DW_CFA_* instructions: turns a CIE's and an FDE's instructions into rows of
 * rules (how to compute the CFA and where each register was saved) per address range.
 */
import { ByteReader } from '../common/bytes.js';
import { FormatError } from '../common/errors.js';
import type { Fde } from './frame-entries.js';

/** How to compute the Canonical Frame Address. */
export type CfaRule =
  | { readonly kind: 'register'; readonly register: number; readonly offset: number }
  | { readonly kind: 'expression'; readonly expr: Uint8Array };

/** Where the caller's value of a register is. */
export type RegisterRule =
  | { readonly kind: 'undefined' }
  | { readonly kind: 'same-value' }
  /** Saved in memory at CFA + offset. */
  | { readonly kind: 'offset'; readonly offset: number }
  /** The value is CFA + offset itself. */
  | { readonly kind: 'val-offset'; readonly offset: number }
  /** Saved in another register. */
  | { readonly kind: 'register'; readonly register: number }
  /** Saved in memory at the address the expression computes (CFA pushed first). */
  | { readonly kind: 'expression'; readonly expr: Uint8Array }
  /** The value is what the expression computes (CFA pushed first). */
  | { readonly kind: 'val-expression'; readonly expr: Uint8Array };

/** The rules in effect over [lo, hi). Registers without an entry follow the ABI default. */
export interface FrameRow {
  readonly lo: number;
  readonly hi: number;
  readonly cfa: CfaRule;
  readonly registers: ReadonlyMap<number, RegisterRule>;
}

interface State {
  cfa: CfaRule;
  regs: Map<number, RegisterRule>;
}

const UNDEFINED_CFA: CfaRule = { kind: 'register', register: -1, offset: 0 };

/**
 * Runs the CIE's initial instructions and then the FDE's, calling `onRow` for each row
 * (each address range over which the rules are constant). Returning false from onRow
 * stops early. Every loop is bounded by the instruction bytes.
 */
export function executeFde(fde: Fde, section: string, onRow: (row: FrameRow) => boolean | undefined): void {
  const cie = fde.cie;
  const state: State = { cfa: UNDEFINED_CFA, regs: new Map() };
  run(new ByteReader(cie.instructions, section), cie.instructionsOffset, state, undefined, fde, () => true);
  // The CIE's rules, for DW_CFA_restore.
  const initial = new Map(state.regs);
  let loc = fde.lo;
  const emitTo = (next: number): boolean => {
    if (next < loc)
      throw new FormatError(section, fde.instructionsOffset, 'call frame location moves backwards');
    if (next === loc) return true;
    const keepGoing = onRow({
      lo: loc,
      hi: Math.min(next, fde.hi),
      cfa: state.cfa,
      registers: new Map(state.regs),
    });
    loc = next;
    return keepGoing !== false && loc < fde.hi;
  };
  const r = new ByteReader(fde.instructions, section);
  if (
    run(r, fde.instructionsOffset, state, initial, fde, (delta, absolute) =>
      emitTo(absolute ? delta : loc + delta),
    )
  )
    emitTo(fde.hi);
}

/** Collects all rows of an FDE. */
export function fdeRows(fde: Fde, section = '.debug_frame'): FrameRow[] {
  const rows: FrameRow[] = [];
  executeFde(fde, section, (row) => {
    rows.push(row);
    return true;
  });
  return rows;
}

/** The row of an FDE in effect at pc, executing only as far as needed. */
export function fdeRowAt(fde: Fde, pc: number, section = '.debug_frame'): FrameRow | undefined {
  let found: FrameRow | undefined;
  executeFde(fde, section, (row) => {
    if (pc >= row.lo && pc < row.hi) {
      found = row;
      return false;
    }
    return true;
  });
  return found;
}

/**
 * Interprets instructions into `state`; `advance` is called with a location delta (or an
 * absolute address) and returns false to stop. Returns true when the bytes ran out.
 */
function run(
  r: ByteReader,
  base: number,
  state: State,
  initial: Map<number, RegisterRule> | undefined,
  fde: Fde,
  advance: (delta: number, absolute?: boolean) => boolean,
): boolean {
  const { codeAlignment: caf, dataAlignment: daf, addressSize } = fde.cie;
  const stack: State[] = [];
  function fail(msg: string, at: number): never {
    throw new FormatError(r.section, base + at, msg);
  }
  const setReg = (reg: number, rule: RegisterRule): void => {
    state.regs.set(reg, rule);
  };
  const restore = (reg: number): void => {
    if (!initial) fail('DW_CFA_restore in a CIE', r.pos);
    const rule = initial.get(reg);
    if (rule) state.regs.set(reg, rule);
    else state.regs.delete(reg);
  };
  const setCfaOffset = (offset: number, at: number): void => {
    const cfa = state.cfa;
    if (cfa.kind !== 'register') fail('DW_CFA_def_cfa_offset while the CFA is an expression', at);
    else state.cfa = { kind: 'register', register: cfa.register, offset };
  };
  while (!r.atEnd()) {
    const at = r.pos;
    const op = r.u8();
    const high = op & 0xc0;
    const low = op & 0x3f;
    if (high === 0x40) {
      if (!advance(low * caf)) return false;
      continue;
    }
    if (high === 0x80) {
      setReg(low, { kind: 'offset', offset: r.uleb() * daf });
      continue;
    }
    if (high === 0xc0) {
      restore(low);
      continue;
    }
    switch (op) {
      case 0x00: // nop
        break;
      case 0x01: // set_loc
        if (!advance(r.uint(addressSize), true)) return false;
        break;
      case 0x02:
        if (!advance(r.u8() * caf)) return false;
        break;
      case 0x03:
        if (!advance(r.u16() * caf)) return false;
        break;
      case 0x04:
        if (!advance(r.u32() * caf)) return false;
        break;
      case 0x05: // offset_extended
        setReg(r.uleb(), { kind: 'offset', offset: r.uleb() * daf });
        break;
      case 0x06: // restore_extended
        restore(r.uleb());
        break;
      case 0x07:
        setReg(r.uleb(), { kind: 'undefined' });
        break;
      case 0x08:
        setReg(r.uleb(), { kind: 'same-value' });
        break;
      case 0x09: // register
        setReg(r.uleb(), { kind: 'register', register: r.uleb() });
        break;
      case 0x0a: // remember_state
        if (stack.length > r.length) fail('too many DW_CFA_remember_state', at);
        stack.push({ cfa: state.cfa, regs: new Map(state.regs) });
        break;
      case 0x0b: {
        // restore_state: the whole row, CFA included (as GCC, LLVM, gimli and readelf do)
        const saved = stack.pop();
        if (!saved) fail('DW_CFA_restore_state without remember_state', at);
        state.regs = saved.regs;
        state.cfa = saved.cfa;
        break;
      }
      case 0x0c: // def_cfa
        state.cfa = { kind: 'register', register: r.uleb(), offset: r.uleb() };
        break;
      case 0x0d: {
        const register = r.uleb();
        const offset = state.cfa.kind === 'register' ? state.cfa.offset : 0;
        state.cfa = { kind: 'register', register, offset };
        break;
      }
      case 0x0e:
        setCfaOffset(r.uleb(), at);
        break;
      case 0x0f:
        state.cfa = { kind: 'expression', expr: r.take(r.uleb()) };
        break;
      case 0x10: {
        const reg = r.uleb();
        setReg(reg, { kind: 'expression', expr: r.take(r.uleb()) });
        break;
      }
      case 0x11: // offset_extended_sf
        setReg(r.uleb(), { kind: 'offset', offset: r.sleb() * daf });
        break;
      case 0x12: // def_cfa_sf
        state.cfa = { kind: 'register', register: r.uleb(), offset: r.sleb() * daf };
        break;
      case 0x13: // def_cfa_offset_sf
        setCfaOffset(r.sleb() * daf, at);
        break;
      case 0x14: // val_offset
        setReg(r.uleb(), { kind: 'val-offset', offset: r.uleb() * daf });
        break;
      case 0x15: // val_offset_sf
        setReg(r.uleb(), { kind: 'val-offset', offset: r.sleb() * daf });
        break;
      case 0x16: {
        const reg = r.uleb();
        setReg(reg, { kind: 'val-expression', expr: r.take(r.uleb()) });
        break;
      }
      case 0x2e: // GNU_args_size
        r.uleb();
        break;
      case 0x2f: // GNU_negative_offset_extended
        setReg(r.uleb(), { kind: 'offset', offset: -r.uleb() * daf });
        break;
      default:
        fail(`unknown call frame instruction 0x${op.toString(16)}`, at);
    }
  }
  return true;
}
