/**
 * Typed bytes of a Go process to JSON-ready values: the entry points decodeValue and
 * decodeValueAt, and the plain forms of scalars, strings, arrays, slices, structs and
 * pointers. Maps, interfaces, channels, funcs and the pretty forms of well-known types live
 * in their own modules and are reached through the Walk.
 */
import { type Address, addr, hex } from '../../common/address.js';
import { PeriscopeError } from '../../common/errors.js';
import type { DwarfType } from '../../dwarf/types.js';
import { typeAtOffset } from './built-types.js';
import { ptrAt, u64At } from './bytes.js';
import { renderChan, renderFunc } from './chan-func.js';
import type { ValueContext } from './context.js';
import { renderInterface } from './interfaces.js';
import { renderMap } from './maps.js';
import { prettyFormFor } from './pretty/registry.js';
import { redactedMark } from './redaction.js';
import { cutString, cycle, moreElements, tooDeep, unreadable } from './render-limits.js';
import { decodeComplex, decodeFloat, decodeInt, goStringText } from './scalars.js';
import { elemOf, fieldOf, type GoValue, kindOf, type Walk } from './walk.js';

export type { GoValue } from './walk.js';

/** Decodes a value of type `t` held in `bytes` (e.g. assembled from registers); indirections read ctx.memory. */
export function decodeValue(ctx: ValueContext, t: DwarfType, bytes: Uint8Array, address?: Address): GoValue {
  return new Renderer(ctx, address).value(t, bytes, address, 0);
}

/** Reads and decodes the value of type `t` stored at `address` in ctx.memory. */
export function decodeValueAt(ctx: ValueContext, t: DwarfType, address: Address): GoValue {
  return new Renderer(ctx, address).valueAt(t, address, 0);
}

/** A fresh walk over ctx (for decoders that assemble a value part by part, e.g. partial.ts). */
export function newWalk(ctx: ValueContext): Walk {
  return new Renderer(ctx, undefined);
}

const INT_KINDS = new Set(['int', 'int8', 'int16', 'int32', 'int64']);
const UINT_KINDS = new Set(['uint', 'uint8', 'uint16', 'uint32', 'uint64', 'uintptr']);
/** Kinds replaced by a depth marker below limits.maxDepth (pointers, interfaces and channels keep their header). */
const COMPOSITE = new Set(['array', 'slice', 'struct', 'map']);

/** One rendering: carries the pointees on the current path so cycles end in a marker. */
class Renderer implements Walk {
  readonly ctx: ValueContext;
  private readonly onPath = new Set<string>();

  private readonly root: Address | undefined;

  constructor(ctx: ValueContext, root: Address | undefined) {
    this.ctx = ctx;
    this.root = root;
  }

  typeName(t: DwarfType): string {
    return t.name ?? this.ctx.dwarf.underlying(t).name ?? '?';
  }

  valueAt(t: DwarfType, address: Address, depth: number): GoValue {
    const size = t.byteSize ?? this.ctx.dwarf.underlying(t).byteSize ?? 0;
    let bytes: Uint8Array;
    try {
      bytes = size === 0 ? new Uint8Array(0) : this.ctx.memory.read(address, size);
    } catch (e) {
      return unreadable(this.typeName(t), errorText(e), address);
    }
    return this.value(t, bytes, address, depth);
  }

  value(t: DwarfType, bytes: Uint8Array, address: Address | undefined, depth: number): GoValue {
    const kind = kindOf(this.ctx, t);
    if (kind !== undefined && COMPOSITE.has(kind) && depth > this.ctx.limits.maxDepth)
      return tooDeep(this.typeName(t), address);
    const key = address === undefined ? undefined : `${address}:${t.offset}`;
    const first = key !== undefined && depth === 0 && address === this.root;
    if (first) this.onPath.add(key);
    try {
      const secret = t.name === undefined ? undefined : this.ctx.redact?.byType(t.name);
      if (secret !== undefined) return redactedMark(secret, t.name);
      const pretty = t.name === undefined || !this.ctx.pretty ? undefined : prettyFormFor(t.name);
      const p = pretty?.(this, t, bytes, address, depth);
      if (p !== undefined) return p;
      return this.plain(t, kind, bytes, address, depth);
    } catch (e) {
      if (e instanceof PeriscopeError || e instanceof RangeError)
        return unreadable(this.typeName(t), errorText(e), address);
      throw e;
    } finally {
      if (first) this.onPath.delete(key);
    }
  }

  private plain(
    t: DwarfType,
    kind: string | undefined,
    b: Uint8Array,
    address: Address | undefined,
    depth: number,
  ): GoValue {
    const size = b.length;
    if (kind === undefined) return unreadable(this.typeName(t), 'type has no Go kind in DWARF', address);
    if (INT_KINDS.has(kind)) return decodeInt(b, 0, size, true);
    if (UINT_KINDS.has(kind)) return decodeInt(b, 0, size, false);
    switch (kind) {
      case 'bool':
        return b[0] !== 0;
      case 'float32':
      case 'float64':
        return decodeFloat(b, 0, size);
      case 'complex64':
      case 'complex128':
        return decodeComplex(b, 0, size);
      case 'string':
        return this.string(ptrAt(b, 0), u64At(b, 8));
      case 'unsafe.Pointer': {
        const p = ptrAt(b, 0);
        return p === 0 ? null : hex(p);
      }
      case 'array':
        return this.array(t, b, address, depth);
      case 'slice':
        return this.slice(t, b, depth);
      case 'struct':
        return this.struct(t, b, address, depth);
      case 'ptr':
        return this.pointer(t, ptrAt(b, 0), depth);
      case 'map':
        return renderMap(this, t, ptrAt(b, 0), depth);
      case 'chan':
        return renderChan(this, t, ptrAt(b, 0), depth);
      case 'func':
        return renderFunc(this.ctx, ptrAt(b, 0));
      case 'interface':
        return renderInterface(this, t, b, depth);
      default:
        return unreadable(this.typeName(t), `kind ${kind} is not supported`, address);
    }
  }

  /** A Go string given its data pointer and length in bytes. */
  string(data: Address, len: number): GoValue {
    if (len === 0) return '';
    if (len < 0 || data === 0)
      return unreadable('string', `bad string header (data ${hex(data)}, len ${len})`);
    const n = Math.min(len, this.ctx.limits.maxString);
    const text = goStringText(this.ctx.memory.read(data, n), n === len);
    return n === len ? text : cutString(text, len);
  }

  private array(t: DwarfType, b: Uint8Array, address: Address | undefined, depth: number): GoValue {
    const u = this.ctx.dwarf.underlying(t);
    const elem = elemOf(this.ctx, u);
    const count = u.count ?? 0;
    if (!elem) return unreadable(this.typeName(t), 'array type without element type', address);
    return this.elements(elem, b, address, count, count, undefined, depth);
  }

  private slice(t: DwarfType, b: Uint8Array, depth: number): GoValue {
    const lenF = fieldOf(this.ctx, t, 'len');
    const capF = fieldOf(this.ctx, t, 'cap');
    const arr = fieldOf(this.ctx, t, 'array');
    if (!arr || !lenF || !capF) return unreadable(this.typeName(t), 'slice type without array/len/cap');
    return this.sliceOf(t, ptrAt(b, arr.offset), u64At(b, lenF.offset), u64At(b, capF.offset), depth);
  }

  sliceOf(t: DwarfType, data: Address, len: number, cap: number | undefined, depth: number): GoValue {
    const arr = fieldOf(this.ctx, t, 'array');
    const elem = elemOf(this.ctx, t) ?? (arr ? elemOf(this.ctx, arr.type) : undefined);
    if (!elem) return unreadable(this.typeName(t), 'slice type without element type');
    if (data === 0 && len === 0) return null;
    if (cap !== undefined && len > cap)
      return unreadable(this.typeName(t), `slice len ${len} exceeds cap ${cap}`);
    const esize = elem.byteSize ?? 0;
    const shown = Math.min(len, this.ctx.limits.maxElements);
    const bytes = shown * esize === 0 ? new Uint8Array(0) : this.ctx.memory.read(data, shown * esize);
    return this.elements(elem, bytes, data, shown, len, cap, depth);
  }

  /** `shown` elements of `elem` type packed in `b`, out of `len` (a cut marker when fewer). */
  private elements(
    elem: DwarfType,
    b: Uint8Array,
    base: Address | undefined,
    available: number,
    len: number,
    cap: number | undefined,
    depth: number,
  ): GoValue {
    const esize = elem.byteSize ?? 0;
    const shown = Math.min(available, this.ctx.limits.maxElements);
    const out: GoValue[] = [];
    for (let i = 0; i < shown; i++) {
      const at = base === undefined ? undefined : addr(base + i * esize);
      out.push(this.value(elem, b.subarray(i * esize, (i + 1) * esize), at, depth + 1));
    }
    if (shown < len) out.push(moreElements(len, shown, cap));
    return out;
  }

  private struct(t: DwarfType, b: Uint8Array, address: Address | undefined, depth: number): GoValue {
    const out: { [k: string]: GoValue } = {};
    for (const f of this.ctx.dwarf.underlying(t).fields ?? []) {
      if (f.name === '_' || f.type === undefined) continue;
      const ft = typeAtOffset(this.ctx.dwarf, f.type);
      const size = ft.byteSize ?? 0;
      const secret = this.ctx.redact?.byName(f.name);
      if (secret !== undefined) {
        out[f.name] = redactedMark(secret, this.typeName(ft));
        continue;
      }
      const at = address === undefined ? undefined : addr(address + f.offset);
      out[f.name] = this.value(ft, b.subarray(f.offset, f.offset + size), at, depth + 1);
    }
    return out;
  }

  private pointer(t: DwarfType, p: Address, depth: number): GoValue {
    if (p === 0) return null;
    const elem = elemOf(this.ctx, t);
    if (!elem || (elem.byteSize ?? 0) === 0) return { address: hex(p) };
    const key = `${p}:${elem.offset}`;
    if (this.onPath.has(key)) return cycle(this.typeName(elem), p);
    if (depth + 1 > this.ctx.limits.maxDepth)
      return { address: hex(p), value: tooDeep(this.typeName(elem), p) };
    this.onPath.add(key);
    try {
      return { address: hex(p), value: this.valueAt(elem, p, depth + 1) };
    } finally {
      this.onPath.delete(key);
    }
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
