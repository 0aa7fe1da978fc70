/** `periscope agents [--server URL] [--json]`: the agents the server knows, connected or not. */
import { PeriscopeError } from '../../common/errors.js';
import { clientFrom, SERVER_OPTIONS } from '../client.js';
import type { Command } from '../command.js';
import { printJson } from '../output.js';

/** Renders rows as left-aligned columns under a header. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** "3s ago", "5m ago", … for a timestamp. */
export function ago(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 90) return `${s}s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)}m ago`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}

/** Fails on positional arguments a command does not take. */
export function noPositionals(name: string, positionals: string[]): void {
  if (positionals.length > 0)
    throw new PeriscopeError(
      'bad-usage',
      `unexpected argument "${positionals[0]}"; see \`periscope ${name} --help\``,
    );
}

export const agentsCommand: Command = {
  name: 'agents',
  summary:
    'List the agents of a Periscope server: connected, unresponsive, refused or disconnected, since when, how many processes.',
  args: '',
  options: { ...SERVER_OPTIONS, json: { type: 'boolean', help: 'print JSON' } },
  details: 'Example:\n  periscope agents --server http://periscope:7070 --token $TOKEN',
  async run(positionals, values) {
    noPositionals('agents', positionals);
    const agents = await clientFrom(values).agents();
    if (values.json === true) return printJson(agents);
    if (agents.length === 0) {
      console.log('no agent has connected since the server started');
      return;
    }
    console.log(
      renderTable(
        ['AGENT', 'HOSTNAME', 'VERSION', 'STATE', 'PROCESSES', 'LAST SEEN'],
        agents.map((a) => [
          a.id,
          a.hostname,
          a.version,
          a.state ?? (a.connected ? 'connected' : 'disconnected'),
          String(a.processes),
          ago(a.lastSeen),
        ]),
      ),
    );
    for (const a of agents)
      if (a.refusal) console.log(`\nrefused ${a.id} (${a.remoteAddress ?? '?'}): ${a.refusal}`);
  },
};
