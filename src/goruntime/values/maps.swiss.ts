/**
 * Walks Go 1.24+ swiss-table maps. The header (map<K,V>) either points straight at one group
 * (dirLen 0: a small map of at most 8 entries) or at a directory of dirLen table pointers,
 * where a table appears 2^(globalDepth-localDepth) times in a row. A table holds
 * lengthMask+1 groups; a group is an 8-byte control word (byte i for slot i: high bit clear
 * = full, 0x80 = empty, 0xFE = deleted) followed by 8 slots of {key, elem}. Every offset
 * and size comes from the DWARF Go emits for each map type (map<K,V>, table<K,V>,
 * groupReference<K,V>, noalg.map.group[K]V); the control-byte values from the constants of
 * internal/runtime/maps.
 */
import { type Address, addr } from '../../common/address.js';
import type { DwarfData } from '../../dwarf/dwarf-data.js';
import type { DwarfType } from '../../dwarf/types.js';
import { i64At, ptrAt, u64At } from './bytes.js';
import type { ValueContext } from './context.js';
import { corruptMap, isIndirect, type MapSlot, mapTypes } from './map-shape.js';
import { HARD_LIMITS } from './render-limits.js';
import { elemOf, fieldOf, goConstant } from './walk.js';

/** Offsets and sizes of one swiss map type's runtime structures. */
interface SwissShape {
  readonly headerSize: number;
  readonly usedOff: number;
  readonly dirPtrOff: number;
  readonly dirLenOff: number;
  readonly tableSize: number;
  readonly groupsDataOff: number;
  readonly groupsMaskOff: number;
  readonly groupSize: number;
  readonly ctrlOff: number;
  readonly slotsOff: number;
  readonly slotCount: number;
  readonly slotSize: number;
  readonly keyOff: number;
  readonly keySize: number;
  readonly keyIndirect: boolean;
  readonly elemOff: number;
  readonly elemSize: number;
  readonly elemIndirect: boolean;
  readonly emptyBit: number;
}

const shapes = new WeakMap<DwarfData, Map<number, SwissShape>>();

function need<T>(v: T | undefined, what: string, mapType: DwarfType): T {
  if (v === undefined) throw corruptMapType(what, mapType);
  return v;
}

function corruptMapType(what: string, mapType: DwarfType): Error {
  return corruptMap(`DWARF of ${mapType.name ?? 'a map type'} lacks ${what}`);
}

/** The layout of a swiss map type, derived from its DWARF (cached per type). */
function swissShape(ctx: ValueContext, mapType: DwarfType): SwissShape {
  let perDwarf = shapes.get(ctx.dwarf);
  if (!perDwarf) {
    perDwarf = new Map();
    shapes.set(ctx.dwarf, perDwarf);
  }
  const cached = perDwarf.get(mapType.offset);
  if (cached) return cached;
  const { key, value, header } = mapTypes(ctx, mapType);
  const f = (t: DwarfType, name: string) => need(fieldOf(ctx, t, name), `${name} in ${t.name}`, mapType);
  const dirPtr = f(header, 'dirPtr');
  const tablePtr = need(elemOf(ctx, dirPtr.type), 'the directory element type', mapType);
  const table = need(elemOf(ctx, tablePtr), 'the table type', mapType);
  const groups = f(table, 'groups');
  const data = f(groups.type, 'data');
  const group = need(elemOf(ctx, data.type), 'the group type', mapType);
  const slots = f(group, 'slots');
  const slot = need(elemOf(ctx, ctx.dwarf.underlying(slots.type)), 'the slot type', mapType);
  const k = f(slot, 'key');
  const e = f(slot, 'elem');
  const shape: SwissShape = {
    headerSize: need(header.byteSize, 'the header size', mapType),
    usedOff: f(header, 'used').offset,
    dirPtrOff: dirPtr.offset,
    dirLenOff: f(header, 'dirLen').offset,
    tableSize: need(table.byteSize, 'the table size', mapType),
    groupsDataOff: groups.offset + data.offset,
    groupsMaskOff: groups.offset + f(groups.type, 'lengthMask').offset,
    groupSize: need(group.byteSize, 'the group size', mapType),
    ctrlOff: f(group, 'ctrl').offset,
    slotsOff: slots.offset,
    slotCount: need(ctx.dwarf.underlying(slots.type).count, 'the slot count', mapType),
    slotSize: need(slot.byteSize, 'the slot size', mapType),
    keyOff: k.offset,
    keySize: k.type.byteSize ?? 0,
    keyIndirect: isIndirect(ctx, k.type, key),
    elemOff: e.offset,
    elemSize: e.type.byteSize ?? 0,
    elemIndirect: isIndirect(ctx, e.type, value),
    emptyBit: goConstant(ctx, 'internal/runtime/maps.ctrlEmpty', 0x80),
  };
  perDwarf.set(mapType.offset, shape);
  return shape;
}

/** Number of entries of the swiss map at `p` (0 for nil). */
export function swissCount(ctx: ValueContext, mapType: DwarfType, p: Address): number {
  if (p === 0) return 0;
  const s = swissShape(ctx, mapType);
  return u64At(ctx.memory.read(addr(p + s.usedOff), 8), 0);
}

/** Yields every full slot of the swiss map at `p`, bounded so corrupt memory cannot loop. */
export function* swissSlots(ctx: ValueContext, mapType: DwarfType, p: Address): Generator<MapSlot> {
  if (p === 0) return;
  const s = swissShape(ctx, mapType);
  const h = ctx.memory.read(p, s.headerSize);
  const dirPtr = ptrAt(h, s.dirPtrOff);
  const dirLen = i64At(h, s.dirLenOff);
  if (dirPtr === 0) return;
  if (dirLen === 0) {
    yield* groupSlots(ctx, s, dirPtr);
    return;
  }
  if (dirLen < 0 || dirLen > 1 << 24) throw corruptMap(`directory length ${dirLen}`);
  const dir = ctx.memory.read(dirPtr, dirLen * 8);
  const seen = new Set<number>();
  let visited = 0;
  for (let i = 0; i < dirLen; i++) {
    const table = ptrAt(dir, i * 8);
    if (table === 0 || seen.has(table)) continue;
    seen.add(table);
    const tb = ctx.memory.read(table, s.tableSize);
    const groups = ptrAt(tb, s.groupsDataOff);
    const n = u64At(tb, s.groupsMaskOff) + 1;
    visited += n * s.slotCount;
    if (n > 1 << 20 || visited > HARD_LIMITS.mapSlots) throw corruptMap(`table with ${n} groups`);
    for (let g = 0; g < n; g++) yield* groupSlots(ctx, s, addr(groups + g * s.groupSize));
  }
}

function* groupSlots(ctx: ValueContext, s: SwissShape, group: Address): Generator<MapSlot> {
  const b = ctx.memory.read(group, s.groupSize);
  for (let i = 0; i < s.slotCount; i++) {
    if ((b[s.ctrlOff + i]! & s.emptyBit) !== 0) continue; // empty or deleted
    const slot = s.slotsOff + i * s.slotSize;
    const ko = slot + s.keyOff;
    const eo = slot + s.elemOff;
    yield {
      key: s.keyIndirect ? ptrAt(b, ko) : addr(group + ko),
      value: s.elemIndirect ? ptrAt(b, eo) : addr(group + eo),
      keyBytes: s.keyIndirect ? undefined : b.subarray(ko, ko + s.keySize),
      valueBytes: s.elemIndirect ? undefined : b.subarray(eo, eo + s.elemSize),
    };
  }
}
