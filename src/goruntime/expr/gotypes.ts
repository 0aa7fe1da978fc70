/**
 * Go's type relations over DWARF types, as the spec states them: identity, defined (named)
 * types, underlying types, comparability and order. Go names every type in DWARF with its Go
 * spelling (`main.Point`, `[]uint8`, `struct { X int; Y int }`), so identity is equality of
 * names; the underlying type of a defined type is rebuilt from its kind and elements.
 */
import type { DwarfData } from '../../dwarf/dwarf-data.js';
import type { DwarfType } from '../../dwarf/types.js';
import { typeAtOffset } from '../values/built-types.js';
import { canonical, elemOf, isFloatKind, isIntKind, keyOf, kindOf, typeName } from './types.js';

/** The kinds of Go's basic types. */
export const BASIC_KINDS = new Set([
  'bool',
  'string',
  'int',
  'int8',
  'int16',
  'int32',
  'int64',
  'uint',
  'uint8',
  'uint16',
  'uint32',
  'uint64',
  'uintptr',
  'float32',
  'float64',
  'complex64',
  'complex128',
  'unsafe.Pointer',
]);

const UNNAMED = /^(\[|\*|map\[|chan |<-chan |chan<- |func\(|struct \{|interface \{)/;

/** Whether a type is a defined type (go/types' *Named): `main.Point`, `error`; not `int`, not `[]int`. */
export function isDefined(t: DwarfType): boolean {
  const n = t.name;
  if (n === undefined) return false;
  if (n === 'error') return true;
  return !BASIC_KINDS.has(n) && !UNNAMED.test(n);
}

/** Whether a type has a name (defined or predeclared), for assignability. */
export function hasName(t: DwarfType): boolean {
  return t.name !== undefined && !UNNAMED.test(t.name);
}

/** Whether two types are identical. */
export function identical(d: DwarfData, a: DwarfType, b: DwarfType): boolean {
  if (a === b) return true;
  const [x, y] = [canonical(d, a), canonical(d, b)];
  return x.offset === y.offset || (x.name !== undefined && x.name === y.name);
}

/** Whether the underlying types of two types are identical (struct tags ignored: DWARF has none). */
export function identicalUnder(d: DwarfData, a: DwarfType, b: DwarfType): boolean {
  return identical(d, a, b) || underKey(d, a) === underKey(d, b);
}

/** The Go spelling of a type's underlying type. */
export function underKey(d: DwarfData, t: DwarfType): string {
  const k = kindOf(d, t);
  if (BASIC_KINDS.has(k)) return k;
  if (!isDefined(t)) return typeName(t);
  const el = (): string => {
    const e = elemOf(d, t);
    return e ? typeName(e) : '?';
  };
  switch (k) {
    case 'slice':
      return `[]${el()}`;
    case 'array':
      return `[${d.underlying(canonical(d, t)).count ?? 0}]${el()}`;
    case 'ptr':
      return `*${el()}`;
    case 'map': {
      const key = keyOf(d, t);
      return `map[${key ? typeName(key) : '?'}]${el()}`;
    }
    case 'chan':
      return `chan ${el()}`;
    case 'struct': {
      const fields = (d.underlying(canonical(d, t)).fields ?? []).map((f) => {
        const ft = f.type === undefined ? '?' : typeName(typeAtOffset(d, f.type));
        return f.embedded ? ft : `${f.name} ${ft}`;
      });
      return fields.length === 0 ? 'struct {}' : `struct { ${fields.join('; ')} }`;
    }
  }
  // A defined func or interface type: only identical to itself.
  return `${k} of ${typeName(t)}`;
}

/** Complex kinds. */
export const isComplexKind = (k: string): boolean => k === 'complex64' || k === 'complex128';
/** Numeric kinds. */
export const isNumericKind = (k: string): boolean => isIntKind(k) || isFloatKind(k) || isComplexKind(k);
/** Kinds with an order (< <= > >=). */
export const isOrderedKind = (k: string): boolean => isIntKind(k) || isFloatKind(k) || k === 'string';

/** Kinds whose values may be nil. */
export function hasNil(k: string): boolean {
  return ['ptr', 'slice', 'map', 'chan', 'func', 'interface', 'unsafe.Pointer'].includes(k);
}

/** go/types' compositeKind: 'array', 'slice', 'struct', 'pointer', 'func', 'interface', 'map', 'chan', or ''. */
export function compositeKind(d: DwarfData, t: DwarfType): string {
  const k = kindOf(d, t);
  if (k === 'ptr') return 'pointer';
  return ['array', 'slice', 'struct', 'func', 'interface', 'map', 'chan'].includes(k) ? k : '';
}

/** Why values of a type cannot be compared with ==, or undefined when they can (go/types' wording). */
export function incomparableCause(d: DwarfData, t: DwarfType): string | undefined {
  const k = kindOf(d, t);
  if (k === 'slice' || k === 'func' || k === 'map') return `${k} can only be compared to nil`;
  return nestedCause(d, t, 0);
}

function nestedCause(d: DwarfData, t: DwarfType, depth: number): string | undefined {
  if (depth > 32) return undefined;
  const k = kindOf(d, t);
  if (k === 'slice' || k === 'func' || k === 'map') return `${typeName(t)} cannot be compared`;
  if (k === 'struct') {
    for (const f of d.underlying(canonical(d, t)).fields ?? []) {
      if (f.type === undefined) continue;
      const ft = typeAtOffset(d, f.type);
      if (nestedCause(d, ft, depth + 1) !== undefined)
        return `struct containing ${typeName(ft)} cannot be compared`;
    }
  }
  if (k === 'array') {
    const e = elemOf(d, t);
    if (e && nestedCause(d, e, depth + 1) !== undefined) return `${underKey(d, t)} cannot be compared`;
  }
  return undefined;
}

/** go/types' kindString, for "operator < not defined on struct". */
export function kindString(d: DwarfData, t: DwarfType): string {
  return compositeKind(d, t) || typeName(t);
}
