/**
 * sync.Mutex and sync.RWMutex decoded from their state words. The Mutex state (an int32 in
 * sync.Mutex up to Go 1.23, in the wrapped internal/sync.Mutex since 1.24) packs locked,
 * woken and starving bits and the waiter count above mutexWaiterShift; an RWMutex's
 * readerCount goes negative by rwmutexMaxReaders while a writer holds or wants the lock,
 * and readerWait counts the readers that writer still waits for. Bit values come from the
 * constants of the binary's sync or internal/sync package.
 */
import type { DwarfType } from '../../../dwarf/types.js';
import type { ValueContext } from '../context.js';
import { fieldOf, type GoValue, goConstant, kindOf, type Walk } from '../walk.js';

/** Finds an int32 field by name, looking into nested structs (mu.state, readerCount.v), and its offset. */
function int32Field(
  ctx: ValueContext,
  t: DwarfType,
  names: readonly string[],
  depth = 0,
): number | undefined {
  if (depth > 3) return undefined;
  for (const f of ctx.dwarf.underlying(t).fields ?? []) {
    if (f.type === undefined) continue;
    const ft = ctx.dwarf.typeAt(f.type);
    const kind = kindOf(ctx, ft);
    if (names.includes(f.name) && kind === 'int32') return f.offset;
    if (kind === 'struct' && f.name !== '_' && !['readerCount', 'readerWait'].includes(f.name)) {
      const inner = int32Field(ctx, ft, names, depth + 1);
      if (inner !== undefined) return f.offset + inner;
    }
  }
  return undefined;
}

/** The int32 inside an atomic.Int32 field (or the field itself when it is a plain int32). */
function atomicInt32(ctx: ValueContext, t: DwarfType, name: string): number | undefined {
  const f = fieldOf(ctx, t, name);
  if (!f) return undefined;
  if (kindOf(ctx, f.type) === 'int32') return f.offset;
  const v = fieldOf(ctx, f.type, 'v');
  return v ? f.offset + v.offset : undefined;
}

/** Which package's constants describe the mutex state (internal/sync since Go 1.24). */
function mutexConsts(ctx: ValueContext): (name: string, d: number) => number {
  const pkg = ctx.dwarf.findType('internal/sync.Mutex') ? 'internal/sync' : 'sync';
  return (name, d) => goConstant(ctx, `${pkg}.${name}`, d);
}

/** Decodes a Mutex state word into {locked, woken, starving, waiters}. */
export function mutexState(ctx: ValueContext, state: number): { [k: string]: GoValue } {
  const c = mutexConsts(ctx);
  return {
    locked: (state & c('mutexLocked', 1)) !== 0,
    woken: (state & c('mutexWoken', 2)) !== 0,
    starving: (state & c('mutexStarving', 4)) !== 0,
    waiters: state >>> c('mutexWaiterShift', 3),
  };
}

/** Pretty form of sync.Mutex. */
export function prettyMutex(w: Walk, t: DwarfType, bytes: Uint8Array): GoValue | undefined {
  const off = int32Field(w.ctx, t, ['state']);
  if (off === undefined) return undefined;
  return mutexState(w.ctx, new DataView(bytes.buffer, bytes.byteOffset + off, 4).getInt32(0, true));
}

/** Pretty form of sync.RWMutex: {readers, writer: "none"|"waiting"|"locked", readerWait, w: mutex}. */
export function prettyRWMutex(w: Walk, t: DwarfType, bytes: Uint8Array): GoValue | undefined {
  const ctx = w.ctx;
  const rc = atomicInt32(ctx, t, 'readerCount');
  const rw = atomicInt32(ctx, t, 'readerWait');
  const inner = fieldOf(ctx, t, 'w');
  if (rc === undefined || rw === undefined || !inner) return undefined;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const count = dv.getInt32(rc, true);
  const wait = dv.getInt32(rw, true);
  const max = goConstant(ctx, 'sync.rwmutexMaxReaders', 1 << 30);
  const writer = count < 0 ? (wait > 0 ? 'waiting' : 'locked') : 'none';
  const innerSize = inner.type.byteSize ?? 8;
  const wState = prettyMutex(w, inner.type, bytes.subarray(inner.offset, inner.offset + innerSize)) ?? null;
  return { readers: count < 0 ? count + max : count, writer, readerWait: wait, w: wState };
}
