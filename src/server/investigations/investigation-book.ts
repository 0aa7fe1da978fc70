/**
 * The investigations the server knows, in memory beside their rows in the store: each one's
 * checked definition, how often it fired and when last, and whether it is closed. The limits
 * (at most N firings, at most once per interval, until a date) are checked and a firing
 * reserved in one synchronous step, so two triggers at once cannot both pass a limit of one.
 */
import {
  type InvestigationBody,
  type InvestigationDefinition,
  parseInvestigation,
} from '../../api/investigations.js';
import type { FiringState } from '../../store/shared/shared-store.js';
import type { InvestigationRecord } from '../../store/store.js';

/** One investigation as the server tracks it. */
export interface LiveInvestigation {
  readonly id: number;
  readonly record: InvestigationRecord;
  readonly body: InvestigationBody;
  readonly def: InvestigationDefinition;
  fires: number;
  /** Epoch ms of the last firing. */
  lastFiredAt?: number;
  closedAt?: string;
  closedBy?: string;
  /** The last thing that went wrong outside a firing (a scheduled snapshot, a probe filter), for `show`. */
  lastProblem?: string;
}

/** Why an investigation may not fire now, or undefined when it may. */
export function refusal(inv: LiveInvestigation, now: number): string | undefined {
  if (inv.closedAt) return 'it is closed';
  if (inv.def.until && now > Date.parse(inv.def.until)) return `its end (${inv.def.until}) has passed`;
  if (inv.def.maxFires !== undefined && inv.fires >= inv.def.maxFires)
    return `it fired ${inv.fires} times, its limit`;
  if (inv.lastFiredAt !== undefined && now - inv.lastFiredAt < inv.def.minIntervalMs)
    return `it fired less than ${inv.def.minIntervalMs} ms ago`;
  return undefined;
}

/**
 * An investigation's state with what PostgreSQL holds of every server's firings (servers
 * sharing it): the larger count, the later firing, closed if closed anywhere.
 */
export function seenFleetWide(inv: LiveInvestigation, s: FiringState): LiveInvestigation {
  const last = Math.max(inv.lastFiredAt ?? 0, s.lastFiredAt ?? 0);
  return {
    ...inv,
    fires: Math.max(inv.fires, s.fires),
    ...(last > 0 ? { lastFiredAt: last } : {}),
    ...(s.closed && !inv.closedAt ? { closedAt: new Date(s.now).toISOString() } : {}),
  };
}

/** Whether an investigation can ever fire again (open, before its end, under its count). */
export function active(inv: LiveInvestigation, now: number): boolean {
  const why = refusal(inv, now);
  return why === undefined || why.startsWith('it fired less than');
}

/** The investigations of a server by id. */
export class InvestigationBook {
  private readonly byId = new Map<number, LiveInvestigation>();

  /** Adds (or replaces) one from its stored record; a definition that no longer parses is skipped and returned as a problem. */
  load(r: InvestigationRecord): LiveInvestigation {
    const body = JSON.parse(r.definition) as InvestigationBody;
    const inv: LiveInvestigation = {
      id: r.id,
      record: r,
      body,
      def: parseInvestigation(body),
      fires: r.fires,
      ...(r.lastFiredAt ? { lastFiredAt: Date.parse(r.lastFiredAt) } : {}),
      ...(r.closedAt ? { closedAt: r.closedAt } : {}),
      ...(r.closedBy ? { closedBy: r.closedBy } : {}),
    };
    this.byId.set(r.id, inv);
    return inv;
  }

  /** Every investigation, oldest first. */
  all(): LiveInvestigation[] {
    return [...this.byId.values()].sort((a, b) => a.id - b.id);
  }

  /** The investigations that are open. */
  open(): LiveInvestigation[] {
    return this.all().filter((i) => !i.closedAt);
  }

  /** One by id or name (the open one of that name first, else the newest). */
  find(ref: { id: number } | { name: string }): LiveInvestigation | undefined {
    if ('id' in ref) return this.byId.get(ref.id);
    const named = this.all().filter((i) => i.def.name === ref.name);
    return named.find((i) => !i.closedAt) ?? named.at(-1);
  }

  /** Reserves a firing now if the limits allow: counts it and returns undefined, else says why not. */
  reserve(inv: LiveInvestigation, now: number): string | undefined {
    const why = refusal(inv, now);
    if (why) return why;
    inv.fires++;
    inv.lastFiredAt = now;
    return undefined;
  }
}
