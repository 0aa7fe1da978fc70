/**
 * Channels and funcs. A channel renders as a summary of its runtime.hchan (length,
 * capacity, element type, closed, and the buffered items in receive order); a func value
 * as the name of the function its closure's code pointer enters (from the pclntab).
 */
import { type Address, addr, hex } from '../../common/address.js';
import type { DwarfType } from '../../dwarf/types.js';
import { ptrAt, readPtr, uintAt } from './bytes.js';
import type { ValueContext } from './context.js';
import { moreElements, unreadable } from './render-limits.js';
import { elemOf, fieldOf, type GoValue, type Walk } from './walk.js';

/** Renders a chan as {address, len, cap, elemType, closed, items}, or null when nil. */
export function renderChan(w: Walk, t: DwarfType, p: Address, depth: number): GoValue {
  if (p === 0) return null;
  const ctx = w.ctx;
  const hchan = elemOf(ctx, ctx.dwarf.underlying(t));
  const elem = elemOf(ctx, t);
  const elemType = elem ? w.typeName(elem) : '?';
  if (!hchan || hchan.byteSize === undefined)
    return unreadable(w.typeName(t), 'channel type without hchan struct', p);
  const b = ctx.memory.read(p, hchan.byteSize);
  const get = (name: string) => {
    const f = fieldOf(ctx, hchan, name);
    return f ? uintAt(b, f.offset, f.type.byteSize ?? 8) : 0;
  };
  const len = get('qcount');
  const cap = get('dataqsiz');
  const out: { [k: string]: GoValue } = { address: hex(p), len, cap, elemType, closed: get('closed') !== 0 };
  if (cap > 0 && elem && len <= cap) {
    const buf = fieldOf(ctx, hchan, 'buf');
    const data = buf ? ptrAt(b, buf.offset) : addr(0);
    const recvx = get('recvx');
    const esize = elem.byteSize ?? 0;
    const shown = Math.min(len, ctx.limits.maxElements);
    const items: GoValue[] = [];
    for (let i = 0; i < shown && data !== 0; i++)
      items.push(w.valueAt(elem, addr(data + ((recvx + i) % cap) * esize), depth + 1));
    if (shown < len) items.push(moreElements(len, shown));
    out.items = items;
  }
  return out;
}

/** The name of the function a func value (a pointer to a funcval) calls, or null when nil. */
export function renderFunc(ctx: ValueContext, funcval: Address): GoValue {
  if (funcval === 0) return null;
  const pc = readPtr(ctx.memory, funcval);
  return funcNameAt(ctx, pc) ?? hex(pc);
}

/** The function containing runtime pc `pc` (adjusted by the load bias), per the pclntab. */
export function funcNameAt(ctx: ValueContext, pc: number): string | undefined {
  return ctx.bin.symtab.pcln.funcForPC(ctx.bias.toLink(addr(pc)))?.name;
}
