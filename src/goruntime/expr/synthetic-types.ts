/**
 * Types the expression language needs that a binary's DWARF may lack: the `[]int16` of
 * `arr[1:3]`, the `*[2]int` of `(*[2]int)(s)`, `complex128` in a program that never uses it.
 * DWARF only describes the types a program uses, so Periscope builds the missing ones and
 * serves them beside the binary's through a view of its DwarfData (one per binary, so that the
 * caches keyed by DwarfData stay warm). Built types have negative offsets, which no DIE has.
 */
import { TAG } from '../../dwarf/constants.js';
import type { DwarfData } from '../../dwarf/dwarf-data.js';
import type { InfoOffset } from '../../dwarf/sections.js';
import type { DwarfType } from '../../dwarf/types.js';

interface Registry {
  readonly byOffset: Map<number, DwarfType>;
  readonly byName: Map<string, DwarfType>;
  next: number;
}

const views = new WeakMap<DwarfData, DwarfData>();
const registries = new WeakMap<DwarfData, Registry>();

/**
 * The DwarfData of a binary as the expression language sees it: the binary's types plus
 * those built by the functions below. Every other question goes to the binary's DwarfData.
 */
export function exprDwarf(dwarf: DwarfData): DwarfData {
  if (registries.has(dwarf)) return dwarf;
  let view = views.get(dwarf);
  if (view) return view;
  const reg: Registry = { byOffset: new Map(), byName: new Map(), next: -16 };
  const v = Object.create(dwarf) as Record<string, unknown>;
  // Delegate every method to the binary's DwarfData (its lazily built caches live there).
  for (let proto = Object.getPrototypeOf(dwarf); proto && proto !== Object.prototype; ) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      const desc = Object.getOwnPropertyDescriptor(proto, name);
      if (name === 'constructor' || !desc || name in Object.getOwnPropertyDescriptors(v)) continue;
      if (typeof desc.value === 'function') {
        const f = desc.value as (...a: unknown[]) => unknown;
        v[name] = (...a: unknown[]) => f.apply(dwarf, a);
      } else if (desc.get) Object.defineProperty(v, name, { get: () => desc.get!.call(dwarf) });
    }
    proto = Object.getPrototypeOf(proto);
  }
  v.typeAt = (off: InfoOffset) => reg.byOffset.get(off) ?? dwarf.typeAt(off);
  v.findType = (name: string) => dwarf.findType(name) ?? reg.byName.get(name);
  view = v as unknown as DwarfData;
  views.set(dwarf, view);
  registries.set(view, reg);
  return view;
}

function register(d: DwarfData, t: Omit<DwarfType, 'offset'>): DwarfType {
  const reg = registries.get(exprDwarf(d))!;
  const known = reg.byName.get(t.name!);
  if (known) return known;
  const full: DwarfType = { ...t, offset: reg.next as InfoOffset };
  reg.next -= 16;
  reg.byOffset.set(full.offset, full);
  reg.byName.set(t.name!, full);
  return full;
}

const NONE = {
  type: undefined,
  elem: undefined,
  key: undefined,
  count: undefined,
  fields: undefined,
  encoding: undefined,
  params: undefined,
  dictIndex: undefined,
  runtimeType: undefined,
} as const;

const BASIC_SIZES: Readonly<Record<string, [number, string]>> = {
  bool: [1, 'boolean'],
  int: [8, 'signed'],
  int8: [1, 'signed'],
  int16: [2, 'signed'],
  int32: [4, 'signed'],
  int64: [8, 'signed'],
  uint: [8, 'unsigned'],
  uint8: [1, 'unsigned'],
  uint16: [2, 'unsigned'],
  uint32: [4, 'unsigned'],
  uint64: [8, 'unsigned'],
  uintptr: [8, 'unsigned'],
  float32: [4, 'float'],
  float64: [8, 'float'],
  complex64: [8, 'complex_float'],
  complex128: [16, 'complex_float'],
};

/** A predeclared type by name (`int`, `complex128`, `string`, ...): the binary's, or built. */
export function basicType(d: DwarfData, name: string): DwarfType {
  const found = exprDwarf(d).findType(name);
  if (found) return found;
  if (name === 'string') {
    const u8 = pointerTo(d, basicType(d, 'uint8'));
    const int = basicType(d, 'int');
    return register(d, {
      ...NONE,
      tag: TAG.structure_type,
      tagName: 'struct',
      name,
      byteSize: 16,
      kind: 'string',
      fields: [
        { name: 'str', offset: 0, type: u8.offset, embedded: false },
        { name: 'len', offset: 8, type: int.offset, embedded: false },
      ],
    });
  }
  const [size, encoding] = BASIC_SIZES[name] ?? [8, 'signed'];
  return register(d, {
    ...NONE,
    tag: TAG.base_type,
    tagName: 'base',
    name,
    byteSize: size,
    kind: name,
    encoding,
  });
}

/** The type `*elem`. */
export function pointerTo(d: DwarfData, elem: DwarfType): DwarfType {
  const name = `*${elem.name}`;
  return (
    exprDwarf(d).findType(name) ??
    register(d, {
      ...NONE,
      tag: TAG.pointer_type,
      tagName: 'pointer',
      name,
      byteSize: 8,
      kind: 'ptr',
      type: elem.offset,
      elem: elem.offset,
    })
  );
}

/** The type `[]elem`. */
export function sliceOf(d: DwarfData, elem: DwarfType): DwarfType {
  const name = `[]${elem.name}`;
  const found = exprDwarf(d).findType(name);
  if (found) return found;
  const ptr = pointerTo(d, elem);
  const int = basicType(d, 'int');
  return register(d, {
    ...NONE,
    tag: TAG.structure_type,
    tagName: 'struct',
    name,
    byteSize: 24,
    kind: 'slice',
    elem: elem.offset,
    fields: [
      { name: 'array', offset: 0, type: ptr.offset, embedded: false },
      { name: 'len', offset: 8, type: int.offset, embedded: false },
      { name: 'cap', offset: 16, type: int.offset, embedded: false },
    ],
  });
}

/** The type `[n]elem`. */
export function arrayOf(d: DwarfData, elem: DwarfType, n: number): DwarfType {
  const name = `[${n}]${elem.name}`;
  return (
    exprDwarf(d).findType(name) ??
    register(d, {
      ...NONE,
      tag: TAG.array_type,
      tagName: 'array',
      name,
      byteSize: n * (elem.byteSize ?? 0),
      kind: 'array',
      type: elem.offset,
      elem: elem.offset,
      count: n,
    })
  );
}
