import { ByteReader } from '../common/bytes.js';
import { FormatError } from '../common/errors.js';
import { type Abbrev, skipAttributes } from './abbrev.js';
import { AT, FORM, TAG } from './constants.js';
import { INFO } from './die.js';
import { readFormValue, skipVariableForm } from './forms.js';
import { type NameBytes, type NameMap, NameMapBuilder } from './name-map.js';
import { readRanges } from './ranges.js';
import type { DwarfSections } from './sections.js';
import type { Unit } from './units.js';

/** Tags that name a type. */
const TYPE_TAGS = new Uint8Array(0x50);
for (const t of [
  TAG.array_type,
  TAG.class_type,
  TAG.enumeration_type,
  TAG.pointer_type,
  TAG.reference_type,
  TAG.string_type,
  TAG.structure_type,
  TAG.subroutine_type,
  TAG.typedef,
  TAG.union_type,
  TAG.ptr_to_member_type,
  TAG.base_type,
  TAG.const_type,
  TAG.volatile_type,
  TAG.unspecified_type,
  TAG.rvalue_reference_type,
  TAG.atomic_type,
])
  TYPE_TAGS[t] = 1;

/** What one pass over every top-level DIE found: function and type names, PC table, runtime types. */
export interface NameIndex {
  /** Concrete function name -> offset of its (first) DW_TAG_subprogram. */
  readonly functions: NameMap;
  /** Concrete functions sorted by low PC: parallel arrays (ranges-only functions use their lowest range). */
  readonly pcLow: Float64Array;
  readonly pcHigh: Float64Array;
  readonly pcDie: Float64Array;
  /** Type name -> canonical DIE offset (Go's typedef when both a typedef and its target carry the name). */
  readonly types: NameMap;
  /** DW_AT_go_runtime_type values and the DIEs carrying them (parallel). */
  readonly runtimeTypeValues: Float64Array;
  readonly runtimeTypeDies: Float64Array;
  /** Units whose DIEs could not all be read, with the error. */
  readonly errors: FormatError[];
  /** Number of units and the highest DWARF version among them (known without the units). */
  readonly unitCount: number;
  readonly version: number;
}

/** Flag of a types entry: it is a typedef that won its name (a later DIE of that name does not replace it). */
const TYPEDEF_WINNER = 1;

/** Slots of the attributes the pass captures. */
const S_NAME = 0;
const S_LOW = 1;
const S_HIGH = 2;
const S_ORIGIN = 3;
const S_INLINE = 4;
const S_RANGES = 5;
const S_DECL = 6;
const S_RTYPE = 7;
const S_SPEC = 8;
const NSLOTS = 9;
const SLOT_OF = new Map<number, number>([
  [AT.name, S_NAME],
  [AT.low_pc, S_LOW],
  [AT.high_pc, S_HIGH],
  [AT.abstract_origin, S_ORIGIN],
  [AT.inline, S_INLINE],
  [AT.ranges, S_RANGES],
  [AT.declaration, S_DECL],
  [AT.go_runtime_type, S_RTYPE],
  [AT.specification, S_SPEC],
]);

/**
 * Builds the name index in one pass over every unit: reads the abbreviation code of every
 * DIE, decodes attributes only of top-level subprograms and named types, and skips the rest
 * by precomputed sizes. A unit whose DIEs are malformed is skipped and its error kept.
 */
export function buildNameIndex(units: readonly Unit[], sections: DwarfSections): NameIndex {
  const names: NameBytes = { info: sections.info, str: sections.str };
  const functions = new NameMapBuilder(names);
  const types = new NameMapBuilder(names);
  const otherTypedefWinners = new Set<number>();
  const lows: number[] = [];
  const highs: number[] = [];
  const dies: number[] = [];
  const rangedFunctions: [number, number][] = [];
  const pendingOrigins: number[] = []; // pairs: concrete die, origin
  /** Abstract subprogram offset -> where its name is (NamePos), or its name when in another form. */
  const abstractNames = new Map<number, number | string>();
  const runtimeTypeValues: number[] = [];
  const runtimeTypeDies: number[] = [];
  const errors: FormatError[] = [];
  const slots = new Int32Array(NSLOTS);
  const slotForms = new Int32Array(NSLOTS);
  const slotImplicit = new Float64Array(NSLOTS);

  for (let ui = 0; ui < units.length; ui++) {
    const u = units[ui]!;
    const b = u.info;
    const r = new ByteReader(b, INFO);
    const value = (slot: number) => {
      r.pos = slots[slot]!;
      return readFormValue(r, slotForms[slot]!, slotImplicit[slot]!, u);
    };
    try {
      let pos: number = u.firstDie;
      const end = u.end;
      let depth = 0;
      // Each iteration consumes at least one byte, so the loop is bounded by the unit size.
      while (pos < end) {
        const start = pos;
        let code = b[pos++]!;
        if (code >= 0x80) {
          code &= 0x7f;
          let mul = 128;
          for (;;) {
            if (pos >= end) throw new FormatError(INFO, start, 'truncated abbreviation code');
            const byte = b[pos++]!;
            code += (byte & 0x7f) * mul;
            if ((byte & 0x80) === 0) break;
            mul *= 128;
            if (mul > 2 ** 56) throw new FormatError(INFO, start, 'abbreviation code is too long');
          }
        }
        if (code === 0) {
          depth--;
          if (depth <= 0) break;
          continue;
        }
        const a: Abbrev | undefined = u.abbrevs.get(code);
        if (!a) throw new FormatError(INFO, start, `unknown abbreviation code ${code}`);
        const tag = a.tag;
        const interesting = depth === 1 && (tag === TAG.subprogram || (tag < 0x50 && TYPE_TAGS[tag] === 1));
        if (!interesting) {
          pos = skipAttributes(b, pos, a, u, end, INFO);
          if (a.hasChildren) depth++;
          continue;
        }
        slots.fill(-1);
        const attrs = a.attrs;
        for (let k = 0; k < attrs.length; k++) {
          const slot = SLOT_OF.get(attrs[k]!);
          const form = a.forms[k]!;
          if (slot !== undefined) {
            slots[slot] = pos;
            slotForms[slot] = form;
            slotImplicit[slot] = a.implicit[k]!;
          }
          const s = a.sizes[k]!;
          pos = s >= 0 ? pos + s : skipVariableForm(b, pos, form, u, INFO);
        }
        if (pos > end) throw new FormatError(INFO, start, 'DIE runs past the end of its unit');
        if (a.hasChildren) depth++;
        if (slots[S_DECL]! >= 0 && value(S_DECL) === true) continue;
        // Where the name is (a NamePos), or the name itself when its form puts it elsewhere.
        let name: number | string | undefined;
        if (slots[S_NAME]! >= 0) {
          const form = slotForms[S_NAME]!;
          if (form === FORM.string) name = slots[S_NAME]!;
          else if (form === FORM.strp) {
            r.pos = slots[S_NAME]!;
            name = -r.uint(u.offsetSize) - 1;
          } else {
            const v = value(S_NAME);
            if (typeof v === 'string') name = v;
          }
        }
        if (tag === TAG.subprogram) {
          const inl = slots[S_INLINE]! >= 0 ? value(S_INLINE) : 0;
          if (inl === 1 || inl === 3) {
            if (name !== undefined) abstractNames.set(start, name);
            continue;
          }
          let low = -1;
          let high = -1;
          if (slots[S_LOW]! >= 0 && slots[S_HIGH]! >= 0) {
            low = value(S_LOW) as number;
            const hv = value(S_HIGH);
            high =
              slotForms[S_HIGH] === FORM.addr || isAddrx(slotForms[S_HIGH]!)
                ? (hv as number)
                : low + Number(hv);
          } else if (slots[S_RANGES]! >= 0) {
            rangedFunctions.push([start, ui]);
          }
          if (name === undefined) {
            const originSlot = slots[S_ORIGIN]! >= 0 ? S_ORIGIN : slots[S_SPEC]! >= 0 ? S_SPEC : -1;
            if (originSlot < 0) continue;
            pendingOrigins.push(start, value(originSlot) as number);
          } else if (low >= 0 || slots[S_RANGES]! >= 0) {
            addFirst(functions, name, start);
          }
          if (low >= 0) {
            lows.push(low);
            highs.push(high);
            dies.push(start);
          }
          continue;
        }
        // A named type.
        if (slots[S_RTYPE]! >= 0) {
          const v = value(S_RTYPE);
          if (typeof v === 'number' && v !== 0) {
            runtimeTypeValues.push(v);
            runtimeTypeDies.push(start);
          }
        }
        if (name === undefined) continue;
        addType(types, name, start, tag === TAG.typedef, otherTypedefWinners);
      }
    } catch (e) {
      if (!(e instanceof FormatError)) throw e;
      errors.push(e);
    }
  }
  // Functions whose extent is a DW_AT_ranges list get one PC-table entry per range.
  for (const [start, ui] of rangedFunctions) {
    try {
      const u = units[ui]!;
      const die = u.dieAt(start);
      const v = die?.value(AT.ranges);
      if (!die || typeof v !== 'number') continue;
      for (const rg of readRanges(sections, u, v, die.form(AT.ranges)!)) {
        lows.push(rg.low);
        highs.push(rg.high);
        dies.push(start);
      }
    } catch (e) {
      if (!(e instanceof FormatError)) throw e;
      errors.push(e);
    }
  }
  // Concrete out-of-line copies of inlined functions are named by their abstract origin.
  for (let i = 0; i < pendingOrigins.length; i += 2) {
    const name = abstractNames.get(pendingOrigins[i + 1]!);
    if (name !== undefined) addFirst(functions, name, pendingOrigins[i]!);
  }
  const order = lows.map((_, i) => i).sort((x, y) => lows[x]! - lows[y]! || highs[y]! - highs[x]!);
  const pcLow = new Float64Array(order.length);
  const pcHigh = new Float64Array(order.length);
  const pcDie = new Float64Array(order.length);
  order.forEach((k, i) => {
    pcLow[i] = lows[k]!;
    pcHigh[i] = highs[k]!;
    pcDie[i] = dies[k]!;
  });
  const bytes = (): NameBytes => ({ info: sections.info, str: sections.str });
  return {
    functions: functions.finish(bytes),
    pcLow,
    pcHigh,
    pcDie,
    types: types.finish(bytes),
    runtimeTypeValues: Float64Array.from(runtimeTypeValues),
    runtimeTypeDies: Float64Array.from(runtimeTypeDies),
    errors,
    unitCount: units.length,
    version: units.reduce((v, u) => Math.max(v, u.version), 0),
  };
}

/** Adds a function name unless it is there already (the first DIE of a name wins). */
function addFirst(m: NameMapBuilder, name: number | string, die: number): void {
  if (typeof name === 'string') {
    if (m.otherGet(name) === undefined) m.otherSet(name, die);
  } else if (m.find(name) < 0) m.add(name, die);
}

/**
 * Adds a type name: the first DIE of a name wins, except that a typedef replaces a
 * non-typedef (Go names both a type and its typedef; the typedef is the canonical one).
 */
function addType(
  m: NameMapBuilder,
  name: number | string,
  die: number,
  typedef: boolean,
  otherWinners: Set<number>,
): void {
  if (typeof name === 'string') {
    const prev = m.otherGet(name);
    if (prev === undefined || (typedef && !otherWinners.has(prev))) {
      m.otherSet(name, die);
      if (typedef) otherWinners.add(die);
    }
    return;
  }
  const e = m.find(name);
  if (e < 0) m.add(name, die, typedef ? TYPEDEF_WINNER : 0);
  else if (typedef && !(m.flagsOf(e) & TYPEDEF_WINNER)) m.replace(e, die, TYPEDEF_WINNER);
}

function isAddrx(form: number): boolean {
  return (form >= FORM.addrx1 && form <= FORM.addrx4) || form === FORM.addrx || form === FORM.GNU_addr_index;
}
