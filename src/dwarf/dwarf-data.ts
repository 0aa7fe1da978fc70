import type { LinkAddress } from '../common/address.js';
import { FormatError, PeriscopeError } from '../common/errors.js';
import type { AbbrevTable } from './abbrev.js';
import { TAG } from './constants.js';
import { type Die, INFO } from './die.js';
import { childrenOf, DieReader } from './die-reader.js';
import { type FunctionInfo, FunctionReader } from './functions.js';
import { type LocationListEntry, readLocationList } from './location-lists.js';
import { buildNameIndex, type NameIndex } from './name-index.js';
import { type PcRange, readRanges } from './ranges.js';
import type { DwarfSections, InfoOffset, LineOffset } from './sections.js';
import { type DwarfType, TypeReader } from './types.js';
import { parseUnits, type Unit, type UnitBases, unitContaining } from './units.js';

/** The header and root summary of one unit, as plain data. */
export interface UnitInfo {
  readonly offset: InfoOffset;
  readonly end: number;
  readonly version: number;
  readonly unitType: number;
  readonly addrSize: number;
  readonly offsetSize: number;
  readonly name: string | undefined;
  readonly producer: string | undefined;
  readonly compDir: string | undefined;
  readonly language: number | undefined;
  readonly lowPc: number;
  /** Offset of the unit's line number program in .debug_line. */
  readonly stmtList: LineOffset | undefined;
  readonly bases: UnitBases;
}

/**
 * The .debug_info side of a binary's DWARF: unit headers (parsed up front), a name index of
 * functions and types (one fast pass, on first use), and functions, types, ranges and
 * location lists decoded lazily and cached by offset.
 */
export class DwarfData {
  readonly sections: DwarfSections;
  /** Malformed parts that were skipped (the data before them stays usable). */
  readonly errors: FormatError[] = [];
  private unitCache: Unit[] | undefined;
  private readonly signatures = new Map<string, number>();
  private readonly typeReader: TypeReader;
  private readonly functionReader: FunctionReader;
  private readonly functionCache = new Map<number, FunctionInfo>();
  private indexCache: NameIndex | undefined;
  private runtimeMap: Map<number, number> | undefined;

  /**
   * The DWARF of `sections`. Unit headers are parsed on first use (when `index` is given, a
   * name index stored earlier for the same bytes, lookups by name need no pass over
   * .debug_info), so that opening a binary reads no DWARF.
   */
  constructor(sections: DwarfSections, index?: NameIndex) {
    this.sections = sections;
    this.indexCache = index;
    const dieAt = (offset: number) => this.dieAt(offset as InfoOffset);
    this.typeReader = new TypeReader(dieAt);
    this.functionReader = new FunctionReader(sections, dieAt);
  }

  /** The unit headers, parsed on first use; throws when .debug_info has none that can be read. */
  private get unitList(): Unit[] {
    if (this.unitCache) return this.unitCache;
    const abbrevCache = new Map<string, AbbrevTable>();
    const { units, errors } = parseUnits({
      sections: this.sections,
      abbrevCache,
      sig8: (sig) => this.signatures.get(sig) ?? -1,
    });
    if (units.length === 0 && errors.length > 0) throw errors[0]!;
    this.errors.push(...errors);
    for (const u of units) {
      if (u.typeSignature !== undefined && u.typeOffset !== undefined)
        this.signatures.set(u.typeSignature, u.typeOffset);
    }
    this.unitCache = units;
    return units;
  }

  /** Parses the unit headers now (to surface a malformed .debug_info at once). */
  check(): void {
    void this.unitList;
  }

  /** The name index if it was built or loaded already (for storing it). */
  get builtIndex(): NameIndex | undefined {
    return this.indexCache;
  }

  /** The highest DWARF version among the units. */
  get version(): number {
    if (!this.unitCache && this.indexCache) return this.indexCache.version;
    let v = 0;
    for (const u of this.unitList) v = Math.max(v, u.version);
    return v;
  }

  /** Number of units (known from a stored name index without reading .debug_info). */
  get unitCount(): number {
    if (!this.unitCache && this.indexCache) return this.indexCache.unitCount;
    return this.unitList.length;
  }

  /** Every unit's header and root summary, in section order. */
  units(): readonly UnitInfo[] {
    return this.unitList;
  }

  /** A cursor over the DIEs, positioned at `offset` (default: the first unit's root). */
  reader(offset?: InfoOffset): DieReader {
    return new DieReader(this.unitList, offset);
  }

  /** The DIE at a .debug_info offset; throws FormatError when there is none. */
  dieAt(offset: InfoOffset): Die {
    const u = unitContaining(this.unitList, offset);
    if (!u || offset < u.firstDie) throw new FormatError(INFO, offset, 'no DIE at this offset');
    const die = u.dieAt(offset);
    if (!die) throw new FormatError(INFO, offset, 'offset holds a null entry, not a DIE');
    return die;
  }

  /** The direct children of a DIE. */
  children(die: Die): Die[] {
    return childrenOf(die);
  }

  /** The name index, built on first use with one pass over every DIE. */
  index(): NameIndex {
    if (!this.indexCache) {
      this.indexCache = buildNameIndex(this.unitList, this.sections);
      this.errors.push(...this.indexCache.errors);
    }
    return this.indexCache;
  }

  // ---- functions

  /** Number of concrete functions with code (entries of the PC table). */
  get functionCount(): number {
    return this.index().pcDie.length;
  }

  /** The names of every concrete function. */
  functionNames(): string[] {
    return [...this.index().functions.keys()];
  }

  /** The concrete (non-abstract) function with this fully qualified name, e.g. `main.(*T).M`. */
  findFunction(name: string): FunctionInfo | undefined {
    const off = this.index().functions.get(name);
    return off === undefined ? undefined : this.functionAtOffset(off as InfoOffset);
  }

  /** The concrete function whose code contains `pc`. */
  functionAt(pc: LinkAddress): FunctionInfo | undefined {
    const { pcLow, pcHigh, pcDie } = this.index();
    let lo = 0;
    let hi = pcLow.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (pcLow[mid]! <= pc) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    // Go functions do not overlap; look back a little in case another producer's do.
    for (let i = found; i >= 0 && i > found - 16; i--) {
      if (pc < pcHigh[i]!) return this.functionAtOffset(pcDie[i]! as InfoOffset);
    }
    return undefined;
  }

  /** The function whose subprogram DIE is at `offset` (cached). */
  functionAtOffset(offset: InfoOffset): FunctionInfo {
    let f = this.functionCache.get(offset);
    if (!f) {
      const die = this.dieAt(offset);
      if (die.tag !== TAG.subprogram) throw new FormatError(INFO, offset, 'DIE is not a subprogram');
      f = this.functionReader.read(die);
      this.functionCache.set(offset, f);
    }
    return f;
  }

  // ---- types

  /** Number of distinct type names. */
  get typeCount(): number {
    return this.index().types.size;
  }

  /** Every type name, as DWARF spells it. */
  typeNames(): string[] {
    return [...this.index().types.keys()];
  }

  /** The type with this name as DWARF spells it (`main.Point`, `*main.Point`, `map[string]int`). */
  findType(name: string): DwarfType | undefined {
    const off = this.index().types.get(name);
    return off === undefined ? undefined : this.typeAt(off as InfoOffset);
  }

  /** The type whose DIE is at `offset`. */
  typeAt(offset: InfoOffset): DwarfType {
    return this.typeReader.typeAt(offset);
  }

  /** Follows typedefs and qualifiers to the underlying type. */
  underlying(t: DwarfType): DwarfType {
    return this.typeReader.underlying(t);
  }

  /**
   * The type whose DW_AT_go_runtime_type is `value` (Go's linker writes the offset of the
   * runtime type descriptor from the start of the types section, runtime.types); named
   * types resolve to their Go typedef.
   */
  typeByRuntimeAddress(value: number): DwarfType | undefined {
    if (!this.runtimeMap) {
      const { runtimeTypeValues: vals, runtimeTypeDies: dies } = this.index();
      const m = new Map<number, number>();
      for (let i = 0; i < vals.length; i++) if (!m.has(vals[i]!)) m.set(vals[i]!, dies[i]!);
      this.runtimeMap = m;
    }
    const off = this.runtimeMap.get(value);
    if (off === undefined) return undefined;
    const t = this.typeAt(off as InfoOffset);
    if (t.name !== undefined) {
      const canonical = this.findType(t.name);
      if (canonical && canonical.type === t.offset) return canonical;
    }
    return t;
  }

  /** The DW_AT_go_runtime_type of a type (looking through a Go typedef to its definition). */
  runtimeAddressOf(t: DwarfType): number | undefined {
    if (t.runtimeType !== undefined) return t.runtimeType;
    if (t.tagName === 'typedef' && t.type !== undefined) {
      const target = this.typeAt(t.type);
      if (target.name === t.name) return target.runtimeType;
    }
    return undefined;
  }

  // ---- lists

  /** The range list a DW_AT_ranges value (with its form) of a DIE names. */
  ranges(die: Die, value: number, form: number): PcRange[] {
    return readRanges(this.sections, die.unit, value, form);
  }

  /** The location list a DW_AT_location value (with its form) of a DIE names. */
  locationList(die: Die, value: number, form: number): LocationListEntry[] {
    return readLocationList(this.sections, die.unit, value, form);
  }
}

/** Wraps unexpected failures of a DWARF reader in a PeriscopeError (for callers that want one kind). */
export function asDwarfError(e: unknown): PeriscopeError {
  if (e instanceof PeriscopeError) return e;
  return new PeriscopeError('corrupt', `malformed DWARF: ${e instanceof Error ? e.message : String(e)}`);
}
