/**
 * Turns what the binary reader knows into the plain data `periscope inspect` prints (and
 * emits as JSON): the binary summary, one function's variables with their locations per PC
 * range, one type's layout.
 */
import { hex } from '../../common/address.js';
import type { DwarfData } from '../../dwarf/dwarf-data.js';
import type { InlinedCall, Variable } from '../../dwarf/functions.js';
import { describeLocation, type LocationPiece } from '../../dwarf/location-expr.js';
import type { PcRange } from '../../dwarf/ranges.js';
import type { DwarfType } from '../../dwarf/types.js';
import type { GoBinary } from '../../gobinary/go-binary.js';

/** `periscope inspect BINARY`: the summary of a binary. */
export interface BinarySummary {
  path: string;
  goVersion: string | null;
  mainPackage: string | null;
  mainModule: string | null;
  mainVersion: string | null;
  vcsRevision: string | null;
  buildId: string | null;
  goBuildId: string | null;
  arch: string;
  pie: boolean;
  stripped: boolean;
  dwarfVersion: number | null;
  compileUnits: number;
  functions: number;
  dwarfFunctions: number | null;
  types: number;
  dependencies: number;
}

/** Builds the summary of a binary. */
export function binarySummary(bin: GoBinary): BinarySummary {
  const bi = bin.buildInfo;
  const setting = (k: string) => bi?.settings.find((s) => s.key === k)?.value ?? null;
  return {
    path: bin.path,
    goVersion: bin.goVersion ?? null,
    mainPackage: bi?.path || null,
    mainModule: bi?.main?.path ?? null,
    mainVersion: bi?.main?.version ?? null,
    vcsRevision: setting('vcs.revision'),
    buildId: bin.elf.gnuBuildId() ?? null,
    goBuildId: bin.elf.goBuildId() ?? null,
    arch: bin.elf.arch,
    pie: bin.elf.isPIE,
    stripped: bin.stripped,
    dwarfVersion: bin.dwarf?.version ?? null,
    compileUnits: bin.dwarf?.unitCount ?? 0,
    functions: bin.functionCount,
    dwarfFunctions: bin.dwarf?.functionCount ?? null,
    types: bin.typeCount,
    dependencies: bi?.deps.length ?? 0,
  };
}

/** Where a variable lives over one PC range. */
export interface LocationRange {
  low: string;
  high: string;
  /** Human form: "rax", "stack CFA-24", "rax[0:8] + rbx[8:16]", or "not available here". */
  where: string;
  pieces: LocationPiece[];
}

/** One parameter or local of `periscope inspect --func`. */
export interface VariableView {
  name: string;
  kind: 'param' | 'result' | 'local';
  type: string;
  declLine: number | null;
  locations: LocationRange[];
}

/** One inlined call inside a function. */
export interface InlinedView {
  function: string;
  callFile: string | null;
  callLine: number | null;
  ranges: string[];
  variables: VariableView[];
  inlined: InlinedView[];
}

/** `periscope inspect BINARY --func NAME`. */
export interface FunctionView {
  name: string;
  lowPc: string;
  highPc: string;
  declFile: string | null;
  declLine: number | null;
  variables: VariableView[];
  inlined: InlinedView[];
}

const NOT_AVAILABLE = 'not available here';

/** Renders pieces of a location as a short human string. */
export function formatPieces(pieces: readonly LocationPiece[]): string {
  if (pieces.length === 0) return NOT_AVAILABLE;
  const parts = pieces.map((p) => formatPiece(p));
  return parts.length === 1 ? parts[0]! : parts.join(' + ');
}

function formatPiece(p: LocationPiece): string {
  const size = p.size === undefined ? '' : `(${p.size} bytes)`;
  const where = (() => {
    switch (p.kind) {
      case 'register':
        return `register ${p.name}`;
      case 'cfa':
        return `stack CFA${signed(p.offset)}`;
      case 'frame-base':
        return `stack frame-base${signed(p.offset)}`;
      case 'register-relative':
        return `memory at ${p.name}${signed(p.offset)}`;
      case 'address':
        return `static ${hex(p.address)}`;
      case 'implicit-value':
        return `constant bytes ${Buffer.from(p.bytes).toString('hex')}`;
      case 'stack-value':
        return `computed value: ${p.text}`;
      case 'empty':
        return 'optimized out';
      case 'computed':
        return `computed: ${p.text}`;
    }
  })();
  return size ? `${where} ${size}` : where;
}

function signed(n: number): string {
  return n >= 0 ? `+${n}` : `${n}`;
}

function rangeLocations(v: Variable, scope: readonly PcRange[]): LocationRange[] {
  const loc = v.location;
  const out: LocationRange[] = [];
  const entries =
    loc === undefined
      ? []
      : loc.kind === 'expr'
        ? scope.map((r) => ({ low: r.low as number, high: r.high as number, expr: loc.expr }))
        : loc.entries.map((e) => ({ low: e.low as number, high: e.high as number, expr: e.expr }));
  // Gaps of the scope not covered by any entry: the variable exists but is not available there.
  const covered = [...entries].sort((a, b) => a.low - b.low);
  for (const r of scope) {
    let cursor = r.low as number;
    for (const e of covered) {
      if (e.high <= cursor || e.low >= r.high) continue;
      if (e.low > cursor) out.push(gap(cursor, e.low));
      cursor = Math.max(cursor, e.high);
    }
    if (cursor < r.high) out.push(gap(cursor, r.high));
  }
  for (const e of entries) {
    const pieces = e.expr.length === 0 ? [] : describeLocation(e.expr);
    out.push({ low: hex(e.low), high: hex(e.high), where: formatPieces(pieces), pieces });
  }
  return out.sort((a, b) => Number.parseInt(a.low, 16) - Number.parseInt(b.low, 16));
}

function gap(low: number, high: number): LocationRange {
  return { low: hex(low), high: hex(high), where: NOT_AVAILABLE, pieces: [] };
}

function typeName(dwarf: DwarfData, v: Variable): string {
  return v.type === undefined ? '?' : (dwarf.typeAt(v.type).name ?? '?');
}

function variableView(dwarf: DwarfData, v: Variable): VariableView {
  return {
    name: v.name,
    kind: v.isReturn ? 'result' : v.isParameter ? 'param' : 'local',
    type: typeName(dwarf, v),
    declLine: v.declLine ?? null,
    locations: rangeLocations(v, v.scope),
  };
}

function fileOf(bin: GoBinary, stmtList: number | undefined, index: number | undefined): string | null {
  if (stmtList === undefined || index === undefined) return null;
  try {
    return bin.lines.table(stmtList as Parameters<typeof bin.lines.table>[0]).filePath(index);
  } catch {
    return null;
  }
}

function inlinedView(
  bin: GoBinary,
  dwarf: DwarfData,
  stmtList: number | undefined,
  c: InlinedCall,
): InlinedView {
  return {
    function: c.name,
    callFile: fileOf(bin, stmtList, c.callFile),
    callLine: c.callLine ?? null,
    ranges: c.ranges.map((r) => `${hex(r.low)}-${hex(r.high)}`),
    variables: c.variables.map((v) => variableView(dwarf, v)),
    inlined: c.inlined.map((x) => inlinedView(bin, dwarf, stmtList, x)),
  };
}

/** Builds the view of one function. */
export function functionView(bin: GoBinary, dwarf: DwarfData, name: string): FunctionView | undefined {
  const f = dwarf.findFunction(name);
  if (!f) return undefined;
  return {
    name: f.name,
    lowPc: hex(f.lowPc),
    highPc: hex(f.highPc),
    declFile: fileOf(bin, f.stmtList, f.declFile),
    declLine: f.declLine ?? null,
    variables: f.variables.map((v) => variableView(dwarf, v)),
    inlined: f.inlined.map((c) => inlinedView(bin, dwarf, f.stmtList, c)),
  };
}

/** `periscope inspect BINARY --type NAME`. */
export interface TypeView {
  name: string;
  kind: string | null;
  size: number | null;
  elem: string | null;
  key: string | null;
  count: number | null;
  runtimeType: string | null;
  fields: { name: string; offset: number; size: number | null; type: string; embedded: boolean }[];
}

/** Builds the view of one type. */
export function typeView(dwarf: DwarfData, name: string): TypeView | undefined {
  const t = dwarf.findType(name);
  if (!t) return undefined;
  const u: DwarfType = dwarf.underlying(t);
  const nameAt = (off: number | undefined) =>
    off === undefined ? null : (dwarf.typeAt(off as DwarfType['offset']).name ?? null);
  const rt = dwarf.runtimeAddressOf(t);
  return {
    name: t.name ?? name,
    kind: t.kind ?? u.kind ?? u.tagName,
    size: t.byteSize ?? null,
    elem: nameAt(u.elem),
    key: nameAt(u.key),
    count: u.count ?? null,
    runtimeType: rt === undefined ? null : hex(rt),
    fields: (u.fields ?? []).map((f) => {
      const ft = f.type === undefined ? undefined : dwarf.typeAt(f.type);
      return {
        name: f.name,
        offset: f.offset,
        size: ft?.byteSize ?? null,
        type: ft?.name ?? '?',
        embedded: f.embedded,
      };
    }),
  };
}

/** Up to `n` names close to `needle` (containing it, or within two edits), for "did you mean" hints. */
export function similarNames(names: Iterable<string>, needle: string, n = 5): string[] {
  const lower = needle.toLowerCase();
  const out: string[] = [];
  for (const name of names) {
    const l = name.toLowerCase();
    if (l.includes(lower) || (Math.abs(l.length - lower.length) <= 2 && editDistance(l, lower) <= 2))
      out.push(name);
    if (out.length >= n) break;
  }
  return out;
}

/** Levenshtein distance (small strings only). */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
