/**
 * Fleet snapshots across servers that share PostgreSQL. The server asked (the origin) records
 * the request with one part per server whose agents hold selected processes, and NOTIFYs.
 * Every server prepares its part on its agents and marks it `prepared`; when all parts are
 * prepared (or the prepare timeout passed) the origin sets the request to `capture` and
 * NOTIFYs, and every server captures at once. Each server puts its processes' objects under
 * the request's snapshot id and marks its part `stored` with what it wrote; the origin waits
 * for every part (a dead server's part fails as soon as its heartbeat is old), sets the
 * request `done` (a part stored later deletes its own objects), then writes its own part and
 * the one index row listing every stored process: before that row nothing of it is visible.
 */
import { randomUUID } from 'node:crypto';
import type { ProcessResult, SnapshotTaken } from '../api/responses.js';
import type { PgFleet, WrittenSnapshot } from '../store/shared/shared-store.js';
import type { FailedProcessInput, Store } from '../store/store.js';
import type { FleetView } from './fleet-view.js';
import {
  type FleetCoordinator,
  type FleetTarget,
  type Orchestrator,
  outcomeInput,
  result,
  type SnapshotRequest,
  saveFailingUnstorable,
} from './orchestrator.js';
import type { Selector } from './selector.js';
import type { SnapshotMeta, SnapshotMetaLog } from './snapshot-meta.js';
import type { ProcessOutcome, RunTarget } from './snapshot-run.js';

/** Beyond the agents' timeouts, how long a server may take to pass a phase on, ms (PostgreSQL round trips, object puts). */
const SLACK_MS = 5000;
/** How often waits look at the tables without a notification, ms. */
const POLL_MS = 250;
/** Requests are deleted from PostgreSQL after this long, seconds (the index holds their outcome). */
const FORGET_REQUESTS_S = 3600;

/** Timeouts of the two phases (the server's prepare and capture timeouts). */
export interface FleetSnapshotOptions {
  readonly prepareTimeoutMs: number;
  /** The hard bound of a prepare that keeps progressing (snapshot-run.ts): parts may take that long. */
  readonly prepareMaxMs?: number;
  readonly captureTimeoutMs: number;
  readonly log: (line: string) => void;
}

/** What a server stored of its part, as its part row holds it. */
interface StoredPart {
  readonly results: ProcessResult[];
  readonly written: WrittenSnapshot;
}

/** Takes fleet snapshots across servers, and does this server's part of the others'. */
export class FleetSnapshots implements FleetCoordinator {
  private readonly working = new Set<string>();
  private readonly waiters = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly fleet: PgFleet,
    private readonly view: FleetView,
    private readonly orchestrator: Orchestrator,
    private readonly store: Store,
    private readonly meta: SnapshotMetaLog,
    private readonly opts: FleetSnapshotOptions,
  ) {}

  get serverId(): string {
    return this.view.serverId;
  }

  /** Listens for requests (NOTIFY, and a poll of the tables as a fallback). */
  start(): void {
    this.fleet.listen((payload) => {
      // The channel also carries spec versions and questions (fleet-spec.ts, fleet-asks.ts).
      if (!payload.startsWith('spec:') && !payload.startsWith('ask:')) this.wake();
    });
    let ticks = 0;
    this.timer = setInterval(() => {
      this.wake();
      if (ticks++ % 3600 === 0) void this.fleet.forgetRequests(FORGET_REQUESTS_S).catch(() => undefined);
    }, POLL_MS * 4);
    this.timer.unref();
  }

  /** Stops listening. */
  stop(): void {
    clearInterval(this.timer);
  }

  /** The processes of every live server's agents that match. */
  targets(sel: Selector): FleetTarget[] {
    return this.view.processes(sel);
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
    void this.pickUp();
  }

  private async pickUp(): Promise<void> {
    try {
      for (const { request, part } of await this.fleet.askedOf(this.serverId)) {
        if (this.working.has(request.requestId)) continue;
        this.working.add(request.requestId);
        void this.runPart(
          request.requestId,
          request.snapshotId,
          request.specVersion,
          request.noPause,
          part.targets,
        )
          .catch((e: unknown) =>
            this.opts.log(
              `fleet snapshot ${request.requestId}: this server's part failed: ${(e as Error).message}`,
            ),
          )
          .finally(() => setTimeout(() => this.working.delete(request.requestId), 60_000).unref());
      }
    } catch (e) {
      this.opts.log(`fleet snapshots: cannot read requests from PostgreSQL: ${(e as Error).message}`);
    }
  }

  /** How long a part's prepare may take at most, with the slack of passing it on. */
  private prepareWaitMs(): number {
    return Math.max(this.opts.prepareTimeoutMs, this.opts.prepareMaxMs ?? 0) + SLACK_MS;
  }

  /** This server's part of another server's request: prepare, wait for `capture`, capture, store, report. */
  private async runPart(
    requestId: string,
    snapshotId: number,
    specVersion: number,
    noPause: boolean,
    targets: unknown,
  ): Promise<void> {
    await this.orchestrator.syncedSpec();
    const list = (Array.isArray(targets) ? targets : []) as RunTarget[];
    const run = this.orchestrator.startRun(requestId, list, specVersion, noPause);
    let outcomes: ProcessOutcome[];
    try {
      await run.prepare();
      if (!(await this.fleet.movePart(requestId, this.serverId, 'asked', 'prepared', 'preparing'))) return;
      let state = 'preparing';
      await this.until(async () => {
        state = (await this.fleet.request(requestId))?.state ?? 'gone';
        return state !== 'preparing';
      }, this.prepareWaitMs());
      if (state !== 'capture') return;
      outcomes = await run.capture();
    } finally {
      this.orchestrator.endRun(run);
    }
    const spec = specVersion > 0 ? await this.store.specVersion(specVersion) : undefined;
    let written: WrittenSnapshot;
    try {
      // A process whose rows cannot be written fails alone; the rest of the part is stored.
      const saved = await saveFailingUnstorable(
        this.store,
        outcomes,
        (o) =>
          this.fleet.putPart(
            snapshotId,
            { ...outcomeInput(o), labels: {}, specText: spec?.yaml ?? '' },
            spec ? specVersion : null,
          ),
        rowsNotBuilt,
      );
      written = saved.stored;
      outcomes = saved.outcomes;
    } catch (e) {
      await this.fleet.movePart(requestId, this.serverId, 'prepared', 'failed', 'capture', {
        error: (e as Error).message,
      });
      return;
    }
    const stored: StoredPart = { results: outcomes.map(result), written };
    if (!(await this.fleet.movePart(requestId, this.serverId, 'prepared', 'stored', 'capture', stored)))
      await this.fleet.deleteObjects(written).catch(() => undefined);
  }

  /** Takes a snapshot whose targets include other servers' agents; answers once every part is stored or failed. */
  async snapshot(req: SnapshotRequest, targets: readonly FleetTarget[]): Promise<SnapshotTaken> {
    const t0 = performance.now();
    const spec = await this.orchestrator.syncedSpec();
    const specVersion = spec?.version ?? 0;
    const snapshotId = await this.fleet.nextSnapshotId();
    const requestId = randomUUID();
    const byServer = new Map<string, RunTarget[]>();
    for (const t of targets) {
      const { server, agentId, ...process } = t;
      const list = byServer.get(server) ?? [];
      list.push({ agentId, process });
      byServer.set(server, list);
    }
    await this.fleet.createRequest(
      { requestId, snapshotId, origin: this.serverId, specVersion, noPause: req.noPause === true },
      [...byServer].map(([serverId, ts]) => ({ serverId, targets: ts })),
    );
    const others = [...byServer.keys()].filter((s) => s !== this.serverId);
    const run = this.orchestrator.startRun(
      requestId,
      byServer.get(this.serverId) ?? [],
      specVersion,
      req.noPause === true,
    );
    let outcomes: ProcessOutcome[];
    try {
      await run.prepare();
      await this.until(
        async () => this.settled(await this.fleet.partStates(requestId), others, ['asked']),
        this.prepareWaitMs(),
      );
      await this.fleet.setRequestState(requestId, 'capture');
      outcomes = await run.capture();
    } finally {
      this.orchestrator.endRun(run);
    }
    const waitMs = this.opts.captureTimeoutMs + SLACK_MS;
    await this.until(
      async () => this.settled(await this.fleet.partStates(requestId), others, ['asked', 'prepared']),
      waitMs,
    );
    // From here a part that stores late finds the request done and deletes its objects.
    await this.fleet.setRequestState(requestId, 'done');
    const parts = await this.fleet.parts(requestId);
    const stored: StoredPart[] = [];
    const missing: { target: RunTarget; message: string }[] = [];
    for (const serverId of others) {
      const part = parts.find((p) => p.serverId === serverId);
      if (part?.state === 'stored') {
        stored.push(part.result as StoredPart);
        continue;
      }
      const message = this.partMessage(serverId, part?.state ?? 'asked', part?.result, waitMs);
      for (const target of byServer.get(serverId) ?? []) missing.push({ target, message });
    }
    const missed: ProcessOutcome[] = missing.map((m) => ({
      target: m.target,
      error: { kind: 'TIMEOUT', message: m.message },
    }));
    const missedFailed = outcomeInput(missed).failed;
    try {
      const saved = await saveFailingUnstorable(
        this.store,
        outcomes,
        (o) => {
          const own = outcomeInput(o);
          const failed: FailedProcessInput[] = [...own.failed, ...missedFailed];
          return this.fleet.putPart(
            snapshotId,
            { processes: own.processes, failed, labels: req.labels, specText: spec?.yaml ?? '' },
            spec ? specVersion : null,
          );
        },
        rowsNotBuilt,
      );
      const written = saved.stored;
      outcomes = saved.outcomes;
      await this.fleet.index(
        snapshotId,
        spec ? specVersion : null,
        written,
        stored.map((p) => p.written),
      );
    } catch (e) {
      await this.fleet.deleteSnapshotObjects(snapshotId).catch(() => undefined);
      throw e;
    }
    const results = [...outcomes.map(result), ...stored.flatMap((p) => p.results), ...missed.map(result)];
    const meta: SnapshotMeta = {
      snapshotId,
      requestId,
      selector: req.selector.text,
      requestedBy: req.requestedBy,
      captureSkewMs: skewOf(results),
      durationMs: Math.round(performance.now() - t0),
      processes: results,
    };
    await this.meta.add(meta);
    this.orchestrator.noteStored(outcomes, (performance.now() - t0) / 1000, req.noPause !== true);
    return { ...meta, labels: req.labels, specVersion: spec?.version ?? null };
  }

  /** Whether no part of `servers` is still in one of `waiting` (a dead server's part counts as settled). */
  private settled(
    parts: readonly { serverId: string; state: string }[],
    servers: readonly string[],
    waiting: readonly string[],
  ): boolean {
    return servers.every((s) => {
      const state = parts.find((p) => p.serverId === s)?.state ?? 'asked';
      return !waiting.includes(state) || !this.view.isLive(s);
    });
  }

  private partMessage(serverId: string, state: string, partResult: unknown, waitMs: number): string {
    const who = `server ${serverId} (${this.view.urlOf(serverId)})`;
    if (state === 'failed')
      return `${who} could not store its part: ${(partResult as { error?: string } | null)?.error ?? 'no reason given'}`;
    if (!this.view.isLive(serverId))
      return `${who}, which this process's agent is connected to, stopped during the snapshot (no heartbeat in PostgreSQL); its agents reconnect to another server, snapshot again`;
    return `${who} did not store its part within ${waitMs} ms (its part is ${state === 'asked' ? 'unprepared' : state}); see that server's log`;
  }

  private async until(check: () => Promise<boolean>, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    for (;;) {
      if (await check()) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(left, POLL_MS));
        this.waiters.add(done);
      });
    }
  }
}

/**
 * Whether a part failed while its rows were built (snapshot-objects.ts RowsNotBuiltError, told
 * by name: the server loads the shared store's modules only when it uses one), not while its
 * objects were put: only then may single processes be the cause.
 */
function rowsNotBuilt(e: unknown): boolean {
  return e instanceof Error && e.name === 'RowsNotBuiltError';
}

/** Latest minus earliest capture start among the captured processes, ms. */
function skewOf(results: readonly ProcessResult[]): number {
  const starts = results.flatMap((r) => (r.ok && r.startedAt ? [Date.parse(r.startedAt)] : []));
  return starts.length < 2 ? 0 : Math.max(...starts) - Math.min(...starts);
}
