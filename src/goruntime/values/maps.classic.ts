/**
 * Walks classic Go maps (Go 1.23 and earlier): hmap hash<K,V> with 2^B buckets of 8 slots
 * (bucket<K,V>: tophash[8], keys, values, overflow pointer). While a map grows, oldbuckets
 * holds the previous array; entries not yet evacuated live only there, and evacuated slots
 * are marked (tophash evacuatedX/Y/Empty), so walking the live slots (tophash >=
 * minTopHash) of both arrays yields every entry exactly once. Offsets come from DWARF,
 * tophash and flag values from the runtime's constants.
 */
import { type Address, addr } from '../../common/address.js';
import type { DwarfData } from '../../dwarf/dwarf-data.js';
import type { DwarfType } from '../../dwarf/types.js';
import { ptrAt, u64At, uintAt } from './bytes.js';
import type { ValueContext } from './context.js';
import { corruptMap, isIndirect, type MapSlot, mapTypes } from './map-shape.js';
import { HARD_LIMITS } from './render-limits.js';
import { elemOf, fieldOf, goConstant } from './walk.js';

/** Offsets and sizes of one classic map type's hmap and buckets, and the runtime's constants. */
interface ClassicShape {
  readonly headerSize: number;
  readonly countOff: number;
  readonly flagsOff: number;
  readonly bOff: number;
  readonly bucketsOff: number;
  readonly oldbucketsOff: number;
  readonly bucketSize: number;
  readonly tophashOff: number;
  readonly slotCount: number;
  readonly keysOff: number;
  readonly keySize: number;
  readonly keyIndirect: boolean;
  readonly valuesOff: number;
  readonly valueSize: number;
  readonly valueIndirect: boolean;
  readonly overflowOff: number;
  readonly emptyRest: number;
  readonly evacuatedMin: number;
  readonly evacuatedMax: number;
  readonly minTopHash: number;
  readonly sameSizeGrow: number;
}

const shapes = new WeakMap<DwarfData, Map<number, ClassicShape>>();

function classicShape(ctx: ValueContext, mapType: DwarfType): ClassicShape {
  let perDwarf = shapes.get(ctx.dwarf);
  if (!perDwarf) {
    perDwarf = new Map();
    shapes.set(ctx.dwarf, perDwarf);
  }
  const cached = perDwarf.get(mapType.offset);
  if (cached) return cached;
  const { key, value, header } = mapTypes(ctx, mapType);
  const f = (t: DwarfType, name: string) => {
    const x = fieldOf(ctx, t, name);
    if (!x) throw corruptMap(`DWARF of ${mapType.name} lacks ${name} in ${t.name}`);
    return x;
  };
  const buckets = f(header, 'buckets');
  const bucket = elemOf(ctx, buckets.type);
  if (!bucket?.byteSize) throw corruptMap(`DWARF of ${mapType.name} lacks the bucket type`);
  const tophash = f(bucket, 'tophash');
  const keys = f(bucket, 'keys');
  const values = f(bucket, 'values');
  const keySlot = elemOf(ctx, ctx.dwarf.underlying(keys.type));
  const valueSlot = elemOf(ctx, ctx.dwarf.underlying(values.type));
  const slotCount = ctx.dwarf.underlying(tophash.type).count ?? 8;
  const c = (name: string, d: number) => goConstant(ctx, `runtime.${name}`, d);
  const shape: ClassicShape = {
    headerSize: header.byteSize ?? 48,
    countOff: f(header, 'count').offset,
    flagsOff: f(header, 'flags').offset,
    bOff: f(header, 'B').offset,
    bucketsOff: buckets.offset,
    oldbucketsOff: f(header, 'oldbuckets').offset,
    bucketSize: bucket.byteSize,
    tophashOff: tophash.offset,
    slotCount,
    keysOff: keys.offset,
    keySize: keySlot?.byteSize ?? (keys.type.byteSize ?? 0) / slotCount,
    keyIndirect: keySlot ? isIndirect(ctx, keySlot, key) : false,
    valuesOff: values.offset,
    valueSize: valueSlot?.byteSize ?? (values.type.byteSize ?? 0) / slotCount,
    valueIndirect: valueSlot ? isIndirect(ctx, valueSlot, value) : false,
    overflowOff: f(bucket, 'overflow').offset,
    emptyRest: c('emptyRest', 0),
    evacuatedMin: c('evacuatedX', 2),
    evacuatedMax: c('evacuatedEmpty', 4),
    minTopHash: c('minTopHash', 5),
    sameSizeGrow: c('sameSizeGrow', 8),
  };
  perDwarf.set(mapType.offset, shape);
  return shape;
}

/** Number of entries of the classic map at `p` (0 for nil). */
export function classicCount(ctx: ValueContext, mapType: DwarfType, p: Address): number {
  if (p === 0) return 0;
  const s = classicShape(ctx, mapType);
  return u64At(ctx.memory.read(addr(p + s.countOff), 8), 0);
}

/** Yields every live slot of the classic map at `p` (old buckets during growth too), bounded. */
export function* classicSlots(ctx: ValueContext, mapType: DwarfType, p: Address): Generator<MapSlot> {
  if (p === 0) return;
  const s = classicShape(ctx, mapType);
  const h = ctx.memory.read(p, s.headerSize);
  const B = h[s.bOff]!;
  if (B > 40) throw corruptMap(`B = ${B}`);
  const nb = 2 ** B;
  if (nb * s.slotCount > HARD_LIMITS.mapSlots) throw corruptMap(`${nb} buckets`);
  const budget = { slots: HARD_LIMITS.mapSlots };
  const old = ptrAt(h, s.oldbucketsOff);
  if (old !== 0) {
    const oldN = (uintAt(h, s.flagsOff, 1) & s.sameSizeGrow) !== 0 ? nb : Math.max(1, nb / 2);
    for (let i = 0; i < oldN; i++) yield* chain(ctx, s, addr(old + i * s.bucketSize), true, budget);
  }
  const buckets = ptrAt(h, s.bucketsOff);
  if (buckets === 0) return;
  for (let i = 0; i < nb; i++) yield* chain(ctx, s, addr(buckets + i * s.bucketSize), false, budget);
}

/** The live slots of one bucket and its overflow chain. */
function* chain(
  ctx: ValueContext,
  s: ClassicShape,
  first: Address,
  old: boolean,
  budget: { slots: number },
): Generator<MapSlot> {
  let b = first;
  for (let n = 0; b !== 0; n++) {
    if (n > HARD_LIMITS.overflowChain) throw corruptMap('overflow chain does not end');
    const bytes = ctx.memory.read(b, s.bucketSize);
    const top0 = bytes[s.tophashOff]!;
    // An evacuated old bucket: its entries now live in the new array.
    if (old && n === 0 && top0 >= s.evacuatedMin && top0 <= s.evacuatedMax) return;
    budget.slots -= s.slotCount;
    if (budget.slots < 0) throw corruptMap('more slots than the map can hold');
    for (let i = 0; i < s.slotCount; i++) {
      const top = bytes[s.tophashOff + i]!;
      if (top === s.emptyRest) return;
      if (top < s.minTopHash) continue;
      const ko = s.keysOff + i * s.keySize;
      const vo = s.valuesOff + i * s.valueSize;
      yield {
        key: s.keyIndirect ? ptrAt(bytes, ko) : addr(b + ko),
        value: s.valueIndirect ? ptrAt(bytes, vo) : addr(b + vo),
        keyBytes: s.keyIndirect ? undefined : bytes.subarray(ko, ko + s.keySize),
        valueBytes: s.valueIndirect ? undefined : bytes.subarray(vo, vo + s.valueSize),
      };
    }
    b = ptrAt(bytes, s.overflowOff);
  }
}
