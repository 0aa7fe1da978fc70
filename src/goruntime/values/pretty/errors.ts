/**
 * Values of the `error` interface: the plain interface form {type, value} plus "message"
 * when the message is data rather than code — *errors.errorString (s), *fmt.wrapError and
 * *fmt.wrapErrors (msg), and *errors.joinError (its errors' messages joined by newlines,
 * when each is known). Wrapped errors appear as nested error values inside "value", so a
 * chain reads outside in.
 */
import { type Address, addr } from '../../../common/address.js';
import type { DwarfType } from '../../../dwarf/types.js';
import { ptrAt, u64At } from '../bytes.js';
import type { ValueContext } from '../context.js';
import { interfaceParts, renderInterface } from '../interfaces.js';
import { HARD_LIMITS, isMarker } from '../render-limits.js';
import { elemOf, fieldOf, type GoValue, type Walk } from '../walk.js';

/** Reads a string field of the struct a pointer-typed error points at. */
function stringField(w: Walk, ptrType: DwarfType, p: Address, name: string): string | undefined {
  const st = elemOf(w.ctx, ptrType);
  const f = st ? fieldOf(w.ctx, st, name) : undefined;
  if (!f) return undefined;
  const hdr = w.ctx.memory.read(addr(p + f.offset), 16);
  const v = w.value(f.type, hdr, undefined, 0);
  return typeof v === 'string' ? v : isMarker(v) && 'string' in v ? `${v.string}…` : undefined;
}

/** The message of an error value (16 bytes of iface), when it is stored as data; undefined otherwise. */
export function errorMessage(w: Walk, t: DwarfType, bytes: Uint8Array, hops = 0): string | undefined {
  const ctx: ValueContext = w.ctx;
  const parts = interfaceParts(ctx, t, bytes);
  const dyn = parts.dynamicType;
  if (!dyn || parts.data === 0 || hops > HARD_LIMITS.chain) return undefined;
  switch (dyn.name) {
    case '*errors.errorString':
      return stringField(w, dyn, parts.data, 's');
    case '*fmt.wrapError':
    case '*fmt.wrapErrors':
      return stringField(w, dyn, parts.data, 'msg');
    case '*errors.joinError': {
      const st = elemOf(ctx, dyn);
      const errs = st ? fieldOf(ctx, st, 'errs') : undefined;
      const errT = errs ? elemOf(ctx, errs.type) : undefined;
      if (!errs || !errT) return undefined;
      const hdr = ctx.memory.read(addr(parts.data + errs.offset), 24);
      const n = Math.min(u64At(hdr, 8), ctx.limits.maxElements);
      const data = ptrAt(hdr, 0);
      const msgs: string[] = [];
      for (let i = 0; i < n; i++) {
        const m = errorMessage(w, errT, ctx.memory.read(addr(data + i * 16), 16), hops + 1);
        if (m === undefined) return undefined;
        msgs.push(m);
      }
      return msgs.join('\n');
    }
    default:
      return undefined;
  }
}

/** Pretty form of `error`: {type, message?, value}, or null when nil. */
export function prettyError(
  w: Walk,
  t: DwarfType,
  bytes: Uint8Array,
  _a: unknown,
  depth: number,
): GoValue | undefined {
  const plain = renderInterface(w, t, bytes, depth);
  if (plain === null || typeof plain !== 'object' || Array.isArray(plain)) return plain;
  const message = errorMessage(w, t, bytes);
  return message === undefined ? plain : { type: plain.type ?? null, message, value: plain.value ?? null };
}
