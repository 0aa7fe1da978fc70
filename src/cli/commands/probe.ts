/**
 * `periscope probe add NAME … | list | rm NAME`: probes in the server's spec. `add` and `rm`
 * make a new spec version with the probe added or removed (shortcuts over `spec set`, checked
 * the same way); `list` shows each probe, its time to live, where it is attached, what no
 * longer resolves where, what was switched off, and what it counted.
 */
import type { ProbesResponse } from '../../api/responses.js';
import { PeriscopeError } from '../../common/errors.js';
import { ApiClient } from '../api-client.js';
import { defineCommand } from '../command.js';
import { summaryOf } from '../command-list.js';
import { flagOption, listOption, textOption } from '../options.js';
import { ago, out, printJson, renderTable, warn } from '../output.js';
import { SERVER_OPTIONS, type ServerTarget, serverTarget } from '../target.js';
import { probeFields } from './probe-fields.js';

type ProbeAction =
  | { readonly action: 'add'; readonly fields: Record<string, unknown>; readonly force: boolean }
  | { readonly action: 'list' }
  | { readonly action: 'rm'; readonly name: string };

function listText(r: ProbesResponse): string {
  if (r.probes.length === 0)
    return `no probes in spec version ${r.specVersion}; add one with periscope probe add`;
  const now = Date.now();
  const rows = r.probes.map((p) => [
    p.name,
    p.site,
    p.program ??
      Object.entries(p.match ?? {})
        .map(([k, v]) => `${k}~${v}`)
        .join(',') ??
      '-',
    p.expired ? `expired ${ago(p.expiresAt, now)}` : `on, ${untilText(Date.parse(p.expiresAt) - now)} left`,
    String(new Set(p.binaries.flatMap((b) => b.attached)).size),
    String(p.totals.hits),
    String(p.totals.events),
    String(p.totals.rejected + p.totals.rateLimited + p.totals.dropped),
  ]);
  const lines = [
    renderTable(['NAME', 'SITE', 'PROGRAM', 'STATE', 'PROCESSES', 'HITS', 'EVENTS', 'NOT KEPT'], rows),
  ];
  for (const p of r.probes)
    for (const b of p.binaries) {
      if (b.error) lines.push(`${p.name}: not on ${b.executable} (agent ${b.agentId}): ${b.error}`);
      for (const s of b.switchedOff ?? []) lines.push(`${p.name}: switched off on ${s.process}: ${s.reason}`);
    }
  for (const a of r.agents) {
    if (a.backend !== 'bpf')
      lines.push(`agent ${a.agentId}: probes run on ${a.backend}: ${a.backendNote ?? ''}`);
    if (a.backoffUntil)
      lines.push(`agent ${a.agentId}: places no probe until ${a.backoffUntil} (it crashed with probes on)`);
  }
  return lines.join('\n');
}

function untilText(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 3600)}h`;
}

async function run(target: ServerTarget, o: ProbeAction & { readonly json: boolean }): Promise<void> {
  const client = new ApiClient(target);
  if (o.action === 'list') {
    const r = await client.probes();
    if (o.json) await printJson(r);
    else out(listText(r));
    return;
  }
  const r = o.action === 'add' ? await client.addProbe(o.fields, o.force) : await client.removeProbe(o.name);
  if (o.json) return await printJson(r);
  for (const w of r.warnings) warn(w);
  for (const b of r.check?.binaries ?? [])
    if (b.status === 'does-not-fit')
      for (const p of b.problems) warn(`does not fit ${b.executable}: ${p.text}`);
  out(
    o.action === 'add'
      ? `probe ${r.probe} added: spec version ${r.version}`
      : `probe ${r.probe} removed: spec version ${r.version}`,
  );
}

export const probeCommand = defineCommand({
  name: 'probe',
  summary: summaryOf('probe'),
  args: 'add NAME | list | rm NAME',
  options: {
    program: { type: 'string', value: 'NAME', help: 'add: the spec program whose processes it goes to' },
    match: {
      type: 'string',
      multiple: true,
      value: 'LABEL=RE',
      help: 'add: or the processes whose label matches (repeatable; all must match)',
    },
    function: {
      type: 'string',
      value: 'FUNC',
      help: 'add: at the entry of FUNC (and of every inlined copy)',
    },
    return: {
      type: 'string',
      value: 'FUNC',
      help: 'add: at every return of FUNC (results readable: r0, r1, … or their names)',
    },
    line: {
      type: 'string',
      value: 'FILE:LINE',
      help: 'add: where a source line starts (FILE is a path suffix)',
    },
    capture: {
      type: 'string',
      multiple: true,
      value: '[COL=]EXPR',
      help: 'add: a Go expression to capture at each hit (repeatable); COL names its column',
    },
    if: { type: 'string', value: 'COND', help: 'add: only hits where this Go expression is true' },
    rate: {
      type: 'string',
      value: 'N',
      help: 'add: at most N events a second per process (default 1000 for probes that capture)',
    },
    burst: { type: 'string', value: 'N', help: 'add: bursts of up to N events' },
    stack: { type: 'string', value: 'N', help: 'add: keep N frames of the stack per event (up to 32)' },
    duration: { type: 'boolean', help: 'add: time each call (function or return sites)' },
    labels: { type: 'boolean', help: 'add: keep the goroutine’s pprof labels' },
    ttl: {
      type: 'string',
      value: 'DURATION',
      help: 'add: how long it stays on, e.g. 10m, 2h (default 1h, at most 168h)',
    },
    'max-cpu': {
      type: 'string',
      value: 'PCT',
      help: 'add: switch it off where it costs a process more than this share of its CPU (default 5%)',
    },
    force: { type: 'boolean', help: 'add: store it even though it does not fit some binary' },
    json: { type: 'boolean', help: 'print JSON' },
    ...SERVER_OPTIONS,
  },
  positionals: {
    min: 1,
    max: 2,
    missing: 'give a subcommand: periscope probe add NAME … | list | rm NAME',
  },
  details:
    'A probe captures Go expressions each time the code at its site runs in the processes its\n' +
    'program picks, until its time to live ends; its events are the table named after it\n' +
    '(periscope events, periscope query). Adding and removing make a new spec version.\n\n' +
    'Examples:\n' +
    '  periscope probe add reserves --program inventory --function "main.(*inventoryServer).reserve" \\\n' +
    '      --capture user=req.User --capture qty=req.Quantity --ttl 10m\n' +
    '  periscope probe add big_orders --program orders --function main.place --capture n --if "n > 100" --rate 10\n' +
    '  periscope probe list\n' +
    '  periscope probe rm reserves',
  parse(values, positionals): ProbeAction & { readonly target: ServerTarget; readonly json: boolean } {
    const [sub, name] = positionals;
    const target = serverTarget(values);
    const json = flagOption(values, 'json');
    if (sub === 'list') {
      if (name !== undefined) throw new PeriscopeError('bad-usage', `unexpected argument "${name}"`);
      return { action: 'list', target, json };
    }
    if (sub !== 'add' && sub !== 'rm')
      throw new PeriscopeError(
        'bad-usage',
        `unknown subcommand "${sub}"; give one of: add NAME, list, rm NAME`,
      );
    if (name === undefined)
      throw new PeriscopeError('bad-usage', `give the probe's name: periscope probe ${sub} NAME`);
    if (sub === 'rm') return { action: 'rm', name, target, json };
    const fields = probeFields(name, {
      program: textOption(values, 'program'),
      match: listOption(values, 'match'),
      function: textOption(values, 'function'),
      return: textOption(values, 'return'),
      line: textOption(values, 'line'),
      capture: listOption(values, 'capture'),
      if: textOption(values, 'if'),
      rate: textOption(values, 'rate'),
      burst: textOption(values, 'burst'),
      stack: textOption(values, 'stack'),
      duration: flagOption(values, 'duration'),
      labels: flagOption(values, 'labels'),
      ttl: textOption(values, 'ttl'),
      maxCpu: textOption(values, 'max-cpu'),
    });
    return { action: 'add', fields, force: flagOption(values, 'force'), target, json };
  },
  async run({ target, ...o }) {
    await run(target, o);
  },
});
