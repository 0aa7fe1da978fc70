/**
 * The triggers that come from events: a probe's events (optionally filtered by SQL over the
 * probe's table, read after a cursor so each event is looked at once), and the request
 * signals of traces (a request slower than T still in flight; a kept trace that ended in an
 * error or a panic). Each matching event fires the investigation if its limits allow.
 */
import type { Trigger } from '../../api/investigations.js';
import { ident, literal } from '../../store/sql-text.js';
import type { Store } from '../../store/store.js';
import type { StoredProbeBatch } from '../probe-book.js';
import type { RequestSignal, SlowRequestSignal } from '../request-signals.js';
import type { Firings } from './firing.js';
import { active, type InvestigationBook, type LiveInvestigation, refusal } from './investigation-book.js';

type ProbeTrigger = Extract<Trigger, { kind: 'probe' }>;

/** Slow requests waited on at once, over all investigations (a bound on timers, not a limit users meet). */
const MAX_WAITING = 10_000;

/**
 * The SQL that finds the first event after `seq` that a probe trigger fires on, among the
 * events of `agents` (this server's: on servers sharing a store, every server's events are in
 * the probe's table, and each event is looked at by the server its agent sent it to).
 */
export function probeHitSql(t: ProbeTrigger, seq: number, agents: ReadonlySet<string>): string {
  const mine = [...agents].map((a) => literal(a)).join(', ');
  return (
    `SELECT seq, process_id, goroutine_id FROM ${ident(t.probe)} WHERE seq > ${seq}` +
    ` AND seq IN (SELECT seq FROM probe_events WHERE seq > ${seq} AND agent_id IN (${mine || 'NULL'}))` +
    `${t.where ? ` AND (${t.where})` : ''} ORDER BY seq LIMIT 1`
  );
}

/** Matches events to the open investigations' triggers. */
export class EventTriggers {
  /** The agents whose probe batches this server stored (its own; their events are its to look at). */
  private readonly agents = new Set<string>();
  /** Per investigation and probe: the last event seq looked at. */
  private readonly cursors = new Map<string, number>();
  private readonly busy = new Set<string>();
  private readonly again = new Set<string>();
  /** Per investigation and request: a slow trigger waiting for its `over` (see later()). */
  private readonly waiting = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly store: Store,
    private readonly book: InvestigationBook,
    private readonly firings: Firings,
  ) {}

  /** Sets the cursors of an investigation's probe triggers at the newest stored event (older events never fire it). */
  async arm(inv: LiveInvestigation): Promise<void> {
    const probes = inv.def.triggers.filter((t): t is ProbeTrigger => t.kind === 'probe');
    if (probes.length === 0) return;
    const r = await this.store.query('SELECT coalesce(max(seq), 0) FROM probe_events', { latest: true });
    const seq = Number(r.rows[0]?.[0] ?? 0);
    for (const t of probes) this.cursors.set(`${inv.id}\u0000${t.probe}`, seq);
  }

  /** A probe batch was stored: look for hits of the probes it has events of. */
  probeBatch(b: StoredProbeBatch): void {
    const names = new Set(b.events.map((e) => e.probe));
    if (names.size === 0) return;
    this.agents.add(b.agentId);
    const now = Date.now();
    for (const inv of this.book.open()) {
      if (!active(inv, now)) continue;
      for (const t of inv.def.triggers)
        if (t.kind === 'probe' && names.has(t.probe)) this.firings.track(this.look(inv, t));
    }
  }

  private async look(inv: LiveInvestigation, t: ProbeTrigger): Promise<void> {
    const key = `${inv.id}\u0000${t.probe}`;
    if (this.busy.has(key)) {
      this.again.add(key);
      return;
    }
    this.busy.add(key);
    try {
      do {
        this.again.delete(key);
        const from = this.cursors.get(key) ?? 0;
        try {
          const newest = await this.store.query(`SELECT coalesce(max(seq), 0) FROM ${ident(t.probe)}`, {
            latest: true,
          });
          const upTo = Number(newest.rows[0]?.[0] ?? from);
          // While the limits refuse, events pass unexamined: they could not fire it.
          let next = Math.max(from, upTo);
          if (refusal(inv, Date.now()) === undefined) {
            const r = await this.store.query(probeHitSql(t, from, this.agents), { latest: true });
            const hit = r.rows[0];
            if (hit && Number(hit[0]) <= upTo) {
              const [seq, process, goroutine] = hit;
              const refused = await this.firings.fire(inv, {
                trigger: 'probe',
                detail: { probe: t.probe, seq: Number(seq), ...(t.where ? { where: t.where } : {}) },
                process: String(process),
                goroutine: Number(goroutine),
              });
              // Fired: the events after this one are looked at too (the limits decide).
              if (refused === undefined && Number(seq) < upTo) {
                next = Number(seq);
                this.again.add(key);
              }
            }
          }
          this.cursors.set(key, next);
        } catch (e) {
          inv.lastProblem = `probe trigger ${t.probe}: ${(e as Error).message.split('\n')[0]}`;
        }
      } while (this.again.has(key));
    } finally {
      this.busy.delete(key);
    }
  }

  /** A request signal from the trace side: fire the investigations whose slow/error triggers match. */
  requestSignal(s: RequestSignal): void {
    if (s.kind === 'kept') this.ended(s.requestId);
    for (const inv of this.book.open())
      for (const t of inv.def.triggers) {
        const sameTrace = (name: string | undefined) => name === undefined || name === s.trace;
        if (t.kind === 'slow' && sameTrace(t.trace) && s.kind === 'slow') {
          const wait = (t.overMs ?? 0) - s.elapsedMs;
          if (wait > 0) this.later(inv, s, wait);
          else this.fireOn(inv, s, 'slow');
          break;
        }
        if (
          t.kind === 'error' &&
          sameTrace(t.trace) &&
          s.kind === 'kept' &&
          (s.outcome === 'error' || s.outcome === 'panic')
        ) {
          this.fireOn(inv, s, 'error');
          break;
        }
      }
  }

  /** Cancels the waits of every investigation on this request: it ended (its trace was kept). */
  private ended(requestId: string): void {
    for (const [key, timer] of this.waiting)
      if (key.endsWith(`\u0000${requestId}`)) {
        clearTimeout(timer);
        this.waiting.delete(key);
      }
  }

  /**
   * The agent notices a request once, at its trace's `slower_than`; a trigger with a larger
   * `over` fires `wait` ms later unless the request's kept trace arrived in between (a request
   * that ended less than the agent's send interval before `over` may still fire it).
   */
  private later(inv: LiveInvestigation, s: SlowRequestSignal, wait: number): void {
    const key = `${inv.id}\u0000${s.requestId}`;
    if (this.waiting.has(key) || this.waiting.size >= MAX_WAITING) return;
    const timer = setTimeout(() => {
      this.waiting.delete(key);
      if (this.book.open().includes(inv)) this.fireOn(inv, { ...s, elapsedMs: s.elapsedMs + wait }, 'slow');
    }, wait);
    timer.unref();
    this.waiting.set(key, timer);
  }

  private fireOn(inv: LiveInvestigation, s: RequestSignal, trigger: 'slow' | 'error'): void {
    const firing = this.firings.fire(inv, {
      trigger,
      detail: { ...s },
      process: s.process,
      agentId: s.agentId,
      pid: s.pid,
      goroutine: s.goroutine,
      requestId: s.requestId,
      // A kept trace is kept; a slow one is kept by the trace side's rule when asked to.
      traceKept: s.kind === 'kept' || inv.def.keepTrace,
    });
    this.firings.track(firing);
  }

  /** Drops the waits of slow triggers (the server stops). */
  close(): void {
    for (const timer of this.waiting.values()) clearTimeout(timer);
    this.waiting.clear();
  }
}
