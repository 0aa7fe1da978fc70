/**
 * Compares a value Periscope decoded (plain form, no pretty forms) with the api.Variable
 * Delve loaded for it, field by field, collecting differences as "path: what" lines.
 * Normalisations, each for a stated reason:
 * - strings: for invalid UTF-8 Delve's StringValueBytes carry the raw bytes; they are turned into
 *   our text form (invalid bytes as \xNN) before comparing, since Delve's `value` has U+FFFD there;
 * - integers of named types with a matching constant: Delve prints "name (value)"; we take the value;
 * - floats: Delve prints Go's shortest 'g' form; we compare numerically (and NaN/±Inf by name);
 * - funcs held in interfaces: Delve shows no name (its value is empty); ours is skipped, not compared;
 * - where either side stopped (our markers, Delve's unloaded children at its recursion limit,
 *   maps larger than the element limit whose shown subsets differ by iteration order) the
 *   comparison stops there and is counted as skipped; large maps are checked by lookup instead.
 */
import { hex } from '../../../src/common/address.js';
import type { GoValue } from '../../../src/goruntime/values/decode.js';
import { isMarker } from '../../../src/goruntime/values/render-limits.js';
import { goStringText } from '../../../src/goruntime/values/scalars.js';
import type { DlvVariable } from '../../../support/delve.js';

/** Outcome of one comparison. */
export interface Comparison {
  problems: string[];
  compared: number;
  skipped: string[];
}

type Obj = { [k: string]: GoValue };
const isObj = (v: GoValue): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Compares `ours` with Delve's `dv` recursively, appending to `out`. */
export function compareWithDelve(ours: GoValue, dv: DlvVariable, path: string, out: Comparison): void {
  const fail = (what: string): void =>
    void out.problems.push(`${path}: ${what} (ours ${JSON.stringify(ours)?.slice(0, 200)})`);
  const skip = (what: string): void => void out.skipped.push(`${path}: ${what}`);
  if (dv.unreadable) {
    out.skipped.push(`${path}: delve unreadable ${dv.unreadable}`);
    return;
  }
  if (isMarker(ours) && !('string' in ours)) {
    out.skipped.push(`${path}: our marker ${ours['…']}`);
    return;
  }
  out.compared++;
  const k = dv.kind;
  if (k === 1) {
    if (ours !== (dv.value === 'true')) fail(`bool ${dv.value}`);
  } else if (k >= 2 && k <= 12) {
    // Delve names values of typed constants: "maxDuration (9223372036854775807)".
    const want = /\((-?\d+)\)$/.exec(dv.value)?.[1] ?? dv.value;
    if (String(ours) !== want) fail(`int ${dv.value}`);
  } else if (k === 13 || k === 14) {
    compareFloat(ours, dv.value, fail);
  } else if (k === 15 || k === 16) {
    if (!isObj(ours)) {
      fail('complex expected');
      return;
    }
    compareFloat(ours.real ?? null, dv.children?.[0]?.value ?? '', fail);
    compareFloat(ours.imag ?? null, dv.children?.[1]?.value ?? '', fail);
  } else if (k === 24) {
    compareString(ours, dv, fail, skip);
  } else if (k === 17 || k === 23) {
    compareList(ours, dv, path, out, fail);
  } else if (k === 25) {
    if (!isObj(ours)) {
      fail('struct expected');
      return;
    }
    for (const c of dv.children ?? []) {
      if (c.name === '_' || c.name === '') continue;
      if (!(c.name in ours)) fail(`missing field ${c.name}`);
      else compareWithDelve(ours[c.name]!, c, `${path}.${c.name}`, out);
    }
  } else if (k === 22) {
    const child = dv.children?.[0];
    if (!child || child.addr === 0) {
      if (ours !== null) fail('nil pointer expected');
      return;
    }
    if (!isObj(ours) || ours.address !== hex(child.addr)) {
      fail(`pointer to ${hex(child.addr)}`);
      return;
    }
    if (child.onlyAddr || (child.kind === 25 && (child.children ?? []).length === 0 && child.len > 0)) {
      out.skipped.push(`${path}: delve did not load the pointee`);
      return;
    }
    if (ours.value !== undefined) compareWithDelve(ours.value, child, `${path}.*`, out);
  } else if (k === 26) {
    const p = Number(dv.value);
    if (ours !== (p === 0 ? null : hex(p))) fail(`unsafe.Pointer ${dv.value}`);
  } else if (k === 19) {
    if (dv.value === '' || dv.value === 'nil') {
      // Delve leaves a func held in an interface (data word = funcval pointer) unresolved.
      if (ours !== null && path.endsWith('.(func())')) skip(`delve shows no func name, ours ${String(ours)}`);
      else if (ours !== null && dv.base === 0) fail('nil func expected');
    } else if (ours !== dv.value) fail(`func ${dv.value}`);
  } else if (k === 20) {
    const child = dv.children?.[0];
    if (!child || (child.kind === 0 && child.addr === 0)) {
      if (ours !== null) fail('nil interface expected');
      return;
    }
    if (!isObj(ours)) {
      fail(`interface holding ${child.type}`);
      return;
    }
    if (ours.type !== child.type) fail(`dynamic type ${child.type} vs ${String(ours.type)}`);
    compareWithDelve(ours.value ?? null, child, `${path}.(${child.type})`, out);
  } else if (k === 18) {
    compareChan(ours, dv, fail);
  } else if (k === 21) {
    compareMap(ours, dv, path, out, fail);
  } else out.skipped.push(`${path}: kind ${k} not compared`);
}

function compareFloat(ours: GoValue, want: string, fail: (w: string) => void): void {
  if (want === 'NaN' || want === '+Inf' || want === '-Inf') {
    if (ours !== want) fail(`float ${want}`);
  } else if (ours !== Number(want)) fail(`float ${want}`);
}

function compareString(
  ours: GoValue,
  dv: DlvVariable,
  fail: (w: string) => void,
  skip: (w: string) => void,
): void {
  const b64 = (dv as DlvVariable & { StringValueBytes?: string | null }).StringValueBytes;
  // Delve sends the raw bytes only for strings that are not valid UTF-8.
  const raw = b64 ? Buffer.from(b64, 'base64') : Buffer.from(dv.value, 'utf8');
  if (raw.length < dv.len && raw.length === 0) {
    skip('delve did not load the string (its recursion limit)');
    return;
  }
  const complete = raw.length >= dv.len;
  const text = goStringText(raw, complete);
  if (complete) {
    if (ours !== text) fail(`string ${JSON.stringify(text).slice(0, 80)}`);
  } else if (!isMarker(ours) || !('string' in ours) || ours.string !== text || ours.len !== dv.len)
    fail(`cut string of len ${dv.len}`);
}

function listItems(ours: GoValue): { items: GoValue[]; len: number | undefined } | undefined {
  if (!Array.isArray(ours)) return undefined;
  const last = ours[ours.length - 1];
  if (last !== undefined && isMarker(last) && 'shown' in last)
    return { items: ours.slice(0, -1), len: last.len };
  return { items: ours, len: undefined };
}

function compareList(
  ours: GoValue,
  dv: DlvVariable,
  path: string,
  out: Comparison,
  fail: (w: string) => void,
): void {
  if (dv.kind === 23 && dv.base === 0 && dv.len === 0) {
    if (ours !== null) fail('nil slice expected');
    return;
  }
  const l = listItems(ours);
  if (!l) {
    fail('array expected');
    return;
  }
  const len = l.len ?? l.items.length;
  if (len !== dv.len) fail(`len ${dv.len} vs ${len}`);
  const kids = dv.children ?? [];
  if (kids.length !== l.items.length) fail(`shown ${kids.length} vs ${l.items.length}`);
  for (let i = 0; i < Math.min(kids.length, l.items.length); i++)
    compareWithDelve(l.items[i]!, kids[i]!, `${path}[${i}]`, out);
}

function compareChan(ours: GoValue, dv: DlvVariable, fail: (w: string) => void): void {
  const kids = dv.children ?? [];
  const field = (n: string) => kids.find((c) => c.name === n)?.value;
  if (kids.length === 0 || dv.value === 'nil') {
    if (ours !== null) fail('nil chan expected');
    return;
  }
  if (!isObj(ours)) {
    fail('chan expected');
    return;
  }
  if (String(ours.len) !== field('qcount')) fail(`qcount ${field('qcount')}`);
  if (String(ours.cap) !== field('dataqsiz')) fail(`dataqsiz ${field('dataqsiz')}`);
  if (ours.closed !== (field('closed') !== '0')) fail(`closed ${field('closed')}`);
}

function compareMap(
  ours: GoValue,
  dv: DlvVariable,
  path: string,
  out: Comparison,
  fail: (w: string) => void,
): void {
  if (dv.base === 0 && dv.len === 0 && (dv.children ?? []).length === 0 && ours === null) return;
  let pairs: { key: GoValue; value: GoValue }[];
  let len: number;
  if (Array.isArray(ours)) {
    const l = listItems(ours)!;
    pairs = l.items.map((x) =>
      isObj(x) ? { key: x.key ?? null, value: x.value ?? null } : { key: null, value: null },
    );
    len = l.len ?? pairs.length;
  } else if (isObj(ours)) {
    const cut = ours['…'];
    pairs = Object.entries(ours)
      .filter(([k]) => k !== '…')
      .map(([key, value]) => ({ key, value }));
    len = isMarker(cut) && 'shown' in cut ? cut.len : pairs.length;
  } else {
    fail('map expected');
    return;
  }
  if (len !== dv.len) fail(`map len ${dv.len} vs ${len}`);
  const kids = dv.children ?? [];
  if (len > pairs.length || kids.length / 2 < dv.len) {
    out.skipped.push(`${path}: map larger than the element limit (checked by lookup)`);
    return;
  }
  for (let i = 0; i + 1 < kids.length; i += 2) {
    const match = pairs.find((p) => {
      const probe: Comparison = { problems: [], compared: 0, skipped: [] };
      compareWithDelve(p.key, kids[i]!, '', probe);
      return probe.problems.length === 0;
    });
    if (!match) fail(`no entry with key ${kids[i]!.value || kids[i]!.type}`);
    else compareWithDelve(match.value, kids[i + 1]!, `${path}[${kids[i]!.value || i / 2}]`, out);
  }
}
