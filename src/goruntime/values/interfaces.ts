/**
 * Interface values unboxed to their dynamic type. Empty interfaces (runtime.eface) hold the
 * type descriptor pointer in `_type`; non-empty ones (runtime.iface) hold an itab whose type
 * field (`_type` or `Type`, found in DWARF) points at it. The descriptor maps to a DWARF type
 * through DW_AT_go_runtime_type.
 */
import type { Address } from '../../common/address.js';
import { hex } from '../../common/address.js';
import type { DwarfType } from '../../dwarf/types.js';
import { typeAtOffset } from './built-types.js';
import { ptrAt, readPtr } from './bytes.js';
import type { ValueContext } from './context.js';
import { unreadable } from './render-limits.js';
import { runtimeTypeInfo } from './rtype.js';
import { typeOfDescriptor } from './rtype-build.js';
import { elemOf, fieldOf, type GoValue, kindOf, type Walk } from './walk.js';

/** The parts of one interface value: its runtime type descriptor and data word. */
export interface InterfaceParts {
  /** Runtime address of the dynamic type's descriptor (0 for a nil interface). */
  readonly typeDescriptor: Address;
  /** The data word: the value itself for pointer-shaped types, else a pointer to it. */
  readonly data: Address;
  /** The dynamic type, when the binary's DWARF describes it. */
  readonly dynamicType: DwarfType | undefined;
}

/** The DWARF type of a runtime type descriptor at `descriptor` (undefined if DWARF has none). */
export function dynamicType(ctx: ValueContext, descriptor: Address): DwarfType | undefined {
  if (descriptor === 0) return undefined;
  return ctx.dwarf.typeByRuntimeAddress(descriptor - ctx.typesBase);
}

/** Splits an interface value (16 bytes of eface or iface) into descriptor, data word and dynamic type. */
export function interfaceParts(ctx: ValueContext, t: DwarfType, bytes: Uint8Array): InterfaceParts {
  const data = fieldOf(ctx, t, 'data');
  const dataWord = ptrAt(bytes, data?.offset ?? 8);
  const eType = fieldOf(ctx, t, '_type');
  let descriptor = 0 as Address;
  if (eType) descriptor = ptrAt(bytes, eType.offset);
  else {
    const tab = fieldOf(ctx, t, 'tab');
    const itabPtr = ptrAt(bytes, tab?.offset ?? 0);
    if (itabPtr !== 0) {
      const itab = tab ? elemOf(ctx, tab.type) : undefined;
      const tf = itab ? (fieldOf(ctx, itab, '_type') ?? fieldOf(ctx, itab, 'Type')) : undefined;
      descriptor = readPtr(ctx.memory, (itabPtr + (tf?.offset ?? 8)) as Address);
    }
  }
  return { typeDescriptor: descriptor, data: dataWord, dynamicType: dynamicType(ctx, descriptor) };
}

/**
 * Whether values of type `t` are stored directly in an interface's data word (pointer-shaped:
 * pointers, maps, channels, funcs, unsafe.Pointer, and structs or one-element arrays of one
 * such), following the compiler's rule rather than the descriptor's flag bits.
 */
export function isDirectIface(ctx: ValueContext, t: DwarfType, depth = 0): boolean {
  if (depth > 16) return false;
  const u = ctx.dwarf.underlying(t);
  const kind = kindOf(ctx, t);
  switch (kind) {
    case 'ptr':
    case 'map':
    case 'chan':
    case 'func':
    case 'unsafe.Pointer':
      return true;
    case 'struct': {
      const only = u.fields?.length === 1 ? u.fields[0]!.type : undefined;
      return only !== undefined && isDirectIface(ctx, typeAtOffset(ctx.dwarf, only), depth + 1);
    }
    case 'array': {
      const e = elemOf(ctx, u);
      return u.count === 1 && e !== undefined && isDirectIface(ctx, e, depth + 1);
    }
    default:
      return false;
  }
}

/** The bytes of a dynamic value: the data word itself when direct, else read from where it points. */
function boxed(w: Walk, dyn: DwarfType, data: Address, depth: number): GoValue {
  if (isDirectIface(w.ctx, dyn)) {
    const word = new Uint8Array(8);
    const dv = new DataView(word.buffer);
    dv.setUint32(0, data % 4294967296, true);
    dv.setUint32(4, Math.floor(data / 4294967296), true);
    return w.value(dyn, word, undefined, depth);
  }
  if (data === 0)
    return unreadable(w.typeName(dyn), 'interface holds a nil data pointer for an indirect type');
  return w.valueAt(dyn, data, depth);
}

/**
 * Renders an interface as {"type": dynamic type name, "value": the unboxed value}, or null
 * when nil. With `dataMissing`, the data word is not known (only the type word is): the value
 * is an unreadable marker giving that reason.
 */
export function renderInterface(
  w: Walk,
  t: DwarfType,
  bytes: Uint8Array,
  depth: number,
  dataMissing?: string,
): GoValue {
  const parts = interfaceParts(w.ctx, t, bytes);
  if (parts.typeDescriptor === 0) return null;
  const dyn = parts.dynamicType;
  if (dataMissing !== undefined) {
    const name = dyn ? w.typeName(dyn) : (runtimeTypeInfo(w.ctx, parts.typeDescriptor)?.name ?? '?');
    return { type: name, value: unreadable(name, dataMissing) };
  }
  if (!dyn) {
    // No DWARF for the dynamic type: build it from its runtime type descriptor.
    const built = typeOfDescriptor(w.ctx, parts.typeDescriptor);
    if (built) return { type: w.typeName(built), value: boxed(w, built, parts.data, depth + 1) };
    const name = runtimeTypeInfo(w.ctx, parts.typeDescriptor)?.name ?? `?${hex(parts.typeDescriptor)}`;
    return {
      type: name,
      value: unreadable(
        name,
        'dynamic type not described in DWARF, nor buildable from its descriptor',
        parts.data,
      ),
    };
  }
  return { type: w.typeName(dyn), value: boxed(w, dyn, parts.data, depth + 1) };
}
