/**
 * The UTC offset a *time.Location gives an instant, following Go's Location.lookup: nil is
 * UTC, then the location's one-zone cache, then its transition table (before the first
 * transition, Go's lookupFirstZone). The field layout of Location, zone and zoneTrans comes
 * from DWARF. Past the last transition Go may evaluate the location's TZ `extend` rule; that
 * rule is not evaluated here (the last transition's zone is used).
 */
import { type Address, addr } from '../../../common/address.js';
import type { DwarfType } from '../../../dwarf/types.js';
import { ptrAt, u64At } from '../bytes.js';
import type { ValueContext } from '../context.js';
import { HARD_LIMITS } from '../render-limits.js';
import { elemOf, fieldOf } from '../walk.js';

const i64 = (b: Uint8Array, off: number): bigint =>
  new DataView(b.buffer, b.byteOffset + off, 8).getBigInt64(0, true);

/** The UTC offset (seconds) in effect at Unix second `unix` in the *time.Location at `loc` (nil = UTC). */
export function zoneOffset(
  ctx: ValueContext,
  locType: DwarfType | undefined,
  loc: Address,
  unix: bigint,
): number {
  if (loc === 0 || !locType || locType.byteSize === undefined) return 0;
  const b = ctx.memory.read(loc, locType.byteSize);
  const f = (n: string) => fieldOf(ctx, locType, n);
  const zone = f('zone');
  const tx = f('tx');
  const zoneT = zone ? elemOf(ctx, zone.type) : undefined;
  const txT = tx ? elemOf(ctx, tx.type) : undefined;
  if (!zone || !tx || !zoneT?.byteSize || !txT?.byteSize) return 0;
  const zoneOff = fieldOf(ctx, zoneT, 'offset')?.offset ?? 16;
  const offsetOf = (z: Address) => Number(i64(ctx.memory.read(addr(z + zoneOff), 8), 0));
  const zones = ptrAt(b, zone.offset);
  const nz = Math.min(u64At(b, zone.offset + 8), HARD_LIMITS.elements);
  if (zones === 0 || nz === 0) return 0;
  const cacheZone = f('cacheZone');
  const cs = f('cacheStart');
  const ce = f('cacheEnd');
  if (cacheZone && cs && ce) {
    const cz = ptrAt(b, cacheZone.offset);
    if (cz !== 0 && i64(b, cs.offset) <= unix && unix < i64(b, ce.offset)) return offsetOf(cz);
  }
  const zoneAt = (i: number) => addr(zones + i * zoneT.byteSize!);
  const txs = ptrAt(b, tx.offset);
  const ntx = txs === 0 ? 0 : Math.min(u64At(b, tx.offset + 8), HARD_LIMITS.elements);
  const whenOff = fieldOf(ctx, txT, 'when')?.offset ?? 0;
  const indexOff = fieldOf(ctx, txT, 'index')?.offset ?? 8;
  const all = ntx > 0 ? ctx.memory.read(txs, ntx * txT.byteSize) : new Uint8Array(0);
  const txIndex = (i: number) => all[i * txT.byteSize! + indexOff]!;
  let idx: number;
  if (ntx === 0 || unix < i64(all, whenOff)) {
    const isDstOff = fieldOf(ctx, zoneT, 'isDST')?.offset;
    const isDst = (i: number) =>
      isDstOff !== undefined && ctx.memory.read(addr(zoneAt(i) + isDstOff), 1)[0] !== 0;
    idx = firstZone(nz, ntx, txIndex, isDst);
  } else {
    // The last transition at or before `unix`.
    let lo = 0;
    let hi = ntx;
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if (unix < i64(all, mid * txT.byteSize + whenOff)) hi = mid;
      else lo = mid;
    }
    idx = txIndex(lo);
  }
  return idx < nz ? offsetOf(zoneAt(idx)) : 0;
}

/**
 * Go's Location.lookupFirstZone: the zone of times before the first transition. The first
 * zone unless a transition uses it; else the last standard-time zone before the first
 * transition's zone when that one is DST; else the first standard-time zone; else zone 0.
 */
function firstZone(
  nz: number,
  ntx: number,
  txIndex: (i: number) => number,
  isDst: (i: number) => boolean,
): number {
  let firstUsed = false;
  for (let i = 0; i < ntx && !firstUsed; i++) firstUsed = txIndex(i) === 0;
  if (!firstUsed) return 0;
  const first = txIndex(0);
  if (first < nz && isDst(first)) {
    for (let zi = first - 1; zi >= 0; zi--) if (!isDst(zi)) return zi;
  }
  for (let zi = 0; zi < nz; zi++) if (!isDst(zi)) return zi;
  return 0;
}
