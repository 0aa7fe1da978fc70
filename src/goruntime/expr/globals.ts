/**
 * Package-level variables for expressions: an index of every DW_TAG_variable at the top
 * level of a unit with a static address (DW_OP_addr), by full name ("net/http.DefaultClient")
 * and by package short name ("http" -> the import paths whose last element is "http").
 */
import { type LinkAddress, linkAddr } from '../../common/address.js';
import { AT, TAG } from '../../dwarf/constants.js';
import type { DwarfData } from '../../dwarf/dwarf-data.js';
import type { InfoOffset } from '../../dwarf/sections.js';

/** A package variable: link-time address and type DIE offset. */
export interface GlobalVar {
  readonly name: string;
  readonly address: LinkAddress;
  readonly type: InfoOffset;
}

/** Package variables of one binary, by full name and package. */
export interface GlobalIndex {
  readonly byName: ReadonlyMap<string, GlobalVar>;
  /** Package import path -> its variables' short names. */
  readonly byPackage: ReadonlyMap<string, string[]>;
  /** Package short name (last path element) -> import paths. */
  readonly byShortName: ReadonlyMap<string, string[]>;
}

const cache = new WeakMap<DwarfData, GlobalIndex>();
const OP_ADDR = 0x03;

/** The package-variable index of a binary's DWARF (built once per DwarfData, one pass over unit roots). */
export function globalIndex(dwarf: DwarfData): GlobalIndex {
  let idx = cache.get(dwarf);
  if (idx) return idx;
  const byName = new Map<string, GlobalVar>();
  const byPackage = new Map<string, string[]>();
  for (const u of dwarf.units()) {
    const root = dwarf.reader(u.offset).next();
    if (!root) continue;
    for (const d of dwarf.children(root)) {
      if (d.tag !== TAG.variable) continue;
      const name = d.str(AT.name);
      const type = d.ref(AT.type);
      const loc = d.bytes(AT.location);
      if (!name || type === undefined || !loc || loc.length !== 9 || loc[0] !== OP_ADDR) continue;
      const dv = new DataView(loc.buffer, loc.byteOffset + 1, 8);
      const address = linkAddr(dv.getUint32(4, true) * 2 ** 32 + dv.getUint32(0, true));
      if (byName.has(name)) continue;
      byName.set(name, { name, address, type });
      const split = splitQualified(name);
      if (!split) continue;
      const list = byPackage.get(split.pkg);
      if (list) list.push(split.name);
      else byPackage.set(split.pkg, [split.name]);
    }
  }
  const byShortName = new Map<string, string[]>();
  for (const pkg of byPackage.keys()) {
    const short = pkg.slice(pkg.lastIndexOf('/') + 1);
    const list = byShortName.get(short);
    if (list) list.push(pkg);
    else byShortName.set(short, [pkg]);
  }
  idx = { byName, byPackage, byShortName };
  cache.set(dwarf, idx);
  return idx;
}

/** Splits "a/b/pkg.Name" into its package path and name (the dot after the last slash). */
export function splitQualified(full: string): { pkg: string; name: string } | undefined {
  const slash = full.lastIndexOf('/');
  const dot = full.indexOf('.', slash + 1);
  if (dot <= 0) return undefined;
  return { pkg: full.slice(0, dot), name: full.slice(dot + 1) };
}
