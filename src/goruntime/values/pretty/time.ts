/**
 * time.Time as RFC 3339 text with nanoseconds, exactly as Go's t.Format(time.RFC3339Nano)
 * prints it (go-calendar.ts: Go's own date arithmetic over the whole int64 range), in the
 * value's own location (time-zone.ts), followed by " m=±S.NNNNNNNNN" when it carries a
 * monotonic reading, as Go's Time.String() does. The wall/ext encoding and its constants
 * (nsecShift, wallToInternal, unixToInternal) come from package time's DWARF.
 */
import type { DwarfType } from '../../../dwarf/types.js';
import { ptrAt } from '../bytes.js';
import type { ValueContext } from '../context.js';
import { elemOf, fieldOf, type GoValue, goConstant, type Walk } from '../walk.js';
import { formatRfc3339Nano, goCalendar } from './go-calendar.js';
import { zoneOffset } from './time-zone.js';

/** The instant of a time.Time: Unix seconds (Go's int64 unixSec), nanoseconds, and the monotonic reading (ns) if any. */
export interface GoInstant {
  readonly unixSeconds: bigint;
  readonly nanos: number;
  readonly monotonic: bigint | undefined;
}

/** Decodes the wall and ext words of a time.Time. */
export function timeInstant(ctx: ValueContext, wallLo: number, wallHi: number, ext: bigint): GoInstant {
  const nsecShift = goConstant(ctx, 'time.nsecShift', 30);
  const nanos = wallLo & (2 ** nsecShift - 1);
  const unixToInternal = BigInt(goConstant(ctx, 'time.unixToInternal', 62135596800));
  if (wallHi >>> 31 === 1) {
    // hasMonotonic: 33 bits of seconds since 1885 sit above the nanoseconds.
    const secs = (wallHi & 0x7fffffff) * 2 ** (32 - nsecShift) + Math.floor(wallLo / 2 ** nsecShift);
    const internal = BigInt(secs + goConstant(ctx, 'time.wallToInternal', 59453308800));
    return { unixSeconds: internal - unixToInternal, nanos, monotonic: ext };
  }
  // Go's int64 arithmetic: ext near the bottom of its range wraps.
  return { unixSeconds: BigInt.asIntN(64, ext - unixToInternal), nanos, monotonic: undefined };
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

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
  const cal = goCalendar(ctx);
  const offset = zoneOffset(ctx, cal, elemOf(ctx, loc.type), ptrAt(bytes, loc.offset), inst.unixSeconds);
  const text = formatRfc3339Nano(cal, inst.unixSeconds, inst.nanos, offset);
  return inst.monotonic === undefined ? text : text + monotonicSuffix(inst.monotonic);
}
