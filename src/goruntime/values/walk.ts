/**
 * The shape of a rendered value and the walk state shared by the decoders of each kind
 * (maps, interfaces, channels, pretty forms). Decoders get the walk as a parameter and
 * call back into it for nested values, so no decoder module imports another at load time.
 */
import type { Address } from '../../common/address.js';
import type { DwarfType } from '../../dwarf/types.js';
import { packageConstants } from '../../gobinary/runtime-layout.js';
import { typeAtOffset } from './built-types.js';
import type { ValueContext } from './context.js';

/** A decoded Go value, ready for JSON.stringify (see docs/values.md for the shape of each kind). */
export type GoValue = null | boolean | number | string | GoValue[] | { [key: string]: GoValue };

/** One rendering in progress: the context, plus the pointees on the current path (for cycles). */
export interface Walk {
  readonly ctx: ValueContext;
  /** Renders a value of type `t` held in `bytes` (which sit at `address`, when known) at nesting `depth`. */
  value(t: DwarfType, bytes: Uint8Array, address: Address | undefined, depth: number): GoValue;
  /** Reads and renders a value of type `t` at `address` at nesting `depth`. */
  valueAt(t: DwarfType, address: Address, depth: number): GoValue;
  /** The Go spelling of a type, for "type" fields and markers. */
  typeName(t: DwarfType): string;
  /** Renders a slice of type `t` from its header's words (`cap` undefined when not known). */
  sliceOf(t: DwarfType, data: Address, len: number, cap: number | undefined, depth: number): GoValue;
}

/** A pretty form: renders a value of a known named type, or returns undefined to fall back to the plain form. */
export type PrettyForm = (
  w: Walk,
  t: DwarfType,
  bytes: Uint8Array,
  address: Address | undefined,
  depth: number,
) => GoValue | undefined;

/** The field of a struct type by name (looking through typedefs), with its type. */
export function fieldOf(
  ctx: ValueContext,
  t: DwarfType,
  name: string,
): { offset: number; type: DwarfType } | undefined {
  const f = ctx.dwarf.underlying(t).fields?.find((x) => x.name === name);
  if (!f || f.type === undefined) return undefined;
  return { offset: f.offset, type: typeAtOffset(ctx.dwarf, f.type) };
}

/** The type a pointer, slice, array, channel or map type's DW_AT_go_elem / DW_AT_type names. */
export function elemOf(ctx: ValueContext, t: DwarfType): DwarfType | undefined {
  const e = t.elem ?? ctx.dwarf.underlying(t).elem;
  return e === undefined ? undefined : typeAtOffset(ctx.dwarf, e);
}

const constantCache = new WeakMap<object, Map<string, Map<string, number>>>();

/** A package-level constant of the binary (e.g. "runtime.minTopHash"), or `fallback` when DWARF lacks it. */
export function goConstant(ctx: ValueContext, name: string, fallback: number): number {
  let perPkg = constantCache.get(ctx.dwarf);
  if (!perPkg) {
    perPkg = new Map();
    constantCache.set(ctx.dwarf, perPkg);
  }
  const pkg = name.slice(0, name.lastIndexOf('.'));
  let consts = perPkg.get(pkg);
  if (!consts) {
    consts = packageConstants(ctx.dwarf, pkg);
    perPkg.set(pkg, consts);
  }
  return consts.get(name) ?? fallback;
}

/**
 * The Go kind of a type. Go sometimes emits a typedef to a same-named typedef (e.g. the
 * `interface {}` a variable refers to names the `interface {}` typedef carrying the kind),
 * and only that inner typedef knows the kind; the struct behind it would say "struct".
 */
export function kindOf(ctx: ValueContext, t: DwarfType): string | undefined {
  let cur = t;
  for (let i = 0; i < 8 && cur.tagName === 'typedef' && cur.type !== undefined; i++) {
    const next = typeAtOffset(ctx.dwarf, cur.type);
    if (next.tagName !== 'typedef' || next.name !== cur.name) break;
    cur = next;
  }
  return cur.kind ?? ctx.dwarf.underlying(cur).kind;
}
