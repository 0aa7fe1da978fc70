/**
 * A decoded goroutine with its captures, built field by field. Not spread (`{ ...g, captures }`):
 * V8 gave every object spread from a decoded goroutine a map (hidden class) of its own, about
 * 850 bytes per goroutine at 10k goroutines, more than the goroutine itself.
 */
import type { Goroutine } from '../goruntime/goroutines/index.js';
import type { FrameCapture, SnapshotGoroutine } from './snapshot-types.js';

/**
 * The snapshot's goroutine for `g`, with its labels as they are kept (redacted), its captured
 * frames and (--no-pause only) whether it moved.
 */
export function snapshotGoroutine(
  g: Goroutine,
  labels: Goroutine['labels'],
  captures: readonly FrameCapture[],
  inconsistent?: boolean,
): SnapshotGoroutine {
  return goroutineWith(g, labels, g.stack, captures, inconsistent);
}

/**
 * `g`'s facts with these labels, stack (of any form: the agents' wire form lists stacks once),
 * captures and mark, built field by field in one order, so every goroutine object of a
 * snapshot, made here or decoded from the wire, shares one V8 map.
 */
export function goroutineWith<S>(
  g: Omit<Goroutine, 'stack' | 'labels'>,
  labels: Goroutine['labels'],
  stack: S,
  captures: readonly FrameCapture[],
  inconsistent: boolean | undefined,
): Omit<SnapshotGoroutine, 'stack'> & { readonly stack: S } {
  const out = {
    address: g.address,
    id: g.id,
    status: g.status,
    statusCode: g.statusCode,
    scan: g.scan,
    waitReason: g.waitReason,
    waitSinceNs: g.waitSinceNs,
    waitDurationNs: g.waitDurationNs,
    labels,
    createdBy: g.createdBy,
    startFunction: g.startFunction,
    startPc: g.startPc,
    system: g.system,
    threadId: g.threadId,
    lockedToThread: g.lockedToThread,
    stackLo: g.stackLo,
    stackHi: g.stackHi,
    stackSource: g.stackSource,
    stack,
    errors: g.errors,
    captures,
  };
  return inconsistent === undefined ? out : { ...out, inconsistent };
}
