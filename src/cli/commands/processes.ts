/** `periscope processes [--select SELECTOR] [--server URL] [--json]`: what the fleet monitors now. */

import { clientFrom, SERVER_OPTIONS } from '../client.js';
import type { Command } from '../command.js';
import { printJson } from '../output.js';
import { noPositionals, renderTable } from './agents.js';

export const processesCommand: Command = {
  name: 'processes',
  summary: 'List the processes the agents of a Periscope server monitor now, with their labels.',
  args: '',
  options: {
    ...SERVER_OPTIONS,
    select: {
      type: 'string',
      value: 'SELECTOR',
      help: 'only these: key=value, key!=value, key~regex, comma-separated (e.g. program=orders)',
    },
    labels: { type: 'boolean', help: 'also print every label of each process' },
    json: { type: 'boolean', help: 'print JSON' },
  },
  details:
    'Selector keys: program (a spec program rule), hostname, pid, executable, and any label\n' +
    '(exe_name, env.NAME, container, pod, namespace, …).\n\n' +
    'Examples:\n  periscope processes --select program=orders\n  periscope processes --select "hostname~web-.*,env.ENV=prod" --json',
  async run(positionals, values) {
    noPositionals('processes', positionals);
    const select = typeof values.select === 'string' ? values.select : undefined;
    const procs = await clientFrom(values).processes(select);
    if (values.json === true) return printJson(procs);
    if (procs.length === 0) {
      console.log(select ? `no monitored process matches "${select}"` : 'no monitored process');
      return;
    }
    const rows = procs.map((p) => [
      p.hostname,
      String(p.pid),
      p.programs.join(',') || '-',
      p.goVersion ?? '-',
      p.agentId,
      p.executable,
    ]);
    console.log(renderTable(['HOSTNAME', 'PID', 'PROGRAMS', 'GO', 'AGENT', 'EXECUTABLE'], rows));
    if (values.labels === true)
      for (const p of procs) {
        const labels = Object.entries(p.labels).map(([k, v]) => `${k}=${v}`);
        console.log(`\n${p.key}\n  ${labels.join('\n  ')}`);
      }
  },
};
