/**
 * The dynamic type of an interface when DWARF does not describe it: Go omits DWARF for some
 * types only ever converted to an interface (go1.22 built `[]*main.Point`, `[]main.Point` and
 * `[1]bool` so). The runtime's type descriptor still says everything the decoders need: its
 * name and kind (rtype.ts), and per kind its element (internal/abi.PtrType, SliceType,
 * ArrayType with Len, ChanType), itself found in DWARF by descriptor or by name, or built the
 * same way. Named types resolve by name; scalars get a typedef of the same shape; maps and
 * structs without DWARF are not built (their layouts need more than the descriptor names).
 */
import { type Address, addr } from '../../common/address.js';
import { TAG } from '../../dwarf/constants.js';
import type { DwarfType } from '../../dwarf/types.js';
import { addBuiltType, builtTypes } from './built-types.js';
import { readPtr, readUint } from './bytes.js';
import type { ValueContext } from './context.js';
import { runtimeTypeInfo, standInFor } from './rtype.js';
import { fieldOf, kindOf } from './walk.js';

/** How deep element types are followed ([][][]T ...) before giving up. */
const MAX_NESTING = 8;

/** The type of the runtime type descriptor at `descriptor`: from DWARF, else built from the descriptor. */
export function typeOfDescriptor(ctx: ValueContext, descriptor: Address, nesting = 0): DwarfType | undefined {
  if (descriptor === 0 || nesting > MAX_NESTING) return undefined;
  const rt = descriptor - ctx.typesBase;
  const dw = ctx.dwarf.typeByRuntimeAddress(rt);
  if (dw) return dw;
  const reg = builtTypes(ctx.dwarf);
  const known = reg.byRuntimeType.get(rt);
  if (known !== undefined) return known ?? undefined;
  const t = build(ctx, descriptor, nesting);
  reg.byRuntimeType.set(rt, t ?? null);
  return t;
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

function build(ctx: ValueContext, descriptor: Address, nesting: number): DwarfType | undefined {
  const info = runtimeTypeInfo(ctx, descriptor);
  if (!info) return undefined;
  const { name, kind } = info;
  const named = ctx.dwarf.findType(name);
  if (named && kindOf(ctx, named) === kind) return named;
  /** The element type a descriptor of kind `abi` names in its field `field`. */
  const elem = (abi: string): DwarfType | undefined => {
    const f = abiField(ctx, abi, 'Elem');
    return f === undefined
      ? undefined
      : typeOfDescriptor(ctx, readPtr(ctx.memory, addr(descriptor + f)), nesting + 1);
  };
  const word = 8; // amd64
  switch (kind) {
    case 'ptr': {
      const e = elem('PtrType');
      if (!e) return undefined;
      return addBuiltType(ctx.dwarf, {
        ...NONE,
        tag: TAG.pointer_type,
        tagName: 'pointer',
        name,
        kind,
        byteSize: word,
        type: e.offset,
        elem: e.offset,
      });
    }
    case 'slice': {
      const e = elem('SliceType');
      const uintptr = ctx.dwarf.findType('uintptr');
      const int = ctx.dwarf.findType('int');
      if (!e || !uintptr || !int) return undefined;
      const field = (n: string, offset: number, t: DwarfType) => ({
        name: n,
        offset,
        type: t.offset,
        embedded: false,
      });
      return addBuiltType(ctx.dwarf, {
        ...NONE,
        tag: TAG.structure_type,
        tagName: 'struct',
        name,
        kind,
        byteSize: 3 * word,
        elem: e.offset,
        fields: [field('array', 0, uintptr), field('len', word, int), field('cap', 2 * word, int)],
      });
    }
    case 'array': {
      const e = elem('ArrayType');
      const lenAt = abiField(ctx, 'ArrayType', 'Len');
      if (!e || lenAt === undefined || e.byteSize === undefined) return undefined;
      const count = readUint(ctx.memory, addr(descriptor + lenAt), word);
      return addBuiltType(ctx.dwarf, {
        ...NONE,
        tag: TAG.array_type,
        tagName: 'array',
        name,
        kind,
        byteSize: count * e.byteSize,
        type: e.offset,
        elem: e.offset,
        count,
      });
    }
    case 'chan': {
      // A chan is a pointer to the runtime's hchan; its element type comes from the descriptor.
      const e = elem('ChanType');
      const hchan = ctx.dwarf.findType('*runtime.hchan');
      if (!e || !hchan) return undefined;
      return typedef(ctx, name, kind, hchan, word, e);
    }
    case 'func':
    case 'unsafe.Pointer': {
      const uintptr = ctx.dwarf.findType('uintptr');
      return uintptr ? typedef(ctx, name, kind, uintptr, word) : undefined;
    }
    default: {
      const standIn = standInFor(ctx, kind);
      return standIn ? typedef(ctx, name, kind, standIn, standIn.byteSize ?? 0) : undefined;
    }
  }
}

/** A built typedef named `name` of kind `kind` over a DWARF type (typedefs only ever name DWARF types). */
function typedef(
  ctx: ValueContext,
  name: string,
  kind: string,
  target: DwarfType,
  byteSize: number,
  elem?: DwarfType,
): DwarfType {
  return addBuiltType(ctx.dwarf, {
    ...NONE,
    tag: TAG.typedef,
    tagName: 'typedef',
    name,
    kind,
    byteSize,
    type: target.offset,
    elem: elem?.offset,
  });
}

/** The offset of a field of internal/abi.<abi> (e.g. PtrType.Elem) in a type descriptor. */
function abiField(ctx: ValueContext, abi: string, field: string): number | undefined {
  const t = ctx.dwarf.findType(`internal/abi.${abi}`);
  return t ? fieldOf(ctx, t, field)?.offset : undefined;
}
