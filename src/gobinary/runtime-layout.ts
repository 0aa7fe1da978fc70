/**
 * The Go runtime's own data layout in one binary, derived from its DWARF (never hardcoded):
 * offsets in runtime.g, runtime.m, gobuf and stack, the map implementation (classic hmap or
 * swiss tables), pprof label structures, status and wait-reason constants, and the
 * addresses of the globals a snapshot starts from.
 */
import { PeriscopeError } from '../common/errors.js';
import { AT, TAG } from '../dwarf/constants.js';
import type { DwarfData } from '../dwarf/dwarf-data.js';
import type { InfoOffset } from '../dwarf/sections.js';
import type { DwarfType } from '../dwarf/types.js';

/** One field of a runtime struct: name, byte offset, size and type name. */
export interface FieldLayout {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
  readonly type: string;
}

/** A runtime struct as read from DWARF: its size and every field in order (blank `_` fields too). */
export interface StructLayout {
  readonly name: string;
  readonly size: number;
  readonly fields: readonly FieldLayout[];
}

/** How pprof labels hang off runtime.g.labels in this release. */
export type LabelsLayout =
  | { readonly kind: 'map'; readonly mapType: string }
  | {
      readonly kind: 'list';
      readonly listOffset: number;
      readonly elemSize: number;
      readonly keyOffset: number;
      readonly valueOffset: number;
    }
  | { readonly kind: 'absent'; readonly reason: string };

/** Which map implementation the binary uses, with the structs needed to walk one. */
export type MapLayout =
  | {
      readonly kind: 'swiss';
      readonly map: StructLayout;
      readonly table: StructLayout;
      readonly groupsReference: StructLayout;
    }
  | { readonly kind: 'classic'; readonly hmap: StructLayout; readonly bmap: StructLayout };

/** Everything about the runtime's shape that the goroutine reader needs, derived per binary. */
export interface RuntimeLayout {
  readonly g: StructLayout;
  readonly m: StructLayout;
  readonly gobuf: StructLayout;
  readonly stack: StructLayout;
  /** Offsets inside runtime.g, resolved through nested structs (e.g. sched.sp). */
  readonly gOffsets: GOffsets;
  readonly mOffsets: {
    readonly procid: number;
    readonly curg: number;
    readonly id: number;
    readonly g0: number;
  };
  /** runtime._G* status constants by value, e.g. 2 -> "running" (without the _G prefix, lower-cased). */
  readonly statusNames: ReadonlyMap<number, string>;
  /** Status constants by name (_Grunning -> 2), including _Gscan. */
  readonly statusValues: ReadonlyMap<string, number>;
  /** runtime.waitReason* constants by value, e.g. 2 -> "waitReasonChanReceive" (names; the strings table has the text). */
  readonly waitReasonConstants: ReadonlyMap<number, string>;
  readonly maps: MapLayout;
  readonly labels: LabelsLayout;
}

/** Offsets in runtime.g that a snapshot reads. Optional ones are absent in some releases. */
export interface GOffsets {
  readonly stackLo: number;
  readonly stackHi: number;
  readonly schedSp: number;
  readonly schedPc: number;
  readonly schedBp: number;
  readonly schedLr: number | undefined;
  readonly syscallsp: number;
  readonly syscallpc: number;
  readonly atomicstatus: number;
  readonly goid: number;
  readonly waitsince: number;
  readonly waitreason: number;
  readonly m: number;
  readonly gopc: number;
  readonly startpc: number;
  readonly labels: number;
  readonly lockedm: number;
  readonly parentGoid: number | undefined;
  readonly ancestors: number | undefined;
}

/** Reads a struct type and its fields; throws a clear error naming what this binary lacks. */
export function structLayout(dwarf: DwarfData, name: string): StructLayout {
  const t = dwarf.findType(name);
  if (!t)
    throw new PeriscopeError(
      'unsupported',
      `this binary's DWARF has no type ${name}; its Go release may be newer than Periscope knows`,
    );
  const s = dwarf.underlying(t);
  if (!s.fields || s.byteSize === undefined)
    throw new PeriscopeError('unsupported', `${name} is not a struct in this binary's DWARF`);
  const fields = s.fields.map((f) => {
    const ft = f.type === undefined ? undefined : dwarf.typeAt(f.type);
    return { name: f.name, offset: f.offset, size: ft?.byteSize ?? 0, type: ft?.name ?? '?' };
  });
  return { name, size: s.byteSize, fields };
}

/** Offset of a dotted field path such as "sched.sp" inside a named struct. */
export function fieldPathOffset(dwarf: DwarfData, typeName: string, path: string): number | undefined {
  let t: DwarfType | undefined = dwarf.findType(typeName);
  let offset = 0;
  for (const part of path.split('.')) {
    if (!t) return undefined;
    const s = dwarf.underlying(t);
    const f = s.fields?.find((x) => x.name === part);
    if (!f) return undefined;
    offset += f.offset;
    t = f.type === undefined ? undefined : dwarf.typeAt(f.type);
  }
  return offset;
}

function need(dwarf: DwarfData, typeName: string, path: string): number {
  const off = fieldPathOffset(dwarf, typeName, path);
  if (off === undefined) {
    throw new PeriscopeError(
      'unsupported',
      `${typeName} has no field ${path} in this binary's DWARF; its Go release may be newer than Periscope knows`,
    );
  }
  return off;
}

/** Top-level constants (DW_TAG_constant) of one package's compile unit, by name. */
export function packageConstants(dwarf: DwarfData, pkg: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const u of dwarf.units()) {
    if (u.name !== pkg) continue;
    const r = dwarf.reader(u.offset as InfoOffset);
    const root = r.next();
    if (!root) continue;
    for (const c of dwarf.children(root)) {
      if (c.tag !== TAG.constant) continue;
      const name = c.str(AT.name);
      const v = c.num(AT.const_value);
      if (name !== undefined && v !== undefined) out.set(name, v);
    }
  }
  return out;
}

/** Derives the runtime layout of a binary from its DWARF. */
export function deriveRuntimeLayout(dwarf: DwarfData): RuntimeLayout {
  const g = structLayout(dwarf, 'runtime.g');
  const opt = (path: string) => fieldPathOffset(dwarf, 'runtime.g', path);
  const gOffsets: GOffsets = {
    stackLo: need(dwarf, 'runtime.g', 'stack.lo'),
    stackHi: need(dwarf, 'runtime.g', 'stack.hi'),
    schedSp: need(dwarf, 'runtime.g', 'sched.sp'),
    schedPc: need(dwarf, 'runtime.g', 'sched.pc'),
    schedBp: need(dwarf, 'runtime.g', 'sched.bp'),
    schedLr: opt('sched.lr'),
    syscallsp: need(dwarf, 'runtime.g', 'syscallsp'),
    syscallpc: need(dwarf, 'runtime.g', 'syscallpc'),
    atomicstatus: need(dwarf, 'runtime.g', 'atomicstatus'),
    goid: need(dwarf, 'runtime.g', 'goid'),
    waitsince: need(dwarf, 'runtime.g', 'waitsince'),
    waitreason: need(dwarf, 'runtime.g', 'waitreason'),
    m: need(dwarf, 'runtime.g', 'm'),
    gopc: need(dwarf, 'runtime.g', 'gopc'),
    startpc: need(dwarf, 'runtime.g', 'startpc'),
    labels: need(dwarf, 'runtime.g', 'labels'),
    lockedm: need(dwarf, 'runtime.g', 'lockedm'),
    parentGoid: opt('parentGoid'),
    ancestors: opt('ancestors'),
  };
  const mOffsets = {
    procid: need(dwarf, 'runtime.m', 'procid'),
    curg: need(dwarf, 'runtime.m', 'curg'),
    id: need(dwarf, 'runtime.m', 'id'),
    g0: need(dwarf, 'runtime.m', 'g0'),
  };
  const consts = packageConstants(dwarf, 'runtime');
  const statusNames = new Map<number, string>();
  const statusValues = new Map<string, number>();
  const waitReasonConstants = new Map<number, string>();
  for (const [name, v] of consts) {
    const short = name.slice('runtime.'.length);
    if (/^_G[a-z]+$/.test(short)) {
      statusValues.set(short, v);
      if (short !== '_Gscan' && !statusNames.has(v)) statusNames.set(v, short.slice(2));
    } else if (/^waitReason[A-Z]\w*$/.test(short) && !waitReasonConstants.has(v))
      waitReasonConstants.set(v, short);
  }
  if (!statusValues.has('_Grunning')) {
    throw new PeriscopeError(
      'unsupported',
      "this binary's DWARF has no runtime._Grunning constant; build without -ldflags=-w so Periscope can read goroutine states",
    );
  }
  return {
    g,
    m: structLayout(dwarf, 'runtime.m'),
    gobuf: structLayout(dwarf, 'runtime.gobuf'),
    stack: structLayout(dwarf, 'runtime.stack'),
    gOffsets,
    mOffsets,
    statusNames,
    statusValues,
    waitReasonConstants,
    maps: mapLayout(dwarf),
    labels: labelsLayout(dwarf),
  };
}

function mapLayout(dwarf: DwarfData): MapLayout {
  if (dwarf.findType('internal/runtime/maps.Map')) {
    return {
      kind: 'swiss',
      map: structLayout(dwarf, 'internal/runtime/maps.Map'),
      table: structLayout(dwarf, 'internal/runtime/maps.table'),
      groupsReference: structLayout(dwarf, 'internal/runtime/maps.groupsReference'),
    };
  }
  return {
    kind: 'classic',
    hmap: structLayout(dwarf, 'runtime.hmap'),
    bmap: structLayout(dwarf, 'runtime.bmap'),
  };
}

/** runtime/pprof's label representation: map[string]string until Go 1.23, a list of key/value pairs since. */
function labelsLayout(dwarf: DwarfData): LabelsLayout {
  const t = dwarf.findType('runtime/pprof.labelMap');
  if (!t)
    return {
      kind: 'absent',
      reason: 'the program does not link runtime/pprof, so its goroutines cannot carry labels',
    };
  if (t.kind === 'map') return { kind: 'map', mapType: t.name ?? 'runtime/pprof.labelMap' };
  const list = findListField(dwarf, dwarf.underlying(t), 0, 0);
  if (!list) return { kind: 'absent', reason: 'runtime/pprof.labelMap has a shape Periscope does not know' };
  return list;
}

/** Finds the `list []label` slice inside labelMap (possibly through embedded LabelSet / label.Set). */
function findListField(
  dwarf: DwarfData,
  s: DwarfType,
  base: number,
  depth: number,
): LabelsLayout | undefined {
  if (depth > 4 || !s.fields) return undefined;
  for (const f of s.fields) {
    if (f.type === undefined) continue;
    const ft = dwarf.underlying(dwarf.typeAt(f.type));
    if (f.name.toLowerCase() === 'list' && ft.kind === 'slice') {
      const elem = ft.elem === undefined ? undefined : dwarf.underlying(dwarf.typeAt(ft.elem));
      const key = elem?.fields?.find((x) => x.name.toLowerCase() === 'key');
      const value = elem?.fields?.find((x) => x.name.toLowerCase() === 'value');
      if (!elem || !key || !value || elem.byteSize === undefined) return undefined;
      return {
        kind: 'list',
        listOffset: base + f.offset,
        elemSize: elem.byteSize,
        keyOffset: key.offset,
        valueOffset: value.offset,
      };
    }
    if (ft.fields) {
      const inner = findListField(dwarf, ft, base + f.offset, depth + 1);
      if (inner) return inner;
    }
  }
  return undefined;
}
