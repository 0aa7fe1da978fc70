/** `periscope processes [--select SELECTOR] [--server URL] [--json]`: what the fleet monitors now. */
import { ApiClient } from '../api-client.js';
import { defineCommand } from '../command.js';
import { summaryOf } from '../command-list.js';
import { flagOption, textOption } from '../options.js';
import { out, printJson, renderTable } from '../output.js';
import { SERVER_OPTIONS, serverTarget } from '../target.js';

export const processesCommand = defineCommand({
  name: 'processes',
  summary: summaryOf('processes'),
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
  parse(values) {
    return {
      target: serverTarget(values),
      select: textOption(values, 'select'),
      labels: flagOption(values, 'labels'),
      json: flagOption(values, 'json'),
    };
  },
  async run({ target, select, labels, json }) {
    const procs = await new ApiClient(target).processes(select);
    if (json) return await printJson(procs);
    if (procs.length === 0)
      return out(select ? `no monitored process matches "${select}"` : 'no monitored process');
    const rows = procs.map((p) => [
      p.hostname,
      String(p.pid),
      p.programs.join(',') || '-',
      p.goVersion ?? '-',
      p.agentId,
      p.executable,
    ]);
    out(renderTable(['HOSTNAME', 'PID', 'PROGRAMS', 'GO', 'AGENT', 'EXECUTABLE'], rows));
    if (labels)
      for (const p of procs) {
        const list = Object.entries(p.labels).map(([k, v]) => `${k}=${v}`);
        out(`\n${p.key}\n  ${list.join('\n  ')}`);
      }
  },
});
