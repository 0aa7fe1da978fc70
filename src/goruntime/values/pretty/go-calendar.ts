/**
 * Go's own calendar arithmetic, so a time.Time prints as the program's Format would print it
 * over the whole int64 range (JavaScript's Date covers only ±275,760 years). Package time
 * counts unsigned 64-bit seconds from an "absolute" epoch and wraps like Go's integers do:
 * go1.24 and later start on March 1 of -absoluteYears (constant `time.absoluteYears`), earlier
 * releases on January 1 of `time.absoluteZeroYear`; times before the epoch wrap around 2^64
 * seconds, into the year 292277026596 and beyond, exactly as Go prints them. The epoch is
 * read from the binary's DWARF; the date is then Neri and Schneider's division (as Go's).
 */
import type { ValueContext } from '../context.js';
import { goConstant } from '../walk.js';

/** Where a Go release's absolute time starts, relative to Unix time. */
export interface GoCalendar {
  /** Seconds added to a Unix time (mod 2^64) to get Go's absolute seconds. */
  readonly unixToAbsolute: bigint;
  /** The year (a multiple of 400) on whose March 1 the day count below starts. */
  readonly marchYear: number;
  /** Days from that March 1 to the absolute epoch (306 when the epoch is January 1 of the next year). */
  readonly epochDays: number;
}

const DAYS_PER_400_YEARS = 146097;
/** Days from March 1 through the end of December. */
const MARCH_THRU_DECEMBER = 306;
const SECONDS_PER_DAY = 86400n;
const U64 = 2n ** 64n;

/** The calendar of the binary's package time (the go1.24+ epoch when DWARF names neither constant). */
export function goCalendar(ctx: ValueContext): GoCalendar {
  const unixToInternal = BigInt(goConstant(ctx, 'time.unixToInternal', 62135596800));
  const zeroYear = goConstant(ctx, 'time.absoluteZeroYear', Number.NaN);
  const years = goConstant(ctx, 'time.absoluteYears', 292277022400);
  // Before go1.24: day 0 is January 1 of absoluteZeroYear, i.e. 306 days after March 1 of the year before.
  const old = Number.isSafeInteger(zeroYear) && (zeroYear - 1) % 400 === 0;
  const marchYear = old ? zeroYear - 1 : -years;
  const epochDays = old ? MARCH_THRU_DECEMBER : 0;
  // Days from the absolute epoch to January 1 of year 1 (Go's internal epoch).
  const toInternal =
    BigInt(-marchYear / 400) * BigInt(DAYS_PER_400_YEARS) + BigInt(MARCH_THRU_DECEMBER - epochDays);
  return { unixToAbsolute: unixToInternal + toInternal * SECONDS_PER_DAY, marchYear, epochDays };
}

/** A civil date and time of day, as Go's Date and Clock give them. */
export interface CivilTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

/** The civil time of Unix second `unix` shifted by `offset` seconds, with Go's 64-bit wrap-around. */
export function civilTime(cal: GoCalendar, unix: bigint, offset: number): CivilTime {
  const abs = (((unix + BigInt(offset) + cal.unixToAbsolute) % U64) + U64) % U64;
  // Fewer than 2^64 / 86400 days: every step below stays exact in a double.
  const d = Number(abs / SECONDS_PER_DAY) + cal.epochDays;
  const n = 4 * d + 3;
  const century = Math.floor(n / DAYS_PER_400_YEARS);
  const cd = 4 * Math.floor((n % DAYS_PER_400_YEARS) / 4) + 3;
  const cyear = Math.floor(cd / 1461);
  const ayday = Math.floor((cd % 1461) / 4); // 0 = March 1
  const m = 5 * ayday + 461;
  const amonth = Math.floor(m / 153); // 3 = March ... 14 = February
  const janFeb = ayday >= MARCH_THRU_DECEMBER ? 1 : 0;
  const s = Number(abs % SECONDS_PER_DAY);
  return {
    year: cal.marchYear + century * 100 + cyear + janFeb,
    month: amonth - 12 * janFeb,
    day: Math.floor((m % 153) / 5) + 1,
    hour: Math.floor(s / 3600),
    minute: Math.floor((s % 3600) / 60),
    second: s % 60,
  };
}

/** The year and 0-based day of the year of Unix second `unix` (no offset), as Go's tzset computes them. */
export function yearDay(cal: GoCalendar, unix: bigint): { year: number; yday: number } {
  const c = civilTime(cal, unix, 0);
  const leap = isLeap(c.year) && c.month > 2 ? 1 : 0;
  return { year: c.year, yday: DAYS_BEFORE[c.month - 1]! + leap + c.day - 1 };
}

/** Days before each month of a common year (and the year's length last). */
export const DAYS_BEFORE = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];

/** Go's isLeap (Gregorian, any sign). */
export function isLeap(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

/** Go's appendInt: a minus sign, then the magnitude zero-padded to `width` digits. */
function goInt(x: number, width: number): string {
  const digits = String(Math.abs(x)).padStart(width, '0');
  return x < 0 ? `-${digits}` : digits;
}

/** Formats an instant at a UTC offset exactly as Go's t.Format(time.RFC3339Nano) does. */
export function formatRfc3339Nano(cal: GoCalendar, unix: bigint, nanos: number, offset: number): string {
  const c = civilTime(cal, unix, offset);
  let text =
    `${goInt(c.year, 4)}-${goInt(c.month, 2)}-${goInt(c.day, 2)}` +
    `T${goInt(c.hour, 2)}:${goInt(c.minute, 2)}:${goInt(c.second, 2)}`;
  if (nanos !== 0) text += `.${String(nanos).padStart(9, '0').replace(/0+$/, '')}`;
  if (offset === 0) return `${text}Z`;
  // Go truncates the offset to whole minutes (toward zero) and signs what is left.
  const zone = Math.trunc(offset / 60);
  const z = Math.abs(zone);
  return `${text}${zone < 0 ? '-' : '+'}${goInt(Math.trunc(z / 60), 2)}:${goInt(z % 60, 2)}`;
}
