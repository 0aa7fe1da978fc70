import { type LinkAddress, linkAddr } from '../common/address.js';
import { AT, FORM, TAG } from './constants.js';
import type { Die } from './die.js';
import { childrenOf } from './die-reader.js';
import { type LocationListEntry, readLocationList } from './location-lists.js';
import { type PcRange, readRanges } from './ranges.js';
import type { DwarfSections, InfoOffset, LineOffset } from './sections.js';

/** Where a variable lives: one DW_OP expression, or a list of them by PC range. */
export type VariableLocation =
  | { readonly kind: 'expr'; readonly expr: Uint8Array }
  | { readonly kind: 'list'; readonly entries: readonly LocationListEntry[] };

/** The location expression of a variable at a link-time PC; undefined when it has none there. */
export function locationAt(v: Variable, pc: number): Uint8Array | undefined {
  const loc = v.location;
  if (!loc) return undefined;
  if (loc.kind === 'expr') return loc.expr;
  let fallback: Uint8Array | undefined;
  for (const e of loc.entries) {
    if (e.isDefault) fallback = e.expr;
    else if (pc >= e.low && pc < e.high) return e.expr;
  }
  return fallback;
}

/** A parameter or local variable of a function or an inlined call. */
export interface Variable {
  readonly offset: InfoOffset;
  readonly name: string;
  readonly type: InfoOffset | undefined;
  readonly declLine: number | undefined;
  readonly isParameter: boolean;
  /** DW_AT_variable_parameter: Go marks its named and unnamed results with it. */
  readonly isReturn: boolean;
  /** The PC ranges of the innermost lexical block (or function / inlined call) holding it. */
  readonly scope: readonly PcRange[];
  readonly location: VariableLocation | undefined;
  /** DW_AT_go_closure_offset of captured variables. */
  readonly closureOffset: number | undefined;
}

/** An inlined call (DW_TAG_inlined_subroutine) inside a function or another inlined call. */
export interface InlinedCall {
  readonly offset: InfoOffset;
  /** The abstract subprogram (DW_AT_abstract_origin) of the callee. */
  readonly origin: InfoOffset | undefined;
  readonly name: string;
  readonly ranges: readonly PcRange[];
  /** File index into the unit's line program file table, and line, of the call site. */
  readonly callFile: number | undefined;
  readonly callLine: number | undefined;
  readonly variables: readonly Variable[];
  readonly inlined: readonly InlinedCall[];
}

/** A concrete function (DW_TAG_subprogram with code) as plain data. */
export interface FunctionInfo {
  readonly offset: InfoOffset;
  readonly name: string;
  readonly lowPc: LinkAddress;
  readonly highPc: LinkAddress;
  readonly entryPc: LinkAddress;
  readonly ranges: readonly PcRange[];
  /** File index into the unit's line program file table (see unitOffset / stmtList). */
  readonly declFile: number | undefined;
  readonly declLine: number | undefined;
  readonly frameBase: VariableLocation | undefined;
  readonly external: boolean;
  /** The abstract subprogram, for out-of-line copies of inlinable functions. */
  readonly abstractOrigin: InfoOffset | undefined;
  readonly unitOffset: InfoOffset;
  readonly stmtList: LineOffset | undefined;
  readonly variables: readonly Variable[];
  readonly inlined: readonly InlinedCall[];
}

const MAX_ORIGIN_CHAIN = 8;

/** Decodes functions, their variables and inlined calls from DIEs. */
export class FunctionReader {
  private readonly sections: DwarfSections;
  private readonly dieAt: (offset: number) => Die;

  constructor(sections: DwarfSections, dieAt: (offset: number) => Die) {
    this.sections = sections;
    this.dieAt = dieAt;
  }

  /** Reads the concrete subprogram DIE `die` with everything beneath it. */
  read(die: Die): FunctionInfo {
    const ranges = this.rangesOf(die);
    const low = ranges.length > 0 ? Math.min(...ranges.map((r) => r.low)) : 0;
    const high = ranges.length > 0 ? Math.max(...ranges.map((r) => r.high)) : 0;
    const vars: Variable[] = [];
    const inlined: InlinedCall[] = [];
    this.walk(die, ranges, vars, inlined, 0);
    const origin = die.ref(AT.abstract_origin);
    return {
      offset: die.offset,
      name: this.inherited(die, (d) => d.str(AT.name)) ?? '',
      lowPc: linkAddr(low),
      highPc: linkAddr(high),
      entryPc: linkAddr(die.num(AT.entry_pc) ?? low),
      ranges,
      declFile: this.inherited(die, (d) => d.num(AT.decl_file)),
      declLine: this.inherited(die, (d) => d.num(AT.decl_line)),
      frameBase: this.location(die, AT.frame_base),
      external: this.inherited(die, (d) => (d.has(AT.external) ? d.flag(AT.external) : undefined)) ?? false,
      abstractOrigin: origin,
      unitOffset: die.unit.offset,
      stmtList: die.unit.stmtList,
      variables: vars,
      inlined,
    };
  }

  /** The PC ranges of a DIE: DW_AT_ranges, or [low_pc, high_pc) (high as address or length). */
  rangesOf(die: Die): PcRange[] {
    const rv = die.value(AT.ranges);
    if (typeof rv === 'number') return readRanges(this.sections, die.unit, rv, die.form(AT.ranges)!);
    const low = die.num(AT.low_pc);
    if (low === undefined) return [];
    const hf = die.form(AT.high_pc);
    const hv = die.num(AT.high_pc);
    if (hv === undefined) return [{ low: linkAddr(low), high: linkAddr(low + 1) }];
    const isAddress = hf === FORM.addr || (hf! >= FORM.addrx1 && hf! <= FORM.addrx4) || hf === FORM.addrx;
    const high = isAddress ? hv : low + hv;
    return high > low ? [{ low: linkAddr(low), high: linkAddr(high) }] : [];
  }

  /** An attribute of a DIE or, when absent, of its abstract origin / specification chain. */
  private inherited<T>(die: Die, get: (d: Die) => T | undefined): T | undefined {
    let d: Die | undefined = die;
    for (let i = 0; i < MAX_ORIGIN_CHAIN && d; i++) {
      const v = get(d);
      if (v !== undefined) return v;
      const next: InfoOffset | undefined = d.ref(AT.abstract_origin) ?? d.ref(AT.specification);
      d = next === undefined ? undefined : this.dieAt(next);
    }
    return undefined;
  }

  /** A location-class attribute: exprloc/block as one expression, sec_offset/loclistx as a list. */
  private location(die: Die, at: number): VariableLocation | undefined {
    const form = die.form(at);
    if (form === undefined) return undefined;
    const v = die.value(at);
    if (v instanceof Uint8Array) return { kind: 'expr', expr: v };
    if (typeof v !== 'number') return undefined;
    const isList =
      form === FORM.sec_offset ||
      form === FORM.loclistx ||
      (die.unit.version < 4 && (form === FORM.data4 || form === FORM.data8));
    if (!isList) return undefined;
    return { kind: 'list', entries: readLocationList(this.sections, die.unit, v, form) };
  }

  /** Collects variables and inlined calls under `parent`, descending into lexical blocks. */
  private walk(parent: Die, scope: PcRange[], vars: Variable[], inlined: InlinedCall[], depth: number): void {
    if (depth > 256) return;
    for (const c of childrenOf(parent)) {
      switch (c.tag) {
        case TAG.formal_parameter:
        case TAG.variable:
          vars.push(this.variable(c, scope));
          break;
        case TAG.lexical_block: {
          const r = this.rangesOf(c);
          this.walk(c, r.length > 0 ? r : scope, vars, inlined, depth + 1);
          break;
        }
        case TAG.inlined_subroutine:
          inlined.push(this.inlinedCall(c, depth));
          break;
      }
    }
  }

  private inlinedCall(die: Die, depth: number): InlinedCall {
    const ranges = this.rangesOf(die);
    const vars: Variable[] = [];
    const nested: InlinedCall[] = [];
    this.walk(die, ranges, vars, nested, depth + 1);
    return {
      offset: die.offset,
      origin: die.ref(AT.abstract_origin),
      name: this.inherited(die, (d) => d.str(AT.name)) ?? '',
      ranges,
      callFile: die.num(AT.call_file),
      callLine: die.num(AT.call_line),
      variables: vars,
      inlined: nested,
    };
  }

  private variable(die: Die, scope: PcRange[]): Variable {
    const isParameter = die.tag === TAG.formal_parameter;
    return {
      offset: die.offset,
      name: this.inherited(die, (d) => d.str(AT.name)) ?? '',
      type: this.inherited(die, (d) => d.ref(AT.type)),
      declLine: this.inherited(die, (d) => d.num(AT.decl_line)),
      isParameter,
      isReturn:
        this.inherited(die, (d) =>
          d.has(AT.variable_parameter) ? d.flag(AT.variable_parameter) : undefined,
        ) ?? false,
      scope,
      location: this.location(die, AT.location),
      closureOffset: die.num(AT.go_closure_offset),
    };
  }
}
