/**
 * Package-level variables: each is a DW_TAG_variable at the top level of its package's
 * compile unit, with a static address (DW_AT_location = DW_OP_addr A). The index of every
 * global is built on first use, one pass over the units' top-level DIEs.
 */
import { type LinkAddress, linkAddr } from '../../common/address.js';
import { AT, TAG } from '../../dwarf/constants.js';
import type { DwarfData } from '../../dwarf/dwarf-data.js';
import type { InfoOffset } from '../../dwarf/sections.js';
import type { DwarfType } from '../../dwarf/types.js';

/** A package-level variable: its link-time address (add the load bias for a PIE process) and type. */
export interface GlobalVariable {
  readonly name: string;
  readonly address: LinkAddress;
  readonly type: DwarfType;
}

const DW_OP_addr = 0x03;
const indexes = new WeakMap<DwarfData, Map<string, { address: number; type: InfoOffset }>>();

function buildIndex(dwarf: DwarfData): Map<string, { address: number; type: InfoOffset }> {
  const out = new Map<string, { address: number; type: InfoOffset }>();
  for (const u of dwarf.units()) {
    const root = dwarf.reader(u.offset).next();
    if (!root) continue;
    for (const c of dwarf.children(root)) {
      if (c.tag !== TAG.variable) continue;
      const name = c.str(AT.name);
      const type = c.ref(AT.type);
      const loc = c.bytes(AT.location);
      if (name === undefined || type === undefined || !loc || loc.length !== 9 || loc[0] !== DW_OP_addr)
        continue;
      const dv = new DataView(loc.buffer, loc.byteOffset + 1, 8);
      const a = dv.getUint32(4, true) * 4294967296 + dv.getUint32(0, true);
      if (!out.has(name)) out.set(name, { address: a, type });
    }
  }
  return out;
}

/** The package-level variable with this fully qualified name (e.g. "main.config", "net/http.DefaultClient"). */
export function findGlobal(dwarf: DwarfData, name: string): GlobalVariable | undefined {
  let index = indexes.get(dwarf);
  if (!index) {
    index = buildIndex(dwarf);
    indexes.set(dwarf, index);
  }
  const g = index.get(name);
  return g ? { name, address: linkAddr(g.address), type: dwarf.typeAt(g.type) } : undefined;
}

/** Names of every package-level variable whose name starts with `prefix` (e.g. "main."). */
export function globalNames(dwarf: DwarfData, prefix = ''): string[] {
  findGlobal(dwarf, '');
  return [...indexes.get(dwarf)!.keys()].filter((n) => n.startsWith(prefix));
}
