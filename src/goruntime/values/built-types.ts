/**
 * Types that Periscope built from runtime type descriptors because the binary's DWARF lacks
 * them (rtype-build.ts), kept per binary under negative offsets, so that they refer to each
 * other (and to DWARF types) by offset like the types DWARF describes.
 */
import { PeriscopeError } from '../../common/errors.js';
import type { DwarfData } from '../../dwarf/dwarf-data.js';
import type { InfoOffset } from '../../dwarf/sections.js';
import type { DwarfType } from '../../dwarf/types.js';

/** The built types of one binary: by their (negative) offset, and by runtime type offset. */
export interface BuiltTypes {
  readonly byOffset: Map<number, DwarfType>;
  /** Runtime type offset (from runtime.types) -> the type built for it, or null when it cannot be. */
  readonly byRuntimeType: Map<number, DwarfType | null>;
}

const perBinary = new WeakMap<DwarfData, BuiltTypes>();

/** The registry of built types of a binary. */
export function builtTypes(dwarf: DwarfData): BuiltTypes {
  let b = perBinary.get(dwarf);
  if (!b) {
    b = { byOffset: new Map(), byRuntimeType: new Map() };
    perBinary.set(dwarf, b);
  }
  return b;
}

/** Registers a built type under the next free negative offset and returns it. */
export function addBuiltType(dwarf: DwarfData, t: Omit<DwarfType, 'offset'>): DwarfType {
  const reg = builtTypes(dwarf);
  const built: DwarfType = { ...t, offset: -(reg.byOffset.size + 1) as InfoOffset };
  reg.byOffset.set(built.offset, built);
  return built;
}

/** The type at a DWARF offset, or the built type at a negative one. */
export function typeAtOffset(dwarf: DwarfData, offset: InfoOffset): DwarfType {
  if (offset >= 0) return dwarf.typeAt(offset);
  const t = perBinary.get(dwarf)?.byOffset.get(offset);
  if (!t) throw new PeriscopeError('corrupt', `no type was built at offset ${offset}`);
  return t;
}
