/**
 * The registry: which agents are (or were) connected and which processes each monitors right
 * now. An agent's process list is replaced by each `processes` message. An agent that
 * disconnects keeps its entry, marked disconnected; its processes are no longer offered for
 * snapshots. An agent id belongs to one agent process at a time: the same process (same
 * `instance`) reconnecting takes its entry over; another process with that id is refused while
 * the first is connected and answering heartbeats, and listed as refused for a while. An agent
 * that stops answering heartbeats stays connected but is marked unresponsive.
 */
import type { AgentState, AgentView, ProcessView } from '../api/responses.js';
import type { AgentCapability, ProcessDescription, ServerMessage } from '../protocol/messages.js';
import { matches, type Selector } from './selector.js';

/** The server's handle on one agent connection. */
export interface AgentConnection {
  /** Sends a message; false when the connection is no longer open. */
  send(msg: ServerMessage): boolean;
  close(code: number, reason: string): void;
}

/** What an agent said in hello. */
export interface AgentHello {
  readonly agentId: string;
  readonly hostname: string;
  readonly version: string;
  readonly instance?: string;
  /** What the agent can be asked (protocol AGENT_CAPABILITIES); absent: an agent before the list. */
  readonly capabilities?: readonly string[];
}

/** Where the connection came from. */
export interface ConnectionExtra {
  readonly remoteAddress?: string;
  readonly tokenName?: string;
}

/** The outcome of a hello: admitted, or refused with the reason to tell the agent. */
export type Admission = { readonly admitted: true } | { readonly admitted: false; readonly message: string };

interface AgentEntry {
  id: string;
  hostname: string;
  version: string;
  instance?: string;
  capabilities: ReadonlySet<string>;
  connectedAt: Date;
  lastSeen: Date;
  disconnectedAt?: Date;
  unresponsiveSince?: Date;
  remoteAddress?: string;
  tokenName?: string;
  conn?: AgentConnection;
  processes: ProcessDescription[];
}

interface Refusal extends AgentHello, ConnectionExtra {
  readonly firstAt: Date;
  lastAt: Date;
  attempts: number;
  message: string;
}

/** Listens to agents coming and going (the orchestrator uses it to fail a departed agent's processes). */
export type DisconnectListener = (agentId: string) => void;

/** A refused agent is listed until it has not tried again for this long (it retries every 15–30 s). */
const REFUSAL_LISTED_MS = 120_000;
/** At most this many refused agents are remembered. */
const MAX_REFUSALS = 1000;
const STATE_ORDER: Record<AgentState, number> = {
  connected: 0,
  unresponsive: 1,
  refused: 2,
  disconnected: 3,
};

/** Connected and past agents, and their processes. */
export class Registry {
  private readonly entries = new Map<string, AgentEntry>();
  private readonly refusals = new Map<string, Refusal>();
  private readonly goneListeners: DisconnectListener[] = [];
  private readonly unresponsiveListeners: DisconnectListener[] = [];

  /**
   * Admits an agent that said hello, unless another agent process (another instance) holds
   * its id and answers heartbeats. The same instance reconnecting, or a newcomer replacing a
   * holder that stopped answering, closes the previous connection.
   */
  connect(hello: AgentHello, conn: AgentConnection, extra: ConnectionExtra = {}): Admission {
    const old = this.entries.get(hello.agentId);
    const now = new Date();
    if (old?.conn && old.conn !== conn) {
      const same = hello.instance !== undefined && hello.instance === old.instance;
      if (!same && !old.unresponsiveSince)
        return { admitted: false, message: this.refuse(hello, extra, old) };
      const prev = old.conn;
      old.conn = undefined;
      this.notify(this.goneListeners, hello.agentId);
      prev.close(
        4000,
        same ? 'replaced by a new connection of the same agent' : 'replaced: this agent stopped answering',
      );
    }
    this.refusals.delete(refusalKey(hello));
    this.entries.set(hello.agentId, {
      id: hello.agentId,
      hostname: hello.hostname,
      version: hello.version,
      ...(hello.instance !== undefined ? { instance: hello.instance } : {}),
      capabilities: new Set(hello.capabilities ?? []),
      connectedAt: now,
      lastSeen: now,
      ...extra,
      conn,
      processes: [],
    });
    return { admitted: true };
  }

  /** Replaces an agent's process list (ignored for a connection that is no longer current). */
  setProcesses(agentId: string, conn: AgentConnection, processes: readonly ProcessDescription[]): void {
    const e = this.current(agentId, conn);
    if (!e) return;
    e.processes = [...processes];
    e.lastSeen = new Date();
  }

  /** Notes that an agent was heard from. */
  touch(agentId: string, conn: AgentConnection): void {
    const e = this.current(agentId, conn);
    if (e) e.lastSeen = new Date();
  }

  /** Marks an agent unresponsive (silent since `since`); its snapshots in flight fail its processes. */
  unresponsive(agentId: string, conn: AgentConnection, since: Date): void {
    const e = this.current(agentId, conn);
    if (!e || e.unresponsiveSince) return;
    e.unresponsiveSince = since;
    this.notify(this.unresponsiveListeners, agentId);
  }

  /** Marks an agent responsive again. */
  responsive(agentId: string, conn: AgentConnection): void {
    const e = this.current(agentId, conn);
    if (e) e.unresponsiveSince = undefined;
  }

  /** Since when a connected agent has been silent, when it is marked unresponsive. */
  unresponsiveSince(agentId: string): Date | undefined {
    const e = this.entries.get(agentId);
    return e?.conn ? e.unresponsiveSince : undefined;
  }

  /** Marks an agent disconnected (if `conn` is still its current connection). */
  disconnect(agentId: string, conn: AgentConnection): void {
    const e = this.current(agentId, conn);
    if (!e) return;
    e.conn = undefined;
    e.unresponsiveSince = undefined;
    e.disconnectedAt = new Date();
    this.notify(this.goneListeners, agentId);
  }

  /** Calls `fn` whenever an agent's connection ends. */
  onDisconnect(fn: DisconnectListener): void {
    this.goneListeners.push(fn);
  }

  /** Calls `fn` whenever an agent is marked unresponsive. */
  onUnresponsive(fn: DisconnectListener): void {
    this.unresponsiveListeners.push(fn);
  }

  /** The open connection of an agent, if connected. */
  connection(agentId: string): AgentConnection | undefined {
    return this.entries.get(agentId)?.conn;
  }

  /** Whether an agent said in its hello that it can be asked `capability`. */
  can(agentId: string, capability: AgentCapability): boolean {
    return this.entries.get(agentId)?.capabilities.has(capability) === true;
  }

  /** The Periscope version an agent said in its hello. */
  versionOf(agentId: string): string | undefined {
    return this.entries.get(agentId)?.version;
  }

  /** Whether this connection is the agent's current one. */
  isCurrent(agentId: string, conn: AgentConnection): boolean {
    return this.current(agentId, conn) !== undefined;
  }

  /** Every agent seen since the server started and the agents refused lately: connected first, then unresponsive, refused, disconnected; by id. */
  agents(): AgentView[] {
    this.pruneRefusals();
    const views: AgentView[] = [...this.entries.values()].map((e) => ({
      id: e.id,
      hostname: e.hostname,
      version: e.version,
      state: !e.conn ? 'disconnected' : e.unresponsiveSince ? 'unresponsive' : 'connected',
      connected: e.conn !== undefined,
      connectedAt: e.connectedAt.toISOString(),
      lastSeen: e.lastSeen.toISOString(),
      ...(e.disconnectedAt && !e.conn ? { disconnectedAt: e.disconnectedAt.toISOString() } : {}),
      ...(e.unresponsiveSince && e.conn ? { unresponsiveSince: e.unresponsiveSince.toISOString() } : {}),
      ...(e.instance ? { instance: e.instance } : {}),
      ...(e.remoteAddress ? { remoteAddress: e.remoteAddress } : {}),
      ...(e.tokenName ? { tokenName: e.tokenName } : {}),
      ...(e.capabilities.size > 0 ? { capabilities: [...e.capabilities].sort() } : {}),
      processes: e.conn ? e.processes.length : 0,
    }));
    for (const r of this.refusals.values())
      views.push({
        id: r.agentId,
        hostname: r.hostname,
        version: r.version,
        state: 'refused',
        connected: false,
        connectedAt: r.firstAt.toISOString(),
        lastSeen: r.lastAt.toISOString(),
        refusal: r.message,
        attempts: r.attempts,
        ...(r.instance ? { instance: r.instance } : {}),
        ...(r.remoteAddress ? { remoteAddress: r.remoteAddress } : {}),
        ...(r.tokenName ? { tokenName: r.tokenName } : {}),
        processes: 0,
      });
    return views.sort((a, b) => STATE_ORDER[a.state] - STATE_ORDER[b.state] || a.id.localeCompare(b.id));
  }

  /** The processes of connected agents (unresponsive ones included) that match the selector. */
  processes(sel: Selector): ProcessView[] {
    const out: ProcessView[] = [];
    for (const e of this.entries.values()) {
      if (!e.conn) continue;
      for (const p of e.processes) if (matches(sel, p)) out.push({ ...p, agentId: e.id });
    }
    return out.sort((a, b) => a.hostname.localeCompare(b.hostname) || a.pid - b.pid);
  }

  /** The processes an agent reported last (none when it is not known). */
  agentProcesses(agentId: string): readonly ProcessDescription[] {
    return this.entries.get(agentId)?.processes ?? [];
  }

  /** Connected agents' open connections (to broadcast a spec change). */
  connections(): AgentConnection[] {
    return [...this.entries.values()].flatMap((e) => (e.conn ? [e.conn] : []));
  }

  private refuse(hello: AgentHello, extra: ConnectionExtra, holder: AgentEntry): string {
    const from = holder.remoteAddress ? ` from ${holder.remoteAddress}` : '';
    const message =
      `agent id "${hello.agentId}" is in use by another agent (hostname ${holder.hostname}${from}, ` +
      `connected since ${holder.connectedAt.toISOString()}); each agent needs its own id: ` +
      'start this one with --id NAME (two agents on one machine, or machines cloned with the same identity; see docs/agent.md)';
    const key = refusalKey(hello);
    const now = new Date();
    const seen = this.refusals.get(key);
    if (seen) {
      seen.lastAt = now;
      seen.attempts++;
      seen.message = message;
    } else {
      this.pruneRefusals();
      if (this.refusals.size >= MAX_REFUSALS)
        this.refusals.delete(this.refusals.keys().next().value as string);
      this.refusals.set(key, { ...hello, ...extra, firstAt: now, lastAt: now, attempts: 1, message });
    }
    return message;
  }

  private pruneRefusals(): void {
    const oldest = Date.now() - REFUSAL_LISTED_MS;
    for (const [k, r] of this.refusals) if (r.lastAt.getTime() < oldest) this.refusals.delete(k);
  }

  private current(agentId: string, conn: AgentConnection): AgentEntry | undefined {
    const e = this.entries.get(agentId);
    return e && e.conn === conn ? e : undefined;
  }

  private notify(listeners: readonly DisconnectListener[], agentId: string): void {
    for (const fn of listeners) fn(agentId);
  }
}

function refusalKey(hello: AgentHello): string {
  return `${hello.agentId}\u0000${hello.instance ?? ''}`;
}
