/**
 * Collecting our own garbage before pausing a target. V8 collects when an allocation finds
 * its young generation full: after decoding a large snapshot, that happens at the next
 * allocation, which may be inside the next pause (a scavenge of 5–20 ms, a mark-compact of
 * 40 ms, measured at 10k goroutines). Collecting right before the pause moves that cost out.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type GcFunction = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => void;

let gcFn: GcFunction | null | undefined;

/** V8's gc(), made available without a command-line flag; null where it cannot be. */
function gcFunction(): GcFunction | null {
  if (gcFn !== undefined) return gcFn;
  const exposed = (globalThis as { gc?: GcFunction }).gc;
  if (typeof exposed === 'function') {
    gcFn = exposed;
    return gcFn;
  }
  try {
    setFlagsFromString('--expose-gc');
    const fn = runInNewContext('gc') as unknown;
    gcFn = typeof fn === 'function' ? (fn as GcFunction) : null;
  } catch {
    gcFn = null;
  }
  return gcFn;
}

/**
 * Collects garbage now, synchronously, when the heap is large enough for a collection to be
 * likely soon: the young generation above `minorAboveBytes` of heap, the whole heap above
 * `majorAboveBytes`. A small heap is left alone: collecting it costs little but sets off
 * background work (sweeping, compaction) that would compete for the CPUs during the pause
 * (measured: 1.2 ms pauses became 2 ms at 1k goroutines). Never throws.
 */
export function collectGarbageNow(minorAboveBytes = 48 << 20, majorAboveBytes = 128 << 20): void {
  const used = process.memoryUsage().heapUsed;
  if (used < minorAboveBytes) return;
  const gc = gcFunction();
  if (!gc) return;
  try {
    // A full collection is gc() without options: on Node 20 (V8 11.3) gc({ type: 'major' })
    // collected nothing (a 220 MB dead graph stayed at 220 MB; test/common/gc.test.ts).
    if (used > majorAboveBytes) gc();
    else gc({ type: 'minor', execution: 'sync' });
  } catch {
    // Best effort.
  }
}
