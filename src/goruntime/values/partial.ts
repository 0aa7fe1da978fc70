/**
 * Rendering a value only part of whose bytes its location gives (missing.ts): every part
 * that lies wholly outside the missing ranges renders as usual, and the rest is marked
 * `unreadable` with the reason (e.g. "optimized out at this PC", "location covers 16 of 24
 * bytes"). Structs and arrays are split by field and element; an interface whose type word
 * is known shows its dynamic type; a slice whose cap alone is missing shows its elements.
 */
import type { DwarfType } from '../../dwarf/types.js';
import { typeAtOffset } from './built-types.js';
import { ptrAt, u64At } from './bytes.js';
import type { ValueContext } from './context.js';
import { newWalk } from './decode.js';
import { renderInterface } from './interfaces.js';
import { allMissing, type MissingBytes, missingIn, missingText, missingWithin } from './missing.js';
import { redactedMark } from './redaction.js';
import { moreElements, tooDeep, unreadable } from './render-limits.js';
import { elemOf, fieldOf, type GoValue, kindOf, type Walk } from './walk.js';

/** Decodes a value of type `t` from `bytes`, some of whose ranges are `missing`. */
export function decodePartial(
  ctx: ValueContext,
  t: DwarfType,
  bytes: Uint8Array,
  missing: readonly MissingBytes[],
): GoValue {
  return partial(newWalk(ctx), t, bytes, missing, 0);
}

function sizeOf(ctx: ValueContext, t: DwarfType): number {
  return t.byteSize ?? ctx.dwarf.underlying(t).byteSize ?? 0;
}

function partial(
  w: Walk,
  t: DwarfType,
  b: Uint8Array,
  missing: readonly MissingBytes[],
  depth: number,
): GoValue {
  const { ctx } = w;
  const size = sizeOf(ctx, t);
  if (missing.length === 0) return w.value(t, b, undefined, depth);
  const name = w.typeName(t);
  const secretType = t.name === undefined ? undefined : ctx.redact?.byType(t.name);
  if (secretType !== undefined) return redactedMark(secretType, t.name);
  const why = () => [...new Set(missing.map((m) => missingText(m, size)))].join('; ');
  if (allMissing(missing, size)) return unreadable(name, why());
  const kind = kindOf(ctx, t);
  if ((kind === 'struct' || kind === 'array') && depth > ctx.limits.maxDepth) return tooDeep(name);
  const sub = (ft: DwarfType, off: number) => {
    const n = sizeOf(ctx, ft);
    return partial(w, ft, b.subarray(off, off + n), missingWithin(missing, off, n), depth + 1);
  };
  switch (kind) {
    case 'struct': {
      const out: { [k: string]: GoValue } = {};
      for (const f of ctx.dwarf.underlying(t).fields ?? []) {
        if (f.name === '_' || f.type === undefined) continue;
        const ft = typeAtOffset(ctx.dwarf, f.type);
        const secret = ctx.redact?.byName(f.name);
        out[f.name] = secret === undefined ? sub(ft, f.offset) : redactedMark(secret, w.typeName(ft));
      }
      return out;
    }
    case 'array': {
      const u = ctx.dwarf.underlying(t);
      const elem = elemOf(ctx, u);
      const count = u.count ?? 0;
      if (!elem) break;
      const shown = Math.min(count, ctx.limits.maxElements);
      const out: GoValue[] = [];
      for (let i = 0; i < shown; i++) out.push(sub(elem, i * sizeOf(ctx, elem)));
      if (shown < count) out.push(moreElements(count, shown));
      return out;
    }
    case 'slice': {
      const arr = fieldOf(ctx, t, 'array');
      const len = fieldOf(ctx, t, 'len');
      const cap = fieldOf(ctx, t, 'cap');
      if (arr && len && cap && !missingIn(missing, arr.offset, 8) && !missingIn(missing, len.offset, 8))
        return w.sliceOf(t, ptrAt(b, arr.offset), u64At(b, len.offset), undefined, depth);
      break;
    }
    case 'interface': {
      const data = fieldOf(ctx, t, 'data');
      const typeWord = fieldOf(ctx, t, '_type') ?? fieldOf(ctx, t, 'tab');
      const gap = data && missingIn(missing, data.offset, 8);
      if (gap && typeWord && !missingIn(missing, typeWord.offset, 8))
        return renderInterface(w, t, b, depth, gap.reason);
      break;
    }
  }
  return unreadable(name, why());
}
