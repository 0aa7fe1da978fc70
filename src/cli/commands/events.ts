/**
 * `periscope events [--probe NAME] [--follow] [--last N] [--count N] [--json]`: the latest
 * events of the server's probes, one line each (time, probe, process, goroutine, function,
 * each capture as COLUMN=VALUE); with --follow, then every new one as it is stored (long
 * polling of GET /v1/events) until interrupted, or until --count events were printed.
 * --json prints one JSON object per line.
 */
import type { ProbeEventView } from '../../api/responses.js';
import { ApiClient } from '../api-client.js';
import { defineCommand } from '../command.js';
import { summaryOf } from '../command-list.js';
import { flagOption, positiveIntOption, textOption } from '../options.js';
import { out } from '../output.js';
import { SERVER_OPTIONS, serverTarget } from '../target.js';

/** How long one request of --follow waits for new events, ms. */
const FOLLOW_WAIT_MS = 25_000;

function valueText(v: unknown): string {
  const s = typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? 'null');
  return s.length > 200 ? `${s.slice(0, 199)}…` : s;
}

/** One event as a line; `columns` names expressions by their probe's column. */
export function eventLine(e: ProbeEventView, columns: ReadonlyMap<string, string>): string {
  const name = (expr: string) => columns.get(`${e.probe}\u0000${expr}`) ?? expr;
  const parts = [
    new Date(e.timeUs / 1000).toISOString(),
    e.probe,
    e.process,
    `g${e.goroutine}`,
    e.site.line !== undefined && e.site.kind === 'line'
      ? `${e.site.function}:${e.site.line}`
      : e.site.function,
    ...Object.entries(e.values).map(([x, v]) => `${name(x)}=${valueText(v)}`),
    ...Object.entries(e.errors ?? {}).map(([x, why]) => `${name(x)}=<${why}>`),
    ...(e.durationNs !== undefined ? [`duration=${(e.durationNs / 1e6).toFixed(3)}ms`] : []),
    ...(e.labels ? [`labels=${JSON.stringify(e.labels)}`] : []),
  ];
  return parts.join('  ');
}

export const eventsCommand = defineCommand({
  name: 'events',
  summary: summaryOf('events'),
  args: '',
  options: {
    probe: { type: 'string', value: 'NAME', help: 'only this probe’s events' },
    follow: { type: 'boolean', help: 'keep printing events as they come (Ctrl-C stops)' },
    last: { type: 'string', value: 'N', help: 'start with the latest N events (default 20)' },
    count: { type: 'string', value: 'N', help: 'stop after N events (with --follow: wait for them)' },
    json: { type: 'boolean', help: 'one JSON object per event per line' },
    ...SERVER_OPTIONS,
  },
  details:
    'Every event is also a row of the table named after its probe and of probe_events\n' +
    '(periscope query "SELECT * FROM reserves"). docs/probes.md explains probes.\n\n' +
    'Examples:\n  periscope events --probe reserves --follow\n  periscope events --probe reserves --follow --count 3\n' +
    '  periscope events --last 100 --json',
  parse(values) {
    return {
      target: serverTarget(values),
      probe: textOption(values, 'probe'),
      follow: flagOption(values, 'follow'),
      last: positiveIntOption(values, 'last', 'a number of events') ?? 20,
      count: positiveIntOption(values, 'count', 'a number of events') ?? Number.POSITIVE_INFINITY,
      json: flagOption(values, 'json'),
    };
  },
  async run({ target, probe, follow, last, count, json }) {
    const client = new ApiClient(target);
    const columns = new Map<string, string>();
    if (!json)
      for (const p of (await client.probes()).probes)
        for (const [col, expr] of Object.entries(p.captures)) columns.set(`${p.name}\u0000${expr}`, col);
    let printed = 0;
    const print = (e: ProbeEventView) => {
      if (printed++ < count) out(json ? JSON.stringify(e) : eventLine(e, columns));
    };
    const first = await client.events({ ...(probe ? { probe } : {}), last: Math.min(last, count) });
    for (const e of first.events) print(e);
    if (!follow || printed >= count) return;
    let next = first.next;
    for (;;) {
      const r = await client.events({
        ...(probe ? { probe } : {}),
        after: next,
        limit: 1000,
        waitMs: FOLLOW_WAIT_MS,
      });
      for (const e of r.events) print(e);
      if (printed >= count) return;
      next = r.next;
    }
  },
});
