/**
 * The registry: which agents are (or were) connected and which processes each monitors right
 * now. An agent's process list is replaced by each `processes` message. An agent that
 * disconnects keeps its entry, marked disconnected; its processes are no longer offered for
 * snapshots. A reconnecting agent (same id) takes its entry over.
 */
import type { AgentView, ProcessView } from '../api/responses.js';
import type { ProcessDescription, ServerMessage } from '../protocol/messages.js';
import { matches, type Selector } from './selector.js';

/** The server's handle on one agent connection. */
export interface AgentConnection {
  /** Sends a message; false when the connection is no longer open. */
  send(msg: ServerMessage): boolean;
  close(code: number, reason: string): void;
}

interface AgentEntry {
  id: string;
  hostname: string;
  version: string;
  connectedAt: Date;
  lastSeen: Date;
  disconnectedAt?: Date;
  remoteAddress?: string;
  tokenName?: string;
  conn?: AgentConnection;
  processes: ProcessDescription[];
}

/** Listens to agents coming and going (the orchestrator uses it to fail a departed agent's processes). */
export type DisconnectListener = (agentId: string) => void;

/** Connected and past agents, and their processes. */
export class Registry {
  private readonly entries = new Map<string, AgentEntry>();
  private readonly listeners: DisconnectListener[] = [];

  /** Records an agent that said hello; a previous connection with the same id is closed. */
  connect(
    hello: { agentId: string; hostname: string; version: string },
    conn: AgentConnection,
    extra: { remoteAddress?: string; tokenName?: string } = {},
  ): void {
    const old = this.entries.get(hello.agentId);
    const now = new Date();
    if (old?.conn && old.conn !== conn) {
      const prev = old.conn;
      old.conn = undefined;
      this.notifyGone(hello.agentId);
      prev.close(4000, 'replaced by a new connection of the same agent');
    }
    this.entries.set(hello.agentId, {
      id: hello.agentId,
      hostname: hello.hostname,
      version: hello.version,
      connectedAt: now,
      lastSeen: now,
      ...extra,
      conn,
      processes: [],
    });
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

  /** Marks an agent disconnected (if `conn` is still its current connection). */
  disconnect(agentId: string, conn: AgentConnection): void {
    const e = this.current(agentId, conn);
    if (!e) return;
    e.conn = undefined;
    e.disconnectedAt = new Date();
    this.notifyGone(agentId);
  }

  /** Calls `fn` whenever an agent's connection ends. */
  onDisconnect(fn: DisconnectListener): void {
    this.listeners.push(fn);
  }

  /** The open connection of an agent, if connected. */
  connection(agentId: string): AgentConnection | undefined {
    return this.entries.get(agentId)?.conn;
  }

  /** Whether this connection is the agent's current one. */
  isCurrent(agentId: string, conn: AgentConnection): boolean {
    return this.current(agentId, conn) !== undefined;
  }

  /** Every agent ever seen since the server started, connected ones first, then by id. */
  agents(): AgentView[] {
    return [...this.entries.values()]
      .sort((a, b) => Number(Boolean(b.conn)) - Number(Boolean(a.conn)) || a.id.localeCompare(b.id))
      .map((e) => ({
        id: e.id,
        hostname: e.hostname,
        version: e.version,
        connected: e.conn !== undefined,
        connectedAt: e.connectedAt.toISOString(),
        lastSeen: e.lastSeen.toISOString(),
        ...(e.disconnectedAt && !e.conn ? { disconnectedAt: e.disconnectedAt.toISOString() } : {}),
        ...(e.remoteAddress ? { remoteAddress: e.remoteAddress } : {}),
        ...(e.tokenName ? { tokenName: e.tokenName } : {}),
        processes: e.conn ? e.processes.length : 0,
      }));
  }

  /** The processes of connected agents that match the selector. */
  processes(sel: Selector): ProcessView[] {
    const out: ProcessView[] = [];
    for (const e of this.entries.values()) {
      if (!e.conn) continue;
      for (const p of e.processes) if (matches(sel, p)) out.push({ ...p, agentId: e.id });
    }
    return out.sort((a, b) => a.hostname.localeCompare(b.hostname) || a.pid - b.pid);
  }

  /** Connected agents' open connections (to broadcast a spec change). */
  connections(): AgentConnection[] {
    return [...this.entries.values()].flatMap((e) => (e.conn ? [e.conn] : []));
  }

  private current(agentId: string, conn: AgentConnection): AgentEntry | undefined {
    const e = this.entries.get(agentId);
    return e && e.conn === conn ? e : undefined;
  }

  private notifyGone(agentId: string): void {
    for (const fn of this.listeners) fn(agentId);
  }
}
