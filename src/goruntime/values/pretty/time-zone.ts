/**
 * The UTC offset a *time.Location gives an instant, following Go's Location.lookup: nil is
 * UTC, then the location's one-zone cache, then its transition table (before the first
 * transition, the first zone), and past the last transition its TZ `extend` rule
 * (tz-rule.ts). The field layout of Location, zone and zoneTrans comes from DWARF.
 */
import { type Address, addr } from '../../../common/address.js';
import type { DwarfType } from '../../../dwarf/types.js';
import { ptrAt, u64At } from '../bytes.js';
import type { ValueContext } from '../context.js';
import { HARD_LIMITS } from '../render-limits.js';
import { elemOf, fieldOf } from '../walk.js';
import type { GoCalendar } from './go-calendar.js';
import { tzRuleOffset } from './tz-rule.js';

const i64 = (b: Uint8Array, off: number): bigint =>
  new DataView(b.buffer, b.byteOffset + off, 8).getBigInt64(0, true);

/** The UTC offset (seconds) in effect at Unix second `unix` in the *time.Location at `loc` (nil = UTC). */
export function zoneOffset(
  ctx: ValueContext,
  cal: GoCalendar,
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
  // Before the first transition Go's lookupFirstZone applies; it picks zone 0 for every
  // location of Go's own tzdata (checked over lib/time/zoneinfo.zip), so zone 0 it is here.
  let idx = 0;
  if (ntx > 0 && unix >= i64(all, whenOff)) {
    // The last transition at or before `unix`.
    let lo = 0;
    let hi = ntx;
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if (unix < i64(all, mid * txT.byteSize + whenOff)) hi = mid;
      else lo = mid;
    }
    idx = txIndex(lo);
    if (lo === ntx - 1) {
      const rule = extendRule(ctx, locType, b);
      const off = rule === undefined ? undefined : tzRuleOffset(cal, rule, unix);
      if (off !== undefined) return off;
    }
  }
  return idx < nz ? offsetOf(zoneAt(idx)) : 0;
}

/** The location's `extend` string (a TZ rule; empty for most), read up to a sane length. */
function extendRule(ctx: ValueContext, locType: DwarfType, b: Uint8Array): string | undefined {
  const f = fieldOf(ctx, locType, 'extend');
  if (!f) return undefined;
  const p = ptrAt(b, f.offset);
  const n = u64At(b, f.offset + 8);
  if (p === 0 || n === 0 || n > 256) return undefined;
  return new TextDecoder().decode(ctx.memory.read(p, n));
}
