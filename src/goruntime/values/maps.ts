/**
 * Maps of either implementation (classic buckets or swiss tables, chosen by the binary's
 * runtime layout): entry listing, lookup by key, and rendering. Lookup compares keys
 * slot by slot (the target's hash seed and hash function are not reproduced), bounded like
 * every walk.
 */
import type { Address } from '../../common/address.js';
import { PeriscopeError } from '../../common/errors.js';
import type { DwarfType } from '../../dwarf/types.js';
import { ptrAt, u64At } from './bytes.js';
import type { ValueContext } from './context.js';
import { type MapSlot, mapTypes } from './map-shape.js';
import { classicCount, classicSlots } from './maps.classic.js';
import { swissCount, swissSlots } from './maps.swiss.js';
import { redactedMark } from './redaction.js';
import { MARK, moreElements } from './render-limits.js';
import type { GoValue, Walk } from './walk.js';
import { kindOf } from './walk.js';

export type { MapSlot } from './map-shape.js';

/** The first entries of a map, with its length and key/element types. */
export interface MapListing {
  /** Number of entries the map header records. */
  readonly len: number;
  readonly keyType: DwarfType;
  readonly valueType: DwarfType;
  /** Up to `limit` entries, in the map's memory order. */
  readonly entries: readonly MapSlot[];
}

/** Every live slot of the map at `mapPointer` (the value of a map variable), lazily. */
export function mapSlots(ctx: ValueContext, mapType: DwarfType, mapPointer: Address): Generator<MapSlot> {
  return ctx.layout.maps.kind === 'swiss'
    ? swissSlots(ctx, mapType, mapPointer)
    : classicSlots(ctx, mapType, mapPointer);
}

/** The number of entries of a map (0 for nil). */
export function mapLength(ctx: ValueContext, mapType: DwarfType, mapPointer: Address): number {
  return ctx.layout.maps.kind === 'swiss'
    ? swissCount(ctx, mapType, mapPointer)
    : classicCount(ctx, mapType, mapPointer);
}

/** Lists up to `limit` entries of the map at `mapPointer` as key/element addresses. */
export function mapEntries(
  ctx: ValueContext,
  mapType: DwarfType,
  mapPointer: Address,
  limit: number,
): MapListing {
  const { key, value } = mapTypes(ctx, mapType);
  const entries: MapSlot[] = [];
  if (limit > 0) {
    for (const slot of mapSlots(ctx, mapType, mapPointer)) {
      entries.push(slot);
      if (entries.length >= limit) break;
    }
  }
  return { len: mapLength(ctx, mapType, mapPointer), keyType: key, valueType: value, entries };
}

/** A key given by a user or an expression: strings for string keys, numbers/bigints for integers, booleans. */
export type MapKey = string | number | bigint | boolean;

/** The address of the element stored under `key` in the map at `mapPointer`, or undefined when absent. */
export function mapLookup(
  ctx: ValueContext,
  mapType: DwarfType,
  mapPointer: Address,
  key: MapKey,
): Address | undefined {
  const { key: kt } = mapTypes(ctx, mapType);
  const matches = keyMatcher(ctx, kt, key);
  for (const slot of mapSlots(ctx, mapType, mapPointer)) {
    const kb = slot.keyBytes ?? ctx.memory.read(slot.key, kt.byteSize ?? 0);
    if (matches(kb)) return slot.value;
  }
  return undefined;
}

const INT_SIZES: Readonly<Record<string, [number, boolean]>> = {
  int: [8, true],
  int8: [1, true],
  int16: [2, true],
  int32: [4, true],
  int64: [8, true],
  uint: [8, false],
  uint8: [1, false],
  uint16: [2, false],
  uint32: [4, false],
  uint64: [8, false],
  uintptr: [8, false],
};

/** A predicate over a slot's key bytes for one wanted key; throws 'bad-usage' when the kinds differ. */
function keyMatcher(ctx: ValueContext, kt: DwarfType, key: MapKey): (b: Uint8Array) => boolean {
  const kind = kindOf(ctx, kt) ?? '?';
  const name = kt.name ?? kind;
  if (kind === 'string' && typeof key === 'string') {
    const want = new TextEncoder().encode(key);
    return (b) => {
      if (u64At(b, 8) !== want.length) return false;
      if (want.length === 0) return true;
      const got = ctx.memory.read(ptrAt(b, 0), want.length);
      for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) return false;
      return true;
    };
  }
  const int = INT_SIZES[kind];
  if (int && (typeof key === 'bigint' || (typeof key === 'number' && Number.isInteger(key)))) {
    const [size, signed] = int;
    const want = BigInt(key);
    return (b) => {
      const dv = new DataView(b.buffer, b.byteOffset, size);
      let v: bigint;
      if (size === 8) v = signed ? dv.getBigInt64(0, true) : dv.getBigUint64(0, true);
      else if (size === 4) v = BigInt(signed ? dv.getInt32(0, true) : dv.getUint32(0, true));
      else if (size === 2) v = BigInt(signed ? dv.getInt16(0, true) : dv.getUint16(0, true));
      else v = BigInt(signed ? dv.getInt8(0) : dv.getUint8(0));
      return v === want;
    };
  }
  if (kind === 'bool' && typeof key === 'boolean') return (b) => (b[0] !== 0) === key;
  throw new PeriscopeError(
    'bad-usage',
    `cannot look up a ${typeof key} key in a map with ${name} keys; lookups support string, integer and bool keys of the same kind`,
  );
}

/**
 * Renders a map: an object when keys are strings (and none is the marker key),
 * else an array of {key, value}; a cut adds a marker (the "…" member of the object, or the
 * last array element). Nil renders as null.
 */
export function renderMap(w: Walk, mapType: DwarfType, p: Address, depth: number): GoValue {
  if (p === 0) return null;
  const ctx = w.ctx;
  const listing = mapEntries(ctx, mapType, p, ctx.limits.maxElements);
  const keyKind = kindOf(ctx, listing.keyType);
  const pairs: { key: GoValue; value: GoValue }[] = listing.entries.map((e) => {
    const key = e.keyBytes
      ? w.value(listing.keyType, e.keyBytes, e.key, depth + 1)
      : w.valueAt(listing.keyType, e.key, depth + 1);
    // A string key names its element (an http.Header's "Authorization"): the element is
    // redacted by the key's name, before any of its bytes is read.
    const secret = keyKind === 'string' ? secretKey(ctx, key) : undefined;
    if (secret !== undefined) return { key, value: redactedMark(secret, w.typeName(listing.valueType)) };
    const value = e.valueBytes
      ? w.value(listing.valueType, e.valueBytes, e.value, depth + 1)
      : w.valueAt(listing.valueType, e.value, depth + 1);
    return { key, value };
  });
  const cut = listing.len > pairs.length ? moreElements(listing.len, pairs.length) : undefined;
  const stringKeys = keyKind === 'string' && pairs.every((x) => typeof x.key === 'string' && x.key !== MARK);
  if (stringKeys && new Set(pairs.map((x) => x.key)).size === pairs.length) {
    const obj: { [k: string]: GoValue } = {};
    for (const x of pairs) obj[x.key as string] = x.value;
    if (cut) obj[MARK] = cut;
    return obj;
  }
  const arr: GoValue[] = pairs;
  if (cut) arr.push(cut);
  return arr;
}

/** The rule a decoded string key matches (a cut key by its first bytes), or undefined. */
function secretKey(ctx: ValueContext, key: GoValue): string | undefined {
  if (ctx.redact === undefined) return undefined;
  if (typeof key === 'string') return ctx.redact.byName(key);
  if (typeof key === 'object' && key !== null && !Array.isArray(key) && typeof key.string === 'string')
    return ctx.redact.byName(key.string);
  return undefined;
}
