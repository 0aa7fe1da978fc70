/**
 * What both map walkers share: the slot a walk yields (addresses of one key and element,
 * plus their bytes when they sit inline in the group or bucket just read), the key and
 * element types of a map type, and how a slot holds them (inline, or through a pointer
 * when larger than 128 bytes — seen in DWARF as a slot field whose size differs).
 */
import type { Address } from '../../common/address.js';
import { PeriscopeError } from '../../common/errors.js';
import type { DwarfType } from '../../dwarf/types.js';
import type { ValueContext } from './context.js';
import { elemOf, kindOf } from './walk.js';

/** One live entry of a map. */
export interface MapSlot {
  /** Address of the key (after following an indirect key's pointer). */
  readonly key: Address;
  /** Address of the element (after following an indirect element's pointer). */
  readonly value: Address;
  /** The key's bytes, when it is stored inline in the container that was read. */
  readonly keyBytes: Uint8Array | undefined;
  /** The element's bytes, when stored inline. */
  readonly valueBytes: Uint8Array | undefined;
}

/** The key and element types of a map type, and the map header struct its pointer points at. */
export interface MapTypes {
  readonly key: DwarfType;
  readonly value: DwarfType;
  /** The runtime header struct (hash<K,V> or map<K,V>). */
  readonly header: DwarfType;
}

/** The key, element and header types of a Go map type (the typedef `map[K]V` or what it names). */
export function mapTypes(ctx: ValueContext, mapType: DwarfType): MapTypes {
  const d = ctx.dwarf;
  const u = d.underlying(mapType);
  const k = mapType.key ?? u.key;
  const v = mapType.elem ?? (u.tagName === 'pointer' ? undefined : u.elem);
  const header = elemOf(ctx, u);
  if (k === undefined || v === undefined || !header) {
    throw new PeriscopeError(
      'unsupported',
      `${mapType.name ?? 'map type'} lacks its key, element or header type in DWARF; cannot walk it`,
    );
  }
  return { key: d.typeAt(k), value: d.typeAt(v), header };
}

/** Whether a slot field of type `slotField` holds a `want` through a pointer (indirect key or element). */
export function isIndirect(ctx: ValueContext, slotField: DwarfType, want: DwarfType): boolean {
  const s = slotField.byteSize ?? ctx.dwarf.underlying(slotField).byteSize;
  const w = want.byteSize ?? ctx.dwarf.underlying(want).byteSize;
  return s !== w && kindOf(ctx, slotField) === 'ptr';
}

/** Thrown when a map's memory is inconsistent (bad sizes, loops): the walk stops with a clear message. */
export function corruptMap(what: string): PeriscopeError {
  return new PeriscopeError(
    'corrupt',
    `map memory looks corrupt (${what}); the process may be mid-write or gone`,
  );
}
