/**
 * The agent registry across servers (scaled-out store): every second this server writes its
 * heartbeat and its connected agents with their processes to PostgreSQL, and reads the other
 * live servers' rows. A server whose heartbeat is older than ALIVE_S is dead: its agents are
 * no longer listed or offered for snapshots; its rows are deleted after FORGET_S. This
 * server's own agents always come from its in-memory registry, never from its rows. The same
 * beat writes the latest probe status of this server's agents (when it changed) and reads
 * the others', so any server's `GET /v1/probes` shows the fleet's.
 */
import type { AgentView } from '../api/responses.js';
import type { ProbeStatusMessage, ProcessDescription } from '../protocol/messages.js';
import type { PgFleet } from '../store/shared/shared-store.js';
import type { FleetTarget } from './orchestrator.js';
import type { AgentProbeStatus, ProbeBook } from './probe-book.js';
import type { Registry } from './registry.js';
import { matches, type Selector } from './selector.js';

/** A server whose heartbeat is older than this, seconds, is taken for dead. */
export const ALIVE_S = 5;
/** A dead server's rows are deleted after this long, seconds. */
const FORGET_S = 60;
/** Heartbeat and read interval, ms. */
const BEAT_MS = 1000;
/**
 * Every this many beats the other servers' lists are read whole even when their versions did
 * not move: a server of the version before writes no versions, and a restored PostgreSQL may
 * give a number again.
 */
const FULL_READ_EVERY = 30;

interface RemoteAgent {
  readonly server: string;
  readonly serverUrl: string;
  readonly view: AgentView;
  readonly processes: readonly ProcessDescription[];
}

/** Another live server and the agents connected to it, as of the last read. */
export interface RemoteServer {
  readonly serverId: string;
  readonly url: string;
  readonly agents: readonly { readonly view: AgentView; readonly processes: readonly ProcessDescription[] }[];
}

/** The fleet as this server sees it: its own agents live, the others' as of the last read. */
export class FleetView {
  private remote: RemoteAgent[] = [];
  private remoteStatus: AgentProbeStatus[] = [];
  /** The other live servers' agents and probe statuses as last read, with the version read. */
  private readonly agentLists = new Map<string, { version: string; agents: RemoteAgent[] }>();
  private readonly statusLists = new Map<string, { version: string; rows: AgentProbeStatus[] }>();
  private reads = 0;
  private lastStatus = '';
  private live = new Map<string, string>();
  /** Every server's URL seen since start: a dead server is still named by it. */
  private readonly urls = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private lastWritten = '';
  private beats = 0;
  private beating: Promise<void> = Promise.resolve();

  constructor(
    private readonly fleet: PgFleet,
    private readonly registry: Registry,
    private readonly probes: ProbeBook,
    readonly serverId: string,
    private readonly url: string,
    private readonly log: (line: string) => void,
  ) {}

  /** Writes the first heartbeat and keeps beating. */
  async start(): Promise<void> {
    await this.beat();
    let busy = false;
    this.timer = setInterval(() => {
      // A beat slower than the interval (PostgreSQL slow or away) is not stacked on.
      if (busy) return;
      busy = true;
      this.beating = this.beat().finally(() => {
        busy = false;
      });
    }, BEAT_MS);
    this.timer.unref();
  }

  /** One heartbeat: this server's agents written when they changed (and every 10 s), the others read. */
  private async beat(): Promise<void> {
    try {
      const agents = this.registry
        .agents()
        .filter((a) => a.connected)
        .map((a) => ({ id: a.id, view: a, processes: this.registry.agentProcesses(a.id) }));
      const text = JSON.stringify(agents.map((a) => [a.id, a.view.state, a.processes]));
      // Rewritten every 10th beat too: rows a PostgreSQL restore or a clean-up lost come back.
      const changed = text !== this.lastWritten || this.beats++ % 10 === 0;
      const connected = new Set(agents.map((a) => a.id));
      const statuses = this.probes
        .statusList()
        .filter((s) => connected.has(s.agentId))
        .sort((x, y) => x.agentId.localeCompare(y.agentId));
      const statusText = JSON.stringify(statuses.map((s) => [s.agentId, s.status]));
      const statusChanged = changed || statusText !== this.lastStatus;
      await this.fleet.heartbeat(
        this.serverId,
        this.url,
        changed ? agents : undefined,
        FORGET_S,
        statusChanged ? statuses : undefined,
        { agents: text !== this.lastWritten, statuses: statusText !== this.lastStatus },
      );
      this.lastWritten = text;
      this.lastStatus = statusText;
      await this.readOthers();
    } catch (e) {
      this.log(`fleet registry: cannot reach PostgreSQL (${(e as Error).message}); retrying every second`);
    }
  }

  /**
   * Reads the other live servers' agents and probe statuses: one small row per server with
   * its lists' versions, then only the lists whose version moved since the last read (all of
   * them every FULL_READ_EVERY reads). At 1,000 agents the whole lists are megabytes of JSON
   * a second (docs/performance.md "1,000 agents").
   */
  private async readOthers(): Promise<void> {
    const servers = (await this.fleet.liveServerVersions(ALIVE_S)).filter(
      (s) => s.serverId !== this.serverId,
    );
    this.live = new Map([[this.serverId, this.url], ...servers.map((s) => [s.serverId, s.url] as const)]);
    for (const [id, url] of this.live) this.urls.set(id, url);
    const full = this.reads++ % FULL_READ_EVERY === 0;
    const agentsStale = servers
      .filter((s) => full || this.agentLists.get(s.serverId)?.version !== s.agentsVersion)
      .map((s) => s.serverId);
    const statusStale = servers
      .filter((s) => full || this.statusLists.get(s.serverId)?.version !== s.statusVersion)
      .map((s) => s.serverId);
    const [lists, statuses] = await Promise.all([
      this.fleet.liveServers(ALIVE_S, agentsStale),
      this.fleet.liveProbeStatuses(ALIVE_S, statusStale),
    ]);
    const version = new Map(servers.map((s) => [s.serverId, s]));
    for (const id of agentsStale) this.agentLists.delete(id);
    for (const l of lists) {
      const v = version.get(l.serverId);
      if (!v) continue;
      this.agentLists.set(l.serverId, {
        version: v.agentsVersion,
        agents: l.agents.map((a) => ({
          server: l.serverId,
          serverUrl: l.url,
          view: a.view as AgentView,
          processes: (Array.isArray(a.processes) ? a.processes : []) as ProcessDescription[],
        })),
      });
    }
    for (const id of statusStale) {
      const v = version.get(id);
      if (v) this.statusLists.set(id, { version: v.statusVersion, rows: [] });
    }
    for (const r of statuses)
      this.statusLists
        .get(r.serverId)
        ?.rows.push({ agentId: r.agentId, at: r.at, status: r.status as ProbeStatusMessage });
    // Servers no longer live are forgotten (their lists read again should they come back).
    for (const id of [...this.agentLists.keys()]) if (!version.has(id)) this.agentLists.delete(id);
    for (const id of [...this.statusLists.keys()]) if (!version.has(id)) this.statusLists.delete(id);
    // Server order for agents (by id, as the versions are read); agent order for statuses.
    this.remote = servers.flatMap((s) => this.agentLists.get(s.serverId)?.agents ?? []);
    this.remoteStatus = [...this.statusLists.values()]
      .flatMap((l) => l.rows)
      .sort((x, y) => (x.agentId < y.agentId ? -1 : x.agentId > y.agentId ? 1 : 0));
  }

  /** Whether a server's heartbeat was young at the last read (this server always is). */
  isLive(serverId: string): boolean {
    return serverId === this.serverId || this.live.has(serverId);
  }

  /** A server's URL, as its heartbeat last said. */
  urlOf(serverId: string): string {
    return serverId === this.serverId ? this.url : (this.urls.get(serverId) ?? 'its URL unknown');
  }

  /** Every agent of the fleet, each with its server: this server's first as its registry lists them. */
  agents(): AgentView[] {
    const mine = this.registry.agents().map((a) => ({ ...a, server: this.serverId, serverUrl: this.url }));
    const here = new Set(mine.filter((a) => a.connected).map((a) => a.id));
    const remote = this.remote
      .filter((r) => !here.has(r.view.id))
      .map((r) => ({ ...r.view, server: r.server, serverUrl: r.serverUrl }));
    const there = new Set(remote.map((a) => a.id));
    // An agent that moved to another server is listed there, not as disconnected here.
    return [...mine.filter((a) => a.connected || !there.has(a.id)), ...remote];
  }

  /** The processes of every live server's connected agents that match the selector. */
  processes(sel: Selector): FleetTarget[] {
    const mine = this.registry.processes(sel).map((p) => ({ ...p, server: this.serverId }));
    const here = this.connectedHere();
    const seen = new Set<string>(here);
    const out: FleetTarget[] = [...mine];
    for (const r of this.remote) {
      if (seen.has(r.view.id)) continue;
      seen.add(r.view.id);
      for (const p of r.processes)
        if (matches(sel, p)) out.push({ ...p, agentId: r.view.id, server: r.server });
    }
    return out.sort((a, b) => a.hostname.localeCompare(b.hostname) || a.pid - b.pid);
  }

  /** The ids of the agents connected to this server now. */
  private connectedHere(): Set<string> {
    return new Set(
      this.registry
        .agents()
        .filter((a) => a.connected)
        .map((a) => a.id),
    );
  }

  /** The other live servers with their agents (an agent connected here is left out of theirs). */
  remoteServers(): RemoteServer[] {
    const here = this.connectedHere();
    const out = new Map<string, RemoteServer & { agents: RemoteServer['agents'][number][] }>();
    for (const r of this.remote) {
      if (here.has(r.view.id)) continue;
      let s = out.get(r.server);
      if (!s) {
        s = { serverId: r.server, url: r.serverUrl, agents: [] };
        out.set(r.server, s);
      }
      s.agents.push({ view: r.view, processes: r.processes });
    }
    return [...out.values()];
  }

  /**
   * Every agent's latest probe status: this server's from memory, the other live servers'
   * as of the last beat (~1 s old); an agent connected here is shown as this server has it.
   */
  probeStatuses(): AgentProbeStatus[] {
    const mine = this.probes.statusList();
    const here = this.connectedHere();
    const remote = this.remoteStatus.filter((r) => !here.has(r.agentId));
    const there = new Set(remote.map((r) => r.agentId));
    // A status kept here for an agent that has since moved to another server is that server's to show.
    return [...mine.filter((m) => here.has(m.agentId) || !there.has(m.agentId)), ...remote];
  }

  /** Stops beating and removes this server's rows (its agents reconnect elsewhere). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.beating;
    await this.fleet.leave(this.serverId).catch(() => undefined);
  }
}
