/**
 * Types the expression language needs that a binary's DWARF may lack: the `[]int16` of
 * `arr[1:3]`, the `*[2]int` of `(*[2]int)(s)`, `complex128` in a program that never uses it.
 * DWARF only describes the types a program uses, so Periscope builds the missing ones, in the
 * registry of built types the value decoders read (values/built-types.ts: negative offsets,
 * resolved with typeAtOffset), and finds them again by name.
 */
import { TAG } from '../../dwarf/constants.js';
import type { DwarfData } from '../../dwarf/dwarf-data.js';
import type { DwarfType } from '../../dwarf/types.js';
import { addBuiltType } from '../values/built-types.js';

const byName = new WeakMap<DwarfData, Map<string, DwarfType>>();

/** A type by its Go name: the binary's, or one built here before. */
function find(d: DwarfData, name: string): DwarfType | undefined {
  return d.findType(name) ?? byName.get(d)?.get(name);
}

function register(d: DwarfData, t: Omit<DwarfType, 'offset'>): DwarfType {
  let names = byName.get(d);
  if (!names) {
    names = new Map();
    byName.set(d, names);
  }
  const known = names.get(t.name!);
  if (known) return known;
  const built = addBuiltType(d, t);
  names.set(t.name!, built);
  return built;
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
  const found = find(d, name);
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
    find(d, name) ??
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
  const found = find(d, name);
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
    find(d, name) ??
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
