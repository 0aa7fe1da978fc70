/**
 * Call-frame information of a binary: for any PC, how to find the CFA and the caller's
 * registers (return address included). FDEs are found by binary search; rules are
 * computed on demand by running that FDE's instructions.
 */
import { type Cie, type Fde, type FrameParseOptions, findFde, parseDebugFrame } from './frame-entries.js';
import { type CfaRule, type FrameRow, fdeRowAt, fdeRows, type RegisterRule } from './frame-rules.js';

/** The CFI of one .debug_frame section. */
export class CallFrameTable {
  readonly cies: readonly Cie[];
  /** FDEs sorted by start address. */
  readonly fdes: readonly Fde[];
  private readonly section: string;

  /** Wraps already-parsed entries. */
  constructor(cies: readonly Cie[], fdes: readonly Fde[], section = '.debug_frame') {
    this.cies = cies;
    this.fdes = fdes;
    this.section = section;
  }

  /** Parses a .debug_frame section (e.g. DwarfSections.frame). */
  static parse(frame: Uint8Array, opts: FrameParseOptions = {}): CallFrameTable {
    const { cies, fdes } = parseDebugFrame(frame, opts);
    return new CallFrameTable(cies, fdes, opts.section ?? '.debug_frame');
  }

  /** The FDE covering pc. */
  fdeFor(pc: number): Fde | undefined {
    return findFde(this.fdes, pc);
  }

  /** All rows of an FDE (for tests and for unwinding tables built ahead of time). */
  rowsOf(fde: Fde): FrameRow[] {
    return fdeRows(fde, this.section);
  }

  /** The row of rules in effect at pc, or undefined when no FDE covers it. */
  rowAt(pc: number): FrameRow | undefined {
    const fde = this.fdeFor(pc);
    return fde ? fdeRowAt(fde, pc, this.section) : undefined;
  }

  /** How to compute the CFA at pc, e.g. {kind:'register', register: 7 (rsp), offset: 16}. */
  cfaRuleAt(pc: number): CfaRule | undefined {
    return this.rowAt(pc)?.cfa;
  }

  /** Where the caller's value of `register` is at pc; registers without a rule are 'same-value'. */
  registerRuleAt(pc: number, register: number): RegisterRule | undefined {
    const row = this.rowAt(pc);
    if (!row) return undefined;
    return row.registers.get(register) ?? { kind: 'same-value' };
  }

  /** The rule for the return address at pc (the CIE's return-address column). */
  returnAddressRuleAt(pc: number): RegisterRule | undefined {
    const fde = this.fdeFor(pc);
    return fde ? this.registerRuleAt(pc, fde.cie.returnAddressRegister) : undefined;
  }
}

/** Computes the CFA for a register-based rule from a register reader; expression rules need the evaluator. */
export function cfaFromRule(
  rule: CfaRule,
  readRegister: (reg: number) => number | undefined,
): number | undefined {
  if (rule.kind !== 'register') return undefined;
  const base = readRegister(rule.register);
  return base === undefined ? undefined : base + rule.offset;
}
