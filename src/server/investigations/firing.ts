/**
 * One firing of an investigation: its limits checked and the firing reserved, then its
 * actions — a snapshot of the process the trigger came from, of its program, or of a
 * selector (through the orchestrator, labelled with the investigation), the firing recorded
 * with the request it was about, the report run over that snapshot, and the webhook called.
 * Nothing here throws into a trigger: what fails is recorded on the firing.
 */
import type { Trigger } from '../../api/investigations.js';
import type { AuditRecord } from '../../store/audit-types.js';
import type { PgInvestigationFleet } from '../../store/shared/shared-store.js';
import type { FiringInput, Store } from '../../store/store.js';
import type { Orchestrator } from '../orchestrator.js';
import type { Registry } from '../registry.js';
import { parseSelector } from '../selector.js';
import {
  type InvestigationBook,
  type LiveInvestigation,
  refusal,
  seenFleetWide,
} from './investigation-book.js';
import { runReport } from './report-runner.js';
import { callWebhook } from './webhook.js';

/** What a trigger saw. */
export interface TriggerHit {
  readonly trigger: Trigger['kind'];
  readonly detail: Readonly<Record<string, unknown>>;
  /** The process it came from as stored (`hostname:pid`). */
  readonly process?: string;
  readonly agentId?: string;
  readonly pid?: number;
  readonly goroutine?: number;
  readonly requestId?: string;
  /** The snapshot the trigger itself took (a schedule's). */
  readonly snapshotId?: number;
  /** The trace side kept (or was asked to keep) the request's trace. */
  readonly traceKept?: boolean;
}

/** What a firing needs from the server. */
export interface FiringDeps {
  readonly store: Store;
  readonly registry: Registry;
  readonly orchestrator: Orchestrator;
  readonly book: InvestigationBook;
  readonly audit: (r: AuditRecord) => void;
  readonly log: (line: string) => void;
  /** Told of each firing once its actions are done (for `/metrics`): `error` when one failed. */
  readonly fired?: (investigation: string, outcome: 'ok' | 'error') => void;
  /** Servers sharing PostgreSQL: each firing is reserved there, so the limits hold fleet-wide. */
  readonly fleet?: PgInvestigationFleet;
  /** This server's id in the fleet registry, once it has one: its firings are noted as under way there. */
  readonly serverId?: () => string | undefined;
}

/** A firing's row reserved before its actions run (servers sharing PostgreSQL). */
interface Reserved {
  readonly firingId: number;
  readonly firedAt: string;
}

/** The firing row of a hit, as it starts. */
function firingInput(inv: LiveInvestigation, hit: TriggerHit): Omit<FiringInput, 'firedAt'> {
  return {
    investigationId: inv.id,
    investigation: inv.def.name,
    trigger: hit.trigger,
    detail: hit.detail,
    ...(hit.process ? { process: hit.process } : {}),
    ...(hit.goroutine !== undefined ? { goroutine: hit.goroutine } : {}),
    ...(hit.requestId ? { requestId: hit.requestId } : {}),
    traceKept: hit.traceKept === true,
  };
}

/** Runs firings and keeps track of those still running (so a test or a stop can wait for them). */
export class Firings {
  private readonly running = new Set<Promise<unknown>>();

  constructor(private readonly deps: FiringDeps) {}

  /**
   * Fires `inv` for `hit` if its limits allow; resolves to why not, or undefined when it fired.
   * Alone, a server reserves the firing in memory in one synchronous step (before this returns
   * its promise); servers sharing PostgreSQL reserve it there, in one transaction over every
   * server's firings (what this server knows refuses first: its counts never exceed those).
   */
  async fire(inv: LiveInvestigation, hit: TriggerHit): Promise<string | undefined> {
    const { fleet, book } = this.deps;
    if (!fleet) {
      const why = book.reserve(inv, Date.now());
      if (why) return why;
      this.track(this.run(inv, hit));
      return undefined;
    }
    const local = refusal(inv, Date.now());
    if (local) return local;
    let r: Awaited<ReturnType<PgInvestigationFleet['reserveFiring']>>;
    try {
      r = await fleet.reserveFiring(
        firingInput(inv, hit),
        (s) => refusal(seenFleetWide(inv, s), s.now),
        this.deps.serverId?.(),
      );
    } catch (e) {
      const why = `its firing could not be reserved in PostgreSQL: ${(e as Error).message}`;
      inv.lastProblem = `${hit.trigger} trigger at ${new Date().toISOString()}: ${why}`;
      return why;
    }
    Object.assign(inv, seenFleetWide(inv, r.state));
    if ('refused' in r) return r.refused;
    inv.fires = Math.max(inv.fires, r.state.fires + 1);
    inv.lastFiredAt = Math.max(inv.lastFiredAt ?? 0, Date.parse(r.firedAt));
    const firingId = r.firingId;
    this.track(this.run(inv, hit, r).finally(() => fleet.finishFiring(firingId).catch(() => undefined)));
    return undefined;
  }

  /** Adds work to wait for in `idle()`. */
  track(p: Promise<unknown>): void {
    const q = p.catch((e: unknown) => this.deps.log(`investigation: ${(e as Error).message}`));
    this.running.add(q);
    void q.finally(() => this.running.delete(q));
  }

  /** Resolves when every firing started so far is done (webhooks included). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  private selectorFor(inv: LiveInvestigation, hit: TriggerHit): string | undefined {
    const action = inv.def.snapshot;
    if (action.kind === 'none') return undefined;
    if (action.kind === 'select') return action.select;
    const p = this.deps.registry
      .processes(parseSelector(''))
      .find((x) =>
        hit.agentId !== undefined && hit.pid !== undefined
          ? x.agentId === hit.agentId && x.pid === hit.pid
          : `${x.hostname}:${x.pid}` === hit.process,
      );
    if (!p) throw new Error(`the process ${hit.process ?? '(none named)'} is not monitored now (it exited?)`);
    if (action.kind === 'process') return `key=${p.key}`;
    return p.programs[0] ? `program=${p.programs[0]}` : `executable=${p.executable}`;
  }

  private async snapshot(inv: LiveInvestigation, hit: TriggerHit): Promise<number | undefined> {
    const selector = this.selectorFor(inv, hit);
    if (selector === undefined) return hit.snapshotId;
    const taken = await this.deps.orchestrator.snapshot({
      selector: parseSelector(selector),
      labels: {
        investigation: inv.def.name,
        trigger: hit.trigger,
        ...(hit.requestId ? { request: hit.requestId } : {}),
      },
      requestedBy: `investigation:${inv.def.name}`,
    });
    this.deps.audit({
      action: 'snapshot',
      actor: { name: `investigation:${inv.def.name}` },
      source: 'server',
      outcome: 'ok',
      details: { selector, labels: taken.labels, snapshotId: taken.snapshotId, requestId: taken.requestId },
    });
    return taken.snapshotId;
  }

  private async run(inv: LiveInvestigation, hit: TriggerHit, reserved?: Reserved): Promise<void> {
    const firedAt = reserved?.firedAt ?? new Date().toISOString();
    // The snapshot starts first: a slow request is caught while it is still in flight.
    const snap = this.snapshot(inv, hit).then(
      (id) => ({ id }),
      (e: unknown) => ({ error: (e as Error).message }),
    );
    const { store } = this.deps;
    const firingId = reserved?.firingId ?? (await store.addFiring({ ...firingInput(inv, hit), firedAt }));
    const s = await snap;
    const snapshotId = 'id' in s ? s.id : undefined;
    const errors = 'error' in s ? [`snapshot: ${s.error}`] : [];
    const rows =
      inv.def.report.length > 0 && (snapshotId !== undefined || inv.def.snapshot.kind === 'none')
        ? await runReport(store, inv.def.report, {
            firingId,
            investigationId: inv.id,
            ...(snapshotId !== undefined ? { snapshotId } : {}),
            ...(hit.requestId ? { requestId: hit.requestId } : {}),
          })
        : [];
    try {
      await store.addReportRows(rows);
    } catch (e) {
      errors.push(`report: ${(e as Error).message}`);
    }
    const reportRows = rows.filter((r) => r.row !== undefined).length;
    await store.patchFiring(firingId, {
      ...(snapshotId !== undefined ? { snapshotId } : {}),
      reportRows,
      ...(errors.length > 0 ? { error: errors.join('; ') } : {}),
    });
    this.deps.fired?.(inv.def.name, errors.length > 0 ? 'error' : 'ok');
    this.deps.audit({
      action: 'investigation.fire',
      actor: { name: `investigation:${inv.def.name}` },
      source: 'server',
      outcome: errors.length > 0 ? 'error' : 'ok',
      details: {
        investigation: inv.def.name,
        investigationId: inv.id,
        firingId,
        trigger: hit.trigger,
        ...(snapshotId !== undefined ? { snapshotId } : {}),
        ...(hit.requestId ? { requestId: hit.requestId } : {}),
        ...(errors.length > 0 ? { error: errors.join('; ') } : {}),
      },
    });
    const hook = inv.def.webhook;
    if (hook) {
      const outcome = await callWebhook(hook, {
        investigation: inv.def.name,
        investigationId: inv.id,
        question: inv.def.question,
        firingId,
        firedAt,
        trigger: hit.trigger,
        detail: hit.detail,
        ...(hit.process ? { process: hit.process } : {}),
        ...(hit.goroutine !== undefined ? { goroutine: hit.goroutine } : {}),
        ...(hit.requestId ? { requestId: hit.requestId } : {}),
        ...(snapshotId !== undefined ? { snapshotId } : {}),
        reportRows,
        ...(errors.length > 0 ? { error: errors.join('; ') } : {}),
      });
      await store.patchFiring(firingId, { webhook: outcome });
      if (!/^2\d\d$/.test(outcome))
        this.deps.log(`investigation ${inv.def.name}: webhook ${hook.url} ${outcome}`);
    }
  }
}
