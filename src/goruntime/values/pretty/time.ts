/**
 * time.Time as RFC 3339 text with nanoseconds (Go's RFC3339Nano: trailing zeros of the
 * fraction dropped), in the value's own location, followed by " m=±S.NNNNNNNNN" when it
 * carries a monotonic reading, as Go's Time.String() does. The wall/ext encoding and its
 * constants (nsecShift, wallToInternal, unixToInternal) come from package time's DWARF.
 */
import { type Address, addr } from '../../../common/address.js';
import type { DwarfType } from '../../../dwarf/types.js';
import { i64At, ptrAt, u64At } from '../bytes.js';
import type { ValueContext } from '../context.js';
import { HARD_LIMITS } from '../render-limits.js';
import { elemOf, fieldOf, type GoValue, goConstant, type Walk } from '../walk.js';

/** The instant of a time.Time: Unix seconds, nanoseconds, and the monotonic reading (ns) if any. */
export interface GoInstant {
  readonly unixSeconds: number;
  readonly nanos: number;
  readonly monotonic: bigint | undefined;
}

/** Decodes the wall and ext words of a time.Time. */
export function timeInstant(ctx: ValueContext, wallLo: number, wallHi: number, ext: bigint): GoInstant {
  const nsecShift = goConstant(ctx, 'time.nsecShift', 30);
  const nanos = wallLo & (2 ** nsecShift - 1);
  const unixToInternal = goConstant(ctx, 'time.unixToInternal', 62135596800);
  if (wallHi >>> 31 === 1) {
    // hasMonotonic: 33 bits of seconds since 1885 sit above the nanoseconds.
    const secs = (wallHi & 0x7fffffff) * 2 ** (32 - nsecShift) + Math.floor(wallLo / 2 ** nsecShift);
    const internal = secs + goConstant(ctx, 'time.wallToInternal', 59453308800);
    return { unixSeconds: internal - unixToInternal, nanos, monotonic: ext };
  }
  return { unixSeconds: Number(ext) - unixToInternal, nanos, monotonic: undefined };
}

/** The UTC offset (seconds) in effect at `unix` in the *time.Location at `loc` (nil = UTC). */
export function zoneOffset(
  ctx: ValueContext,
  locType: DwarfType | undefined,
  loc: Address,
  unix: number,
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
  const offsetOf = (z: Address) => Number(i64At(ctx.memory.read(addr(z + zoneOff), 8), 0));
  const cacheZone = f('cacheZone');
  const cs = f('cacheStart');
  const ce = f('cacheEnd');
  if (cacheZone && cs && ce) {
    const cz = ptrAt(b, cacheZone.offset);
    if (cz !== 0 && i64At(b, cs.offset) <= unix && unix < i64At(b, ce.offset)) return offsetOf(cz);
  }
  const zones = ptrAt(b, zone.offset);
  const nz = u64At(b, zone.offset + 8);
  if (zones === 0 || nz === 0) return 0;
  const txs = ptrAt(b, tx.offset);
  const ntx = Math.min(u64At(b, tx.offset + 8), HARD_LIMITS.elements);
  const whenOff = fieldOf(ctx, txT, 'when')?.offset ?? 0;
  const indexOff = fieldOf(ctx, txT, 'index')?.offset ?? 8;
  let idx = 0;
  if (ntx > 0 && txs !== 0) {
    const all = ctx.memory.read(txs, ntx * txT.byteSize);
    let lo = 0;
    let hi = ntx - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (i64At(all, mid * txT.byteSize + whenOff) <= unix) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found >= 0) idx = all[found * txT.byteSize + indexOff]!;
  }
  return idx < nz ? offsetOf(addr(zones + idx * zoneT.byteSize)) : 0;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Formats an instant at a UTC offset as Go's RFC3339Nano. */
export function formatRfc3339Nano(unixSeconds: number, nanos: number, offset: number): string {
  const d = new Date((unixSeconds + offset) * 1000);
  const y = d.getUTCFullYear();
  const year = y >= 0 && y <= 9999 ? pad(y, 4) : String(y);
  let text = `${year}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  if (nanos !== 0) text += `.${pad(nanos, 9).replace(/0+$/, '')}`;
  if (offset === 0) return `${text}Z`;
  const a = Math.abs(offset);
  return `${text}${offset < 0 ? '-' : '+'}${pad(Math.floor(a / 3600))}:${pad(Math.floor((a % 3600) / 60))}`;
}

/** Go's " m=±S.NNNNNNNNN" suffix for a monotonic reading. */
function monotonicSuffix(m: bigint): string {
  const sign = m < 0n ? '-' : '+';
  const a = m < 0n ? -m : m;
  return ` m=${sign}${a / 1_000_000_000n}.${pad(Number(a % 1_000_000_000n), 9)}`;
}

/** Pretty form of time.Time. */
export function prettyTime(w: Walk, t: DwarfType, bytes: Uint8Array): GoValue | undefined {
  const ctx = w.ctx;
  const wall = fieldOf(ctx, t, 'wall');
  const ext = fieldOf(ctx, t, 'ext');
  const loc = fieldOf(ctx, t, 'loc');
  if (!wall || !ext || !loc) return undefined;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const inst = timeInstant(
    ctx,
    dv.getUint32(wall.offset, true),
    dv.getUint32(wall.offset + 4, true),
    dv.getBigInt64(ext.offset, true),
  );
  const offset = zoneOffset(ctx, elemOf(ctx, loc.type), ptrAt(bytes, loc.offset), inst.unixSeconds);
  const text = formatRfc3339Nano(inst.unixSeconds, inst.nanos, offset);
  return inst.monotonic === undefined ? text : text + monotonicSuffix(inst.monotonic);
}
