/**
 * Standing investigations on a server (the room's entry): loaded from the store at start,
 * added and closed by users, their schedules and triggers armed, their firings run. The
 * store keeps everything (definitions, firings, reports), so a restart resumes where it
 * stood: open investigations, their counts, their schedules. Servers sharing PostgreSQL each
 * arm every open investigation: firings are reserved there and schedule ticks claimed there
 * (firing.ts, schedules.ts), and what one server adds or closes the others pick up at once
 * (NOTIFY) or at their next look (every REFRESH_MS).
 */
import { hostname } from 'node:os';
import type {
  FiringView,
  InvestigationView,
  MissingProbe,
  MissingTrace,
  Unresolved,
} from '../../api/investigation-views.js';
import { type InvestigationBody, parseInvestigation } from '../../api/investigations.js';
import type { AuditRecord } from '../../store/audit-types.js';
import type { PgInvestigationFleet } from '../../store/shared/shared-store.js';
import type { Store } from '../../store/store.js';
import { HttpError } from '../http-errors.js';
import type { Orchestrator } from '../orchestrator.js';
import type { AgentProbeStatus, ProbeBook } from '../probe-book.js';
import type { Registry } from '../registry.js';
import type { RequestSignals } from '../request-signals.js';
import { checkInvestigation } from './checks.js';
import { EventTriggers } from './event-triggers.js';
import { Firings } from './firing.js';
import { InvestigationBook, type LiveInvestigation } from './investigation-book.js';
import { Schedules } from './schedules.js';
import { missingProbes, missingTraces, specNames } from './spec-dependents.js';

export { droppedDependencyWarnings } from './spec-dependents.js';

/** What investigations need from the server. */
export interface InvestigationDeps {
  readonly store: Store;
  readonly registry: Registry;
  readonly orchestrator: Orchestrator;
  readonly probes: ProbeBook;
  readonly signals: RequestSignals;
  readonly audit: (r: AuditRecord) => void;
  readonly log: (line: string) => void;
  /** Told of each firing once its actions are done (for `/metrics`). */
  readonly fired?: (investigation: string, outcome: 'ok' | 'error') => void;
  /** Servers sharing PostgreSQL: firings reserved, ticks claimed and changes announced there. */
  readonly fleet?: {
    readonly investigations: PgInvestigationFleet;
    /** This server's id in the fleet registry, once it has one. */
    readonly serverId: () => string | undefined;
    /**
     * Every live server's agents' latest probe status (fleet-view.ts: this server's from
     * memory, the others' from PostgreSQL), once this server has joined the fleet.
     */
    readonly probeStatuses: () => AgentProbeStatus[] | undefined;
  };
}

/** How often a server sharing PostgreSQL reads the investigations without a notification, ms. */
const REFRESH_MS = 2000;
/**
 * A firing under way on a server silent this long (no heartbeat, seconds) is marked as left
 * unfinished: well past the 5 s after which the fleet counts a server dead, so a server only
 * slowed down (a loaded machine) is not taken for one that stopped.
 */
const ABANDONED_S = 30;

/** Firings shown by `show`. */
const SHOWN_FIRINGS = 20;

/** The standing investigations of one server. */
export class Investigations {
  private readonly book = new InvestigationBook();
  private readonly firings: Firings;
  private readonly schedules: Schedules;
  private readonly events: EventTriggers;
  private unsubscribe: (() => void) | undefined;
  private stopped = false;
  private refreshTimer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private refreshAgain = false;

  constructor(private readonly deps: InvestigationDeps) {
    const { fleet, ...rest } = deps;
    this.firings = new Firings({
      ...rest,
      book: this.book,
      ...(fleet ? { fleet: fleet.investigations, serverId: fleet.serverId } : {}),
    });
    this.schedules = new Schedules(
      deps.store,
      deps.orchestrator,
      this.firings,
      deps.audit,
      fleet
        ? (inv, everyMs) =>
            fleet.investigations.claimTick(
              inv.id,
              everyMs,
              fleet.serverId() ?? `${hostname()}:${process.pid}`,
            )
        : undefined,
    );
    this.events = new EventTriggers(deps.store, this.book, this.firings);
  }

  /** Loads the stored investigations and arms the open ones. */
  async start(): Promise<void> {
    for (const r of await this.deps.store.investigations()) {
      let inv: LiveInvestigation;
      try {
        inv = this.book.load(r);
      } catch (e) {
        this.deps.log(`investigation ${r.name} (${r.id}) is not loaded: ${(e as Error).message}`);
        continue;
      }
      if (!inv.closedAt) await this.arm(inv);
    }
    this.deps.probes.onStored((b) => {
      if (!this.stopped) this.events.probeBatch(b);
    });
    this.unsubscribe = this.deps.signals.subscribe((s) => this.events.requestSignal(s));
    const fleet = this.deps.fleet;
    if (fleet) {
      fleet.investigations.listen(() => void this.refresh());
      this.refreshTimer = setInterval(() => void this.refresh(), REFRESH_MS);
      this.refreshTimer.unref();
    }
  }

  /**
   * Servers sharing PostgreSQL: reads every investigation there and catches up with the other
   * servers: one added elsewhere is loaded and armed, one closed elsewhere disarmed, counts and
   * last firings taken when larger. One read at a time; a call during one asks for another.
   */
  refresh(): Promise<void> {
    if (!this.deps.fleet || this.stopped) return Promise.resolve();
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.refreshAgain = false;
        try {
          await this.catchUp();
        } catch (e) {
          this.deps.log(`investigations: cannot read them from the store: ${(e as Error).message}`);
        }
      } while (this.refreshAgain && !this.stopped);
    })().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async catchUp(): Promise<void> {
    const abandoned = await this.deps.fleet?.investigations.markAbandoned(ABANDONED_S).catch((e: unknown) => {
      this.deps.log(`investigations: cannot look for firings of stopped servers: ${(e as Error).message}`);
      return [];
    });
    if (abandoned && abandoned.length > 0)
      this.deps.log(
        `investigations: firings ${abandoned.join(', ')} were left under way by a server that stopped; their error says so`,
      );
    for (const r of await this.deps.store.investigations()) {
      if (this.stopped) return;
      const inv = this.book.find({ id: r.id });
      if (!inv) {
        let added: LiveInvestigation;
        try {
          added = this.book.load(r);
        } catch (e) {
          this.deps.log(`investigation ${r.name} (${r.id}) is not loaded: ${(e as Error).message}`);
          continue;
        }
        if (!added.closedAt) await this.arm(added);
        continue;
      }
      inv.fires = Math.max(inv.fires, r.fires);
      const last = r.lastFiredAt ? Date.parse(r.lastFiredAt) : 0;
      if (last > (inv.lastFiredAt ?? 0)) inv.lastFiredAt = last;
      if (r.closedAt) {
        inv.closedAt = r.closedAt;
        if (r.closedBy) inv.closedBy = r.closedBy;
        this.schedules.stop(inv.id);
      }
    }
  }

  private async arm(inv: LiveInvestigation): Promise<void> {
    await this.events.arm(inv);
    this.schedules.start(inv);
  }

  /** Checks and adds an investigation owned by `owner`; 409 when an open one has its name. */
  async add(body: InvestigationBody, owner: string): Promise<InvestigationView> {
    const def = parseInvestigation(body);
    await this.refresh();
    this.refuseTakenName(def.name);
    await checkInvestigation(this.deps.store, def);
    const createdAt = new Date().toISOString();
    const record = {
      name: def.name,
      owner,
      question: def.question,
      notes: def.notes,
      definition: JSON.stringify(body),
      createdAt,
    };
    const id = await this.deps.store.addInvestigation(record).catch(async (e: unknown) => {
      // Servers sharing PostgreSQL: another one added this name a moment ago (its unique index).
      if (this.deps.fleet) {
        await this.refresh();
        this.refuseTakenName(def.name);
      }
      throw e;
    });
    // A refresh may have loaded and armed it already; arming again only restarts the same timer.
    const inv = this.book.find({ id }) ?? this.book.load({ ...record, id, fires: 0 });
    await this.arm(inv);
    await this.announce(inv);
    return this.view(inv);
  }

  /** 409 when an open investigation has this name. */
  private refuseTakenName(name: string): void {
    if (this.book.open().some((i) => i.def.name === name))
      throw new HttpError(
        409,
        'conflict',
        `an open investigation is named "${name}"; close it first (\`periscope investigation close ${name}\`) or choose another name`,
      );
  }

  /** Closes an investigation (its owner or an admin); its firings and reports stay. */
  async close(
    ref: { id: number } | { name: string },
    by: string,
    admin: boolean,
  ): Promise<InvestigationView> {
    await this.refresh();
    const inv = this.find(ref);
    if (inv.closedAt)
      throw new HttpError(409, 'conflict', `investigation "${inv.def.name}" is closed already`);
    if (!admin && inv.record.owner !== by)
      throw new HttpError(
        403,
        'forbidden',
        `investigation "${inv.def.name}" belongs to ${inv.record.owner}; only its owner or an admin closes it`,
      );
    const at = new Date();
    await this.deps.store.closeInvestigation(inv.id, by, at);
    inv.closedAt = at.toISOString();
    inv.closedBy = by;
    this.schedules.stop(inv.id);
    await this.announce(inv);
    return this.view(inv);
  }

  /** Tells the servers sharing PostgreSQL that an investigation changed (they look at once). */
  private async announce(inv: LiveInvestigation): Promise<void> {
    try {
      await this.deps.fleet?.investigations.announce(inv.id);
    } catch (e) {
      // The others see it at their next look all the same.
      this.deps.log(
        `investigation ${inv.def.name}: the other servers were not notified: ${(e as Error).message}`,
      );
    }
  }

  /** One investigation by id or name; 404 otherwise. */
  find(ref: { id: number } | { name: string }): LiveInvestigation {
    const inv = this.book.find(ref);
    if (!inv)
      throw new HttpError(
        404,
        'not-found',
        `no investigation ${'id' in ref ? ref.id : `"${ref.name}"`}; \`periscope investigation list\` shows them`,
      );
    return inv;
  }

  /** Every investigation (closed ones too when asked). */
  list(closed: boolean): InvestigationView[] {
    return this.book
      .all()
      .filter((i) => closed || !i.closedAt)
      .map((i) => this.view(i));
  }

  /**
   * One investigation with its latest firings, the probe triggers that no longer resolve
   * somewhere, and the slow/error triggers whose trace the current spec no longer has.
   */
  async show(ref: { id: number } | { name: string }): Promise<InvestigationView> {
    await this.refresh();
    const inv = this.find(ref);
    const firings: FiringView[] = await this.deps.store.firings(inv.id, SHOWN_FIRINGS);
    const missing = await this.missingFromSpec(inv);
    return {
      ...this.view(inv),
      unresolved: this.unresolved(inv),
      ...(missing.traces.length > 0 ? { missingTraces: missing.traces } : {}),
      ...(missing.probes.length > 0 ? { missingProbes: missing.probes } : {}),
      firings,
    };
  }

  /** The triggers whose trace or probe the current spec lacks. */
  private async missingFromSpec(
    inv: LiveInvestigation,
  ): Promise<{ traces: MissingTrace[]; probes: MissingProbe[] }> {
    const named = inv.def.triggers.some(
      (t) => t.kind === 'probe' || ((t.kind === 'slow' || t.kind === 'error') && t.trace !== undefined),
    );
    if (!named) return { traces: [], probes: [] };
    const spec = await this.deps.store.currentSpec();
    const names = specNames(spec?.yaml ?? '');
    const version = spec?.version ?? 0;
    return {
      traces: missingTraces(inv.def, names.traces, version),
      probes: missingProbes(inv.def, names.probes, version),
    };
  }

  private unresolved(inv: LiveInvestigation): Unresolved[] {
    const probes = new Set(inv.def.triggers.flatMap((t) => (t.kind === 'probe' ? [t.probe] : [])));
    if (probes.size === 0) return [];
    // Every server's agents: a probe may resolve on this server's and not on another's.
    const statuses = this.deps.fleet?.probeStatuses() ?? this.deps.probes.statusList();
    return statuses.flatMap((a) =>
      a.status.binaries
        .filter((b) => probes.has(b.probe) && b.error !== undefined)
        .map((b) => ({
          probe: b.probe,
          agentId: a.agentId,
          executable: b.executable,
          ...(b.buildId ? { buildId: b.buildId } : {}),
          error: b.error ?? '',
        })),
    );
  }

  private view(inv: LiveInvestigation): InvestigationView {
    return {
      id: inv.id,
      name: inv.def.name,
      owner: inv.record.owner,
      question: inv.def.question,
      notes: inv.def.notes,
      state: inv.closedAt ? 'closed' : 'open',
      createdAt: inv.record.createdAt,
      ...(inv.closedAt ? { closedAt: inv.closedAt } : {}),
      ...(inv.closedBy ? { closedBy: inv.closedBy } : {}),
      fires: inv.fires,
      ...(inv.lastFiredAt !== undefined ? { lastFiredAt: new Date(inv.lastFiredAt).toISOString() } : {}),
      ...(inv.lastProblem ? { lastProblem: inv.lastProblem } : {}),
      definition: inv.body,
    };
  }

  /** Resolves when every firing started so far is done (tests; a stop). */
  idle(): Promise<void> {
    return this.firings.idle();
  }

  /** Stops the schedules and the subscriptions; firings under way finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.refreshTimer);
    this.schedules.close();
    this.unsubscribe?.();
    this.events.close();
    await this.firings.idle().catch(() => undefined);
  }
}
