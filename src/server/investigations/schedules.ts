/**
 * Scheduled snapshots: an investigation with a schedule trigger snapshots its selector every
 * N (labelled `investigation=NAME`, `schedule=NAME`, so dashboards select its time series),
 * drops its snapshots beyond its retention (a count, an age), and then either fires (a
 * schedule alone) or checks its SQL conditions over that snapshot and fires when one holds.
 * After a restart the next tick comes one interval after the last firing.
 */
import type { Trigger } from '../../api/investigations.js';
import type { AuditRecord } from '../../store/audit-types.js';
import type { TickClaim } from '../../store/shared/shared-store.js';
import type { Store } from '../../store/store.js';
import type { Orchestrator } from '../orchestrator.js';
import { parseSelector } from '../selector.js';
import type { Firings } from './firing.js';
import { active, type LiveInvestigation } from './investigation-book.js';

type Schedule = Extract<Trigger, { kind: 'schedule' }>;

/** Whether a SQL condition's answer says to fire: a first cell that is true or a non-zero number. */
export function conditionHolds(cell: unknown): boolean {
  return (
    cell === true ||
    (typeof cell === 'number' && cell !== 0) ||
    (typeof cell === 'string' && /^(true|t|1)$/i.test(cell))
  );
}

/** Claims a schedule's tick among servers sharing PostgreSQL: won, or the ms until one may be. */
export type ClaimTick = (inv: LiveInvestigation, everyMs: number) => Promise<TickClaim>;

/** After a lost claim, how much later than the winner's period to try again, ms. */
const CLAIM_SLACK_MS = 20;

/** The timers of every scheduled investigation. */
export class Schedules {
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly orchestrator: Orchestrator,
    private readonly firings: Firings,
    private readonly audit: (r: AuditRecord) => void,
    /** Servers sharing PostgreSQL: each tick is taken by the one server that claims it. */
    private readonly claim?: ClaimTick,
  ) {}

  /** Starts (or restarts) the timer of an investigation that has a schedule. */
  start(inv: LiveInvestigation): void {
    const s = scheduleOf(inv);
    if (!s || this.stopped) return;
    this.stop(inv.id);
    const since = inv.lastFiredAt ?? Date.now();
    const wait = Math.max(0, since + s.everyMs - Date.now());
    this.arm(inv, s, inv.lastFiredAt === undefined ? s.everyMs : wait);
  }

  /** Stops an investigation's timer. */
  stop(id: number): void {
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
  }

  /** Stops every timer (the server is closing). */
  close(): void {
    this.stopped = true;
    for (const id of [...this.timers.keys()]) this.stop(id);
  }

  private arm(inv: LiveInvestigation, s: Schedule, ms: number): void {
    if (this.stopped || !active(inv, Date.now())) return;
    const timer = setTimeout(() => {
      const started = Date.now();
      let retry: number | undefined;
      const tick = this.tick(inv, s)
        .then((r) => {
          retry = r;
        })
        .finally(() => {
          if (this.timers.get(inv.id) === timer)
            this.arm(inv, s, retry ?? Math.max(0, started + s.everyMs - Date.now()));
        });
      this.firings.track(tick);
    }, ms);
    timer.unref();
    this.timers.set(inv.id, timer);
  }

  /**
   * One tick: the snapshot, its retention, then the firing or the conditions. Among servers
   * sharing PostgreSQL, only the one that claims the tick takes it; the others get the ms until
   * the next tick may be claimed.
   */
  async tick(inv: LiveInvestigation, s: Schedule): Promise<number | undefined> {
    if (!active(inv, Date.now())) return undefined;
    if (this.claim) {
      try {
        const c = await this.claim(inv, s.everyMs);
        if (!c.won) return c.waitMs + CLAIM_SLACK_MS;
      } catch (e) {
        inv.lastProblem = `scheduled snapshot at ${new Date().toISOString()}: its tick could not be claimed in PostgreSQL: ${(e as Error).message}`;
        return undefined;
      }
    }
    let snapshotId: number;
    try {
      const taken = await this.orchestrator.snapshot({
        selector: parseSelector(s.select),
        labels: { investigation: inv.def.name, schedule: inv.def.name },
        requestedBy: `investigation:${inv.def.name}`,
      });
      snapshotId = taken.snapshotId;
      this.audit({
        action: 'snapshot',
        actor: { name: `investigation:${inv.def.name}` },
        source: 'server',
        outcome: 'ok',
        details: { selector: s.select, labels: taken.labels, snapshotId, requestId: taken.requestId },
      });
    } catch (e) {
      inv.lastProblem = `scheduled snapshot at ${new Date().toISOString()}: ${(e as Error).message}`;
      return undefined;
    }
    const conditions = inv.def.triggers.filter((t) => t.kind === 'sql');
    let firedOn: number | undefined;
    if (conditions.length === 0)
      await this.firings.fire(inv, { trigger: 'schedule', detail: { snapshotId }, snapshotId });
    for (const c of conditions) {
      try {
        const r = await this.store.query(c.condition, { snapshot: snapshotId });
        const cell = r.rows[0]?.[0];
        if (conditionHolds(cell)) {
          const refused = await this.firings.fire(inv, {
            trigger: 'sql',
            detail: { snapshotId, condition: c.condition, value: cell ?? null },
            snapshotId,
          });
          if (refused === undefined) firedOn = snapshotId;
          break;
        }
      } catch (e) {
        inv.lastProblem = `sql condition over snapshot ${snapshotId}: ${(e as Error).message}`;
      }
    }
    await this.retain(inv, s, firedOn);
    return undefined;
  }

  /** Deletes the schedule's snapshots beyond its count and age, keeping those a condition fired on. */
  private async retain(inv: LiveInvestigation, s: Schedule, firedOn: number | undefined): Promise<void> {
    if (s.keep === undefined && s.keepForMs === undefined) return;
    // This tick's firing may not be written yet: its snapshot is kept by id.
    const fired = new Set<number | undefined>([firedOn]);
    for (const id of (await this.store.firings(inv.id, 100_000))
      .filter((f) => f.trigger !== 'schedule' && f.snapshotId !== undefined)
      .map((f) => f.snapshotId))
      fired.add(id);
    const mine = (await this.store.listSnapshots())
      .filter((x) => x.labels.schedule === inv.def.name && x.labels.investigation === inv.def.name)
      .filter((x) => !fired.has(x.snapshotId))
      .reverse(); // newest first
    const cutoff = s.keepForMs !== undefined ? Date.now() - s.keepForMs : undefined;
    const drop = mine
      .filter(
        (x, i) =>
          (s.keep !== undefined && i >= s.keep) || (cutoff !== undefined && Date.parse(x.createdAt) < cutoff),
      )
      .map((x) => x.snapshotId);
    if (drop.length > 0) await this.store.deleteSnapshots(drop);
  }
}

/** An investigation's schedule trigger, if it has one. */
export function scheduleOf(inv: LiveInvestigation): Schedule | undefined {
  return inv.def.triggers.find((t): t is Schedule => t.kind === 'schedule');
}
