/**
 * Where a capture's value is, as tracefs fetch-argument text: a variable by its name, its
 * fields (through embedded fields) and what its pointers point to (`req.User`,
 * `req.Where.X`, `*p`). tracefs can dereference (`+8(+48(%di))`) but not branch, so every
 * pointer followed is fetched too (`…:x64`), and a nil one makes the capture a nil pointer
 * dereference when the event is read, as a probe in eBPF says it.
 */
import type { DwarfData } from '../../dwarf/dwarf-data.js';
import type { DwarfType } from '../../dwarf/types.js';
import {
  type Binding,
  type Expr,
  elemOf,
  exprText,
  kindOf,
  lookupField,
} from '../../goruntime/expr/index.js';
import type { SiteExpr } from '../compile/emit-program.js';
import type { SiteFrame, SourcePiece } from '../compile/site-frame.js';
import { inScopeAt, variableSource } from '../compile/site-frame.js';
import type { PtReg } from '../pt-regs.amd64.js';

/** A value's place: in registers or frame slots piece by piece, or at an address tracefs computes. */
export type TracefsPlace =
  | { readonly where: 'pieces'; readonly pieces: readonly SourcePiece[] }
  /** At the address `base` (fetch text of a pointer, or a register) plus `off`. */
  | { readonly where: 'memory'; readonly base: string; readonly off: number };

/** A capture's path resolved: the value's place and type, the pointers followed, the names and types passed. */
export interface TracefsPath {
  readonly place: TracefsPlace;
  readonly type: DwarfType;
  /** Fetch text of each pointer dereferenced on the way, in order (nil: the capture is an error). */
  readonly pointers: readonly string[];
  /** The variable's and each field's name (for redaction by name). */
  readonly names: readonly string[];
  /** The named types passed (for redaction by type). */
  readonly typeNames: readonly string[];
}

const NOT_A_PATH =
  'tracefs can only capture a variable, its fields and what its pointers point to (an integer, bool or string)';

/** The fetch text of `size` bytes at `offset` in `place`, or undefined when tracefs cannot read it there. */
export function fetchAt(
  place: TracefsPlace,
  offset: number,
  size: number,
  spDelta: number,
): string | undefined {
  if (place.where === 'memory') {
    const off = place.off + offset;
    return `${off >= 0 ? '+' : ''}${off}(${place.base})`;
  }
  const p = place.pieces.find((x) => x.offset === offset && x.size === size);
  if (!p) return undefined;
  if ('reg' in p) return `%${p.reg}`;
  if ('memory' in p) {
    const { base, offset: o } = p.memory;
    if (base === 'static') return undefined;
    const reg: PtReg = base === 'cfa' ? 'sp' : base;
    const off = base === 'cfa' ? o + spDelta + 8 : o;
    return `${off >= 0 ? '+' : ''}${off}(%${reg})`;
  }
  return undefined;
}

/** Resolves the capture `x` at a site, or says why tracefs cannot read it. */
export function tracefsPath(
  dwarf: DwarfData,
  frame: SiteFrame,
  c: SiteExpr,
  source: string,
): TracefsPath | { readonly unavailable: string } {
  const walk = (x: Expr): TracefsPath | { unavailable: string } => {
    if (x.kind === 'paren') return walk(x.x);
    const b = c.bindings.get(x);
    if (b) return root(b, x);
    if (x.kind === 'selector') {
      const base = walk(x.x);
      return 'unavailable' in base ? base : field(base, x.name);
    }
    if (x.kind === 'unary' && x.op === '*') {
      const base = walk(x.x);
      return 'unavailable' in base ? base : deref(base);
    }
    return { unavailable: `${NOT_A_PATH}, not ${source}` };
  };
  const root = (b: Binding, x: Expr): TracefsPath | { unavailable: string } => {
    if (b.kind !== 'local') return { unavailable: `${NOT_A_PATH}, not ${exprText(x)}` };
    const inScope = b.vars.filter((v) => inScopeAt(frame, v));
    if (inScope.length === 0) return { unavailable: `${b.name} is not in scope at this site` };
    const span = (v: (typeof inScope)[number]) => v.scope.reduce((n, r) => n + r.high - r.low, 0);
    const v = inScope.reduce((best, y) => (span(y) < span(best) ? y : best));
    // A variable that escaped to the heap is known by its address (`&name` in DWARF).
    const src = variableSource(frame, v, b.heap ? 8 : (b.type.byteSize ?? 8), b.name);
    if (src.kind === 'unavailable') return { unavailable: src.reason };
    let place: TracefsPlace;
    if (src.kind === 'memory') {
      const { base, offset } = src.at;
      if (base === 'static') return { unavailable: `${b.name}: tracefs cannot read static memory` };
      place =
        base === 'cfa'
          ? { where: 'memory', base: '%sp', off: offset + frame.spDelta + 8 }
          : { where: 'memory', base: `%${base}`, off: offset };
    } else place = { where: 'pieces', pieces: src.pieces };
    const names = [b.name];
    if (!b.heap) return { place, type: b.type, pointers: [], names, typeNames: named([], b.type) };
    const ptr = fetchAt(place, 0, 8, frame.spDelta);
    if (!ptr) return { unavailable: `${b.name}: its address at this site cannot be read by tracefs` };
    const at: TracefsPlace = { where: 'memory', base: ptr, off: 0 };
    return { place: at, type: b.type, pointers: [ptr], names, typeNames: named([], b.type) };
  };
  const deref = (p: TracefsPath): TracefsPath | { unavailable: string } => {
    const ptr = fetchAt(p.place, 0, 8, frame.spDelta);
    const elem = elemOf(dwarf, p.type);
    if (!ptr || !elem) return { unavailable: `${source}: tracefs cannot follow the pointer here` };
    return {
      place: { where: 'memory', base: ptr, off: 0 },
      type: elem,
      pointers: [...p.pointers, ptr],
      names: p.names,
      typeNames: named(p.typeNames, elem),
    };
  };
  const field = (p: TracefsPath, name: string): TracefsPath | { unavailable: string } => {
    let cur = p;
    if (kindOf(dwarf, cur.type) === 'ptr') {
      const d = deref(cur);
      if ('unavailable' in d) return d;
      cur = d;
    }
    const f = lookupField(dwarf, cur.type, name);
    if (!f.ok) return { unavailable: `${source}: no field ${name}` };
    for (const step of f.steps) {
      if (step.deref) {
        const d = deref(cur);
        if ('unavailable' in d) return d;
        cur = d;
      }
      cur = { ...shift(cur, step.offset, step.type.byteSize ?? 0), type: step.type };
      cur = { ...cur, typeNames: named(cur.typeNames, step.type) };
    }
    return { ...cur, names: [...cur.names, name] };
  };
  return walk(c.ast);
}

/** The part of `p` at `offset` (`size` bytes) of its value. */
function shift(p: TracefsPath, offset: number, size: number): TracefsPath {
  const place: TracefsPlace =
    p.place.where === 'memory'
      ? { ...p.place, off: p.place.off + offset }
      : {
          where: 'pieces',
          pieces: p.place.pieces
            .filter((x) => x.offset >= offset && x.offset + x.size <= offset + size)
            .map((x) => ({ ...x, offset: x.offset - offset })),
        };
  return { ...p, place };
}

function named(names: readonly string[], t: DwarfType): readonly string[] {
  return t.name ? [...names, t.name] : names;
}
