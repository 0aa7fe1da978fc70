/**
 * Every `periscope` command: its name and one-line summary (the top-level help needs no more),
 * and the module that defines it, imported only when that command runs. A command module
 * pulls in what it needs (DuckDB, koffi, the DWARF stack, the server); loading all of them
 * for every run made `periscope --help` take 0.4 s (docs/performance.md, "CLI start-up").
 */
import type { Command } from './command.js';

/** A command as the top-level help lists it; `load` imports its module. */
export interface ListedCommand {
  readonly name: string;
  readonly summary: string;
  load(): Promise<Command>;
}

/** The commands, in the order `periscope --help` lists them. */
export const COMMANDS: readonly ListedCommand[] = [
  {
    name: 'inspect',
    summary:
      'Show what Periscope reads from a Go binary: version, functions, variable locations, type layouts.',
    load: async () => (await import('./commands/inspect.js')).inspectCommand,
  },
  {
    name: 'snapshot',
    summary:
      'Every goroutine of a running Go process with its stack and captured values, pausing it for about a millisecond.',
    load: async () => (await import('./commands/snapshot.js')).snapshotCommand,
  },
  {
    name: 'query',
    summary: 'SQL over stored snapshots: goroutines, frames, captured values, the spec’s tables and links.',
    load: async () => (await import('./commands/query.js')).queryCommand,
  },
  {
    name: 'links',
    summary: 'What a goroutine links to and is linked from, through the spec’s links (across processes).',
    load: async () => (await import('./commands/links.js')).linksCommand,
  },
  {
    name: 'spec',
    summary: 'The versioned spec: set a new version, show one, or list every change with who and when.',
    load: async () => (await import('./commands/spec.js')).specCommand,
  },
  {
    name: 'probe',
    summary: 'Probes (dynamic logs) in the server’s spec: add one, list them, remove one.',
    load: async () => (await import('./commands/probe.js')).probeCommand,
  },
  {
    name: 'events',
    summary: 'Print the events of the server’s probes; --follow keeps printing new ones.',
    load: async () => (await import('./commands/events.js')).eventsCommand,
  },
  {
    name: 'investigation',
    summary:
      'Standing investigations: "next time this happens, capture …" — add one, list them, show its firings and reports, close it.',
    load: async () => (await import('./commands/investigation.js')).investigationCommand,
  },
  {
    name: 'traces',
    summary: 'Print the latest kept request traces with their events; --outcome error picks the failed ones.',
    load: async () => (await import('./commands/traces.js')).tracesCommand,
  },
  {
    name: 'export',
    summary: 'Write one snapshot as a standalone DuckDB file or a directory of Parquet files.',
    load: async () => (await import('./commands/export.js')).exportCommand,
  },
  {
    name: 'import',
    summary:
      'Read a snapshot written by `periscope export` (DuckDB file or Parquet directory) into the store.',
    load: async () => (await import('./commands/import.js')).importCommand,
  },
  {
    name: 'agent',
    summary:
      'Run the agent of this machine: discover Go processes, report them to the server, take snapshots on request.',
    load: async () => (await import('./commands/agent.js')).agentCommand,
  },
  {
    name: 'server',
    summary: 'Run the Periscope server: HTTP API, the endpoint agents connect to, and the embedded store.',
    load: async () => (await import('./commands/server.js')).serverCommand,
  },
  {
    name: 'agents',
    summary:
      'List the agents of a Periscope server: connected, unresponsive, refused or disconnected, since when, how many processes.',
    load: async () => (await import('./commands/agents.js')).agentsCommand,
  },
  {
    name: 'processes',
    summary: 'List the processes the agents of a Periscope server monitor now, with their labels.',
    load: async () => (await import('./commands/processes.js')).processesCommand,
  },
  {
    name: 'token',
    summary: 'Create, list, rotate and revoke the tokens of a Periscope server (agent, user, admin).',
    load: async () => (await import('./commands/token.js')).tokenCommand,
  },
  {
    name: 'store',
    summary:
      'Migrate an embedded store (a data directory) into a scaled-out one (PostgreSQL and object storage).',
    load: async () => (await import('./commands/store.js')).storeCommand,
  },
  {
    name: 'audit',
    summary:
      'Show or export the audit log: who took which snapshot, ran which query, changed the spec or tokens.',
    load: async () => (await import('./commands/audit.js')).auditCommand,
  },
];

/** The summary of a listed command (its module's help shows the same line). */
export function summaryOf(name: string): string {
  const c = COMMANDS.find((x) => x.name === name);
  if (!c) throw new Error(`command "${name}" is not in COMMANDS`);
  return c.summary;
}
