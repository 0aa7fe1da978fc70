/**
 * Go type questions the expression checker and evaluator both ask of DWARF types: the kind,
 * the element of pointers, slices, arrays, maps and channels, and field lookup with Go's
 * promotion rules for embedded fields (the shallowest depth wins; two at one depth is
 * ambiguous), through embedded pointers too.
 */
import type { DwarfData } from '../../dwarf/dwarf-data.js';
import type { DwarfType } from '../../dwarf/types.js';
import { typeAtOffset } from '../values/built-types.js';

/** A type's Go kind ('int', 'struct', 'ptr', ...), or 'unknown'. */
export function kindOf(dwarf: DwarfData, t: DwarfType): string {
  const c = canonical(dwarf, t);
  return c.kind ?? dwarf.underlying(c).kind ?? 'unknown';
}

/**
 * The type DWARF indexes under this type's name. Go sometimes writes a second typedef of
 * the same name (e.g. `error` with kind struct, pointing at runtime.iface); the indexed one
 * carries the Go kind.
 */
export function canonical(dwarf: DwarfData, t: DwarfType): DwarfType {
  if (t.name === undefined) return t;
  const c = dwarf.findType(t.name);
  return c ?? t;
}

/** The name Go would print for a type. */
export function typeName(t: DwarfType): string {
  return t.name ?? `<${t.tagName} type>`;
}

/** Integer kinds and whether they are signed. */
export const INT_KINDS: Readonly<Record<string, boolean>> = {
  int: true,
  int8: true,
  int16: true,
  int32: true,
  int64: true,
  uint: false,
  uint8: false,
  uint16: false,
  uint32: false,
  uint64: false,
  uintptr: false,
};

/** Whether a kind is an integer kind. */
export const isIntKind = (k: string): boolean => k in INT_KINDS;
/** Whether a kind is a float kind. */
export const isFloatKind = (k: string): boolean => k === 'float32' || k === 'float64';
/** Kinds whose value is one pointer word compared with nil. */
export const POINTER_KINDS = new Set(['ptr', 'map', 'chan', 'func', 'unsafe.Pointer']);

/** The element type of a pointer, array, slice, map or channel, if DWARF names it. */
export function elemOf(dwarf: DwarfData, type: DwarfType): DwarfType | undefined {
  const t = canonical(dwarf, type);
  const u = dwarf.underlying(t);
  const el = t.elem ?? u.elem;
  if (el !== undefined) return typeAtOffset(dwarf, el);
  if (kindOf(dwarf, t) === 'slice') {
    const arr = u.fields?.find((f) => f.name === 'array');
    const p = arr?.type === undefined ? undefined : typeAtOffset(dwarf, arr.type);
    return p?.elem === undefined ? undefined : typeAtOffset(dwarf, p.elem);
  }
  return undefined;
}

/** The key type of a map type. */
export function keyOf(dwarf: DwarfData, type: DwarfType): DwarfType | undefined {
  const t = canonical(dwarf, type);
  const u = dwarf.underlying(t);
  const k = t.key ?? u.key;
  return k === undefined ? undefined : typeAtOffset(dwarf, k);
}

/** Byte offset of a named field of a struct type (strings, slices and interfaces included). */
export function fieldOffset(dwarf: DwarfData, t: DwarfType, name: string): number | undefined {
  return dwarf.underlying(t).fields?.find((f) => f.name === name)?.offset;
}

/** One step of a field path: dereference the current pointer first (embedded *T), then add offset. */
export interface FieldStep {
  readonly deref: boolean;
  readonly offset: number;
  readonly type: DwarfType;
}

/** The result of looking up a field: the steps to it, or why it cannot be had. */
export type FieldLookup =
  | { readonly ok: true; readonly steps: readonly FieldStep[] }
  | { readonly ok: false; readonly reason: 'missing' | 'ambiguous'; readonly fields: readonly string[] };

/** Field lookups already made, per type (types are immutable and shared, as DWARF decodes them once). */
const lookups = new WeakMap<DwarfType, Map<string, FieldLookup>>();

/**
 * Looks up field `name` in struct type `t` (not a pointer), promoting through embedded fields.
 * Remembered per type and name: expressions evaluated inside a pause look the same fields up
 * on every frame they capture.
 */
export function lookupField(dwarf: DwarfData, t: DwarfType, name: string): FieldLookup {
  let byName = lookups.get(t);
  if (!byName) {
    byName = new Map();
    lookups.set(t, byName);
  }
  let found = byName.get(name);
  if (!found) {
    found = searchField(dwarf, t, name);
    byName.set(name, found);
  }
  return found;
}

function searchField(dwarf: DwarfData, t: DwarfType, name: string): FieldLookup {
  type Cand = { type: DwarfType; steps: FieldStep[]; viaPtr: boolean };
  let level: Cand[] = [{ type: t, steps: [], viaPtr: false }];
  const seen = new Set<number>();
  for (let depth = 0; depth < 16 && level.length > 0; depth++) {
    const found: FieldStep[][] = [];
    const next: Cand[] = [];
    for (const c of level) {
      const u = dwarf.underlying(c.type);
      if (seen.has(u.offset)) continue;
      seen.add(u.offset);
      for (const f of u.fields ?? []) {
        if (f.type === undefined) continue;
        const ft = typeAtOffset(dwarf, f.type);
        const steps = [...c.steps, { deref: c.viaPtr, offset: f.offset, type: ft }];
        if (f.name === name) found.push(steps);
        if (!f.embedded) continue;
        const fk = kindOf(dwarf, ft);
        if (fk === 'struct') next.push({ type: ft, steps, viaPtr: false });
        else if (fk === 'ptr') {
          const pointee = elemOf(dwarf, ft);
          if (pointee && kindOf(dwarf, pointee) === 'struct')
            next.push({ type: pointee, steps, viaPtr: true });
        }
      }
    }
    if (found.length === 1) return { ok: true, steps: found[0]! };
    if (found.length > 1) return { ok: false, reason: 'ambiguous', fields: fieldNames(dwarf, t) };
    level = next;
  }
  return { ok: false, reason: 'missing', fields: fieldNames(dwarf, t) };
}

/** The names of a struct's fields, with promoted ones of embedded structs (for messages). */
export function fieldNames(dwarf: DwarfData, t: DwarfType): string[] {
  const out: string[] = [];
  for (const f of dwarf.underlying(t).fields ?? []) {
    out.push(f.name);
    if (!f.embedded || f.type === undefined) continue;
    let ft = typeAtOffset(dwarf, f.type);
    if (kindOf(dwarf, ft) === 'ptr') ft = elemOf(dwarf, ft) ?? ft;
    for (const g of dwarf.underlying(ft).fields ?? []) if (!out.includes(g.name)) out.push(g.name);
  }
  return out;
}
