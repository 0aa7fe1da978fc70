/**
 * context.Context as the chain of contexts from the outermost to the root: each link's
 * concrete type, with its key and value (*context.valueCtx), its deadline (*context.timerCtx)
 * and whether it was cancelled (cancelCtx and timerCtx: err set). The parent is the
 * embedded Context interface (found through embedded structs such as timerCtx.cancelCtx,
 * or a field `c` of withoutCancelCtx); the walk stops at a root (backgroundCtx, todoCtx,
 * emptyCtx) or after a bounded number of links.
 */
import { addr } from '../../../common/address.js';
import type { DwarfType } from '../../../dwarf/types.js';
import type { ValueContext } from '../context.js';
import { interfaceParts, renderInterface } from '../interfaces.js';
import { redactedMark } from '../redaction.js';
import { HARD_LIMITS } from '../render-limits.js';
import { elemOf, fieldOf, type GoValue, kindOf, type Walk } from '../walk.js';

/** Offset and type of a field found by name in a struct or its embedded structs. */
function findField(
  ctx: ValueContext,
  t: DwarfType,
  pred: (name: string, type: DwarfType) => boolean,
  depth = 0,
): { offset: number; type: DwarfType } | undefined {
  if (depth > 3) return undefined;
  for (const f of ctx.dwarf.underlying(t).fields ?? []) {
    if (f.type === undefined) continue;
    const ft = ctx.dwarf.typeAt(f.type);
    if (pred(f.name, ft)) return { offset: f.offset, type: ft };
    if (f.embedded && kindOf(ctx, ft) === 'struct') {
      const inner = findField(ctx, ft, pred, depth + 1);
      if (inner) return { offset: f.offset + inner.offset, type: inner.type };
    }
  }
  return undefined;
}

const isInterface = (ctx: ValueContext, t: DwarfType) => kindOf(ctx, t) === 'interface';

/** Pretty form of context.Context: {type, chain: [{type, key?, value?, deadline?, cancelled?, err?}, ...]}. */
export function prettyContext(
  w: Walk,
  t: DwarfType,
  bytes: Uint8Array,
  _a: unknown,
  depth: number,
): GoValue | undefined {
  const ctx = w.ctx;
  const chain: GoValue[] = [];
  let cur = bytes;
  let curType = t;
  let outer: string | undefined;
  for (let hop = 0; hop < HARD_LIMITS.chain; hop++) {
    const parts = interfaceParts(ctx, curType, cur);
    if (parts.typeDescriptor === 0) break;
    const dyn = parts.dynamicType;
    if (!dyn) {
      chain.push(renderInterface(w, curType, cur, depth));
      break;
    }
    const name = w.typeName(dyn);
    outer ??= name;
    const st = elemOf(ctx, dyn);
    const isPtr = kindOf(ctx, dyn) === 'ptr';
    if (!isPtr || !st?.byteSize || parts.data === 0) {
      chain.push({ type: name });
      break;
    }
    const obj = ctx.memory.read(parts.data, st.byteSize);
    const link: { [k: string]: GoValue } = { type: name };
    const at = (f: { offset: number; type: DwarfType }) =>
      w.value(
        f.type,
        obj.subarray(f.offset, f.offset + (f.type.byteSize ?? 0)),
        addr(parts.data + f.offset),
        depth + 1,
      );
    const key = fieldOf(ctx, st, 'key');
    const val = fieldOf(ctx, st, 'val');
    if (key && val) {
      link.key = at(key);
      // A value stored under a key that names a secret (ctxKey("authToken")) is redacted.
      const secret = contextKeySecret(w, link.key);
      link.value = secret === undefined ? at(val) : redactedMark(secret, w.typeName(val.type));
    }
    const deadline = fieldOf(ctx, st, 'deadline');
    if (deadline) link.deadline = at(deadline);
    let err = findField(ctx, st, (n) => n === 'err');
    // Since Go 1.25 cancelCtx.err is an atomic.Value holding the error in its `v`.
    if (err && !isInterface(ctx, err.type)) {
      const v = fieldOf(ctx, err.type, 'v');
      err = v && isInterface(ctx, v.type) ? { offset: err.offset + v.offset, type: v.type } : undefined;
    }
    if (err) {
      const e = at(err);
      link.cancelled = e !== null;
      if (e !== null) link.err = e;
    }
    chain.push(link);
    const parent = findField(
      ctx,
      st,
      (n, ft) => (n === 'Context' || n === 'c' || n === 'parent') && isInterface(ctx, ft),
    );
    if (!parent) break;
    cur = obj.subarray(parent.offset, parent.offset + 16);
    curType = parent.type;
  }
  if (outer === undefined) return null;
  return { type: outer, chain };
}

/**
 * The redaction rule a context key matches: its string value (`ctxKey("authToken")`), or its
 * type's name (`main.sessionTokenKey{}`).
 */
function contextKeySecret(w: Walk, key: GoValue): string | undefined {
  const r = w.ctx.redact;
  if (r === undefined || key === null || typeof key !== 'object' || Array.isArray(key)) return undefined;
  const { type, value } = key;
  if (typeof value === 'string') {
    const rule = r.byName(value);
    if (rule !== undefined) return rule;
  }
  return typeof type === 'string' ? r.byName(type.slice(type.lastIndexOf('.') + 1)) : undefined;
}
