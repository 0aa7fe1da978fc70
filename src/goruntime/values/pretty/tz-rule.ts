/**
 * A location's TZ `extend` rule ("EST5EDT,M3.2.0,M11.1.0"), which Go's Location.lookup
 * applies past the last transition of its table: Go's tzset, tzsetName, tzsetOffset,
 * tzsetRule, tzsetNum and tzruleTime, reduced to the offset they give. Go's embedded tzdata
 * is "slim" (America/New_York's table ends in 2007, Europe/Paris's in 1996), so this rule
 * decides the offset of most times of today in locations loaded from it, and of every time
 * past 2037 in any location.
 */
import { DAYS_BEFORE, type GoCalendar, isLeap, yearDay } from './go-calendar.js';

const HOUR = 3600;
const DAY = 86400;

type Rule =
  | { kind: 'julian'; day: number; time: number }
  | { kind: 'doy'; day: number; time: number }
  | { kind: 'mwd'; mon: number; week: number; day: number; time: number };

/** A cursor over the rule text (Go's functions pass the rest of the string along). */
class Text {
  constructor(
    public s: string,
    public i = 0,
  ) {}
  get rest(): string {
    return this.s.slice(this.i);
  }
  peek(): string | undefined {
    return this.s[this.i];
  }
  done(): boolean {
    return this.i >= this.s.length;
  }
}

/** The UTC offset the rule gives Unix second `unix`, or undefined when Go would not accept the rule. */
export function tzRuleOffset(cal: GoCalendar, rule: string, unix: bigint): number | undefined {
  const t = new Text(rule);
  let stdName = name(t);
  let stdOffset = stdName === undefined ? undefined : offset(t);
  if (stdOffset === undefined) return undefined;
  stdOffset = -stdOffset;
  if (t.done() || t.peek() === ',') return stdOffset;
  let dstName = name(t);
  if (dstName === undefined) return undefined;
  let dstOffset: number | undefined;
  if (t.done() || t.peek() === ',') dstOffset = stdOffset + HOUR;
  else {
    const o = offset(t);
    if (o === undefined) return undefined;
    dstOffset = -o;
  }
  if (t.done()) t.s = `${t.s},M3.2.0,M11.1.0`; // tzcode's default rules
  if (t.peek() !== ',' && t.peek() !== ';') return undefined;
  t.i++;
  const startRule = ruleOf(t);
  if (!startRule || t.peek() !== ',') return undefined;
  t.i++;
  const endRule = ruleOf(t);
  if (!endRule || !t.done()) return undefined;

  const { year, yday } = yearDay(cal, unix);
  const ysec = yday * DAY + Number(unix % BigInt(DAY)); // Go's % keeps the sign, as BigInt's does
  let startSec = ruleTime(year, startRule, stdOffset);
  let endSec = ruleTime(year, endRule, dstOffset);
  if (endSec < startSec) {
    // Southern hemisphere: the names swap, and so do the offsets.
    [startSec, endSec] = [endSec, startSec];
    [stdName, dstName] = [dstName, stdName];
    [stdOffset, dstOffset] = [dstOffset, stdOffset];
  }
  return ysec < startSec || ysec >= endSec ? stdOffset : dstOffset;
}

/** Go's tzsetName: a name of 3+ letters, or one in angle brackets. */
function name(t: Text): string | undefined {
  const s = t.rest;
  if (s.length === 0) return undefined;
  if (s[0] === '<') {
    const end = s.indexOf('>');
    if (end < 0) return undefined;
    t.i += end + 1;
    return s.slice(1, end);
  }
  const m = /[0-9,+-]/.exec(s);
  if (!m) {
    if (s.length < 3) return undefined;
    t.i += s.length;
    return s;
  }
  if (m.index < 3) return undefined;
  t.i += m.index;
  return s.slice(0, m.index);
}

/** Go's tzsetOffset: [+-]hh[:mm[:ss]] in seconds (hours up to 24*7, as tzcode allows). */
function offset(t: Text): number | undefined {
  if (t.done()) return undefined;
  let neg = false;
  if (t.peek() === '+') t.i++;
  else if (t.peek() === '-') {
    t.i++;
    neg = true;
  }
  const hours = num(t, 0, 24 * 7);
  if (hours === undefined) return undefined;
  let off = hours * HOUR;
  for (const unit of [60, 1]) {
    if (t.peek() !== ':') break;
    t.i++;
    const n = num(t, 0, 59);
    if (n === undefined) return undefined;
    off += n * unit;
  }
  return neg ? -off : off;
}

/** Go's tzsetRule: Jn, n or Mm.w.d, then an optional /time (default 02:00). */
function ruleOf(t: Text): Rule | undefined {
  if (t.done()) return undefined;
  let r: Rule;
  if (t.peek() === 'J') {
    t.i++;
    const day = num(t, 1, 365);
    if (day === undefined) return undefined;
    r = { kind: 'julian', day, time: 0 };
  } else if (t.peek() === 'M') {
    t.i++;
    const mon = num(t, 1, 12);
    if (mon === undefined || t.peek() !== '.') return undefined;
    t.i++;
    const week = num(t, 1, 5);
    if (week === undefined || t.peek() !== '.') return undefined;
    t.i++;
    const day = num(t, 0, 6);
    if (day === undefined) return undefined;
    r = { kind: 'mwd', mon, week, day, time: 0 };
  } else {
    const day = num(t, 0, 365);
    if (day === undefined) return undefined;
    r = { kind: 'doy', day, time: 0 };
  }
  if (t.peek() !== '/') {
    r.time = 2 * HOUR;
    return r;
  }
  t.i++;
  const time = offset(t);
  if (time === undefined) return undefined;
  r.time = time;
  return r;
}

/** Go's tzsetNum: decimal digits forming a number in [min, max]. */
function num(t: Text, min: number, max: number): number | undefined {
  let n = 0;
  let digits = 0;
  for (let c = t.peek(); c !== undefined && c >= '0' && c <= '9'; c = t.peek()) {
    n = n * 10 + (c.charCodeAt(0) - 48);
    if (n > max) return undefined;
    t.i++;
    digits++;
  }
  return digits === 0 || n < min ? undefined : n;
}

/** Go's tzruleTime: seconds from the start of `year` (UTC) to the rule's moment at offset `off`. */
function ruleTime(year: number, r: Rule, off: number): number {
  let s: number;
  if (r.kind === 'julian') {
    s = (r.day - 1) * DAY;
    if (isLeap(year) && r.day >= 60) s += DAY;
  } else if (r.kind === 'doy') {
    s = r.day * DAY;
  } else {
    // Zeller's congruence, in Go's truncating integer arithmetic.
    const m1 = ((r.mon + 9) % 12) + 1;
    const yy0 = r.mon <= 2 ? year - 1 : year;
    const yy1 = Math.trunc(yy0 / 100);
    const yy2 = yy0 % 100;
    let dow =
      (Math.trunc((26 * m1 - 2) / 10) + 1 + yy2 + Math.trunc(yy2 / 4) + Math.trunc(yy1 / 4) - 2 * yy1) % 7;
    if (dow < 0) dow += 7;
    let d = r.day - dow;
    if (d < 0) d += 7;
    const daysIn = r.mon === 2 && isLeap(year) ? 29 : DAYS_BEFORE[r.mon]! - DAYS_BEFORE[r.mon - 1]!;
    for (let i = 1; i < r.week; i++) {
      if (d + 7 >= daysIn) break;
      d += 7;
    }
    d += DAYS_BEFORE[r.mon - 1]!;
    if (isLeap(year) && r.mon > 2) d++;
    s = d * DAY;
  }
  return s + r.time - off;
}
