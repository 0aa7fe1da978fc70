/**
 * Whether an answer from "the latest snapshot" covers the fleet: a snapshot taken with a
 * selector (or one where processes failed) holds fewer processes than the agents monitor, and
 * every query of the latest snapshot answers from it until the next one. The answer then says
 * which snapshot it came from and how much of the fleet that holds.
 */
import type { PartialSnapshot } from '../api/responses.js';
import type { ProcessFilter } from '../store/process-filter.js';
import type { QueryScope } from '../store/store.js';
import type { ServerContext } from './context.js';
import { liveFacts, visible } from './program-scope.js';
import { parseSelector } from './selector.js';

/** The partial-snapshot note of an answer over `scope` from `snapshotId`, or undefined when none is due. */
export async function partialSnapshot(
  ctx: ServerContext,
  scope: QueryScope,
  snapshotId: number | undefined,
  only?: ProcessFilter,
): Promise<PartialSnapshot | undefined> {
  if (!('latest' in scope) || snapshotId === undefined) return undefined;
  const fleetProcesses = ctx.registry
    .processes(parseSelector(undefined))
    .filter((p) => visible(only, liveFacts(p))).length;
  const info = (await ctx.store.listSnapshots(only)).find((s) => s.snapshotId === snapshotId);
  if (!info || info.processes >= fleetProcesses) return undefined;
  const selector = (await ctx.meta.get(snapshotId))?.selector;
  return {
    snapshotId,
    processes: info.processes,
    fleetProcesses,
    ...(selector ? { selector } : {}),
  };
}
