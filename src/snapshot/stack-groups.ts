/**
 * Groups a snapshot's goroutines by identical stack, like a smarter `goroutine?debug=2`:
 * one entry per distinct stack with its count, states and the longest wait.
 */
import type { ProcessSnapshot, SnapshotGoroutine } from './snapshot-types.js';

/** Goroutines that share one stack (the frames Go would print, with file:line). */
export interface StackGroup {
  readonly key: string;
  readonly goroutines: readonly SnapshotGoroutine[];
  /** Distinct "status" or "waiting: reason" labels with their counts, most common first. */
  readonly states: readonly { readonly state: string; readonly count: number }[];
  /** Longest wait among them (ns), when recorded. */
  readonly longestWaitNs: number | undefined;
  readonly system: boolean;
}

/** What a goroutine is doing in one word or phrase: its wait reason when waiting, else its status. */
export function stateOf(g: SnapshotGoroutine): string {
  return g.status === 'waiting' && g.waitReason ? g.waitReason : g.status;
}

/** The frames Go itself would print (hidden runtime frames left out). */
export function visibleFrames(g: SnapshotGoroutine): SnapshotGoroutine['stack']['frames'] {
  const shown = g.stack.frames.filter((f) => !f.hidden);
  return shown.length > 0 ? shown : g.stack.frames;
}

/** Groups goroutines by stack; groups sorted by size, then by longest wait. */
export function groupByStack(snap: ProcessSnapshot): StackGroup[] {
  const groups = new Map<string, SnapshotGoroutine[]>();
  for (const g of snap.goroutines) {
    const key = visibleFrames(g)
      .map((f) => `${f.function} ${f.file}:${f.line}`)
      .join('\n');
    const list = groups.get(key);
    if (list) list.push(g);
    else groups.set(key, [g]);
  }
  const out: StackGroup[] = [];
  for (const [key, gs] of groups) {
    const counts = new Map<string, number>();
    let longest: number | undefined;
    for (const g of gs) {
      counts.set(stateOf(g), (counts.get(stateOf(g)) ?? 0) + 1);
      if (g.waitDurationNs !== undefined) longest = Math.max(longest ?? 0, g.waitDurationNs);
    }
    const states = [...counts].map(([state, count]) => ({ state, count })).sort((a, b) => b.count - a.count);
    out.push({ key, goroutines: gs, states, longestWaitNs: longest, system: gs.every((g) => g.system) });
  }
  return out.sort(
    (a, b) => b.goroutines.length - a.goroutines.length || (b.longestWaitNs ?? 0) - (a.longestWaitNs ?? 0),
  );
}
