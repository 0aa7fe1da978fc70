/** `periscope agents [--server URL] [--json]`: the agents the server knows, connected or not. */
import { ApiClient } from '../api-client.js';
import { defineCommand } from '../command.js';
import { summaryOf } from '../command-list.js';
import { flagOption } from '../options.js';
import { ago, out, printJson, renderTable } from '../output.js';
import { SERVER_OPTIONS, serverTarget } from '../target.js';

export const agentsCommand = defineCommand({
  name: 'agents',
  summary: summaryOf('agents'),
  args: '',
  options: { ...SERVER_OPTIONS, json: { type: 'boolean', help: 'print JSON' } },
  details: 'Example:\n  periscope agents --server http://periscope:7070 --token $TOKEN',
  parse(values) {
    return { target: serverTarget(values), json: flagOption(values, 'json') };
  },
  async run({ target, json }) {
    const agents = await new ApiClient(target).agents();
    if (json) return await printJson(agents);
    if (agents.length === 0) return out('no agent has connected since the server started');
    out(
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
});
