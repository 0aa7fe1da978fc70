/**
 * `periscope traces [--trace NAME] [--outcome error|panic|slow|condition] [--last N] [--json]`:
 * the latest kept request traces (docs/traces.md), newest first: one line per trace (end time,
 * trace, outcome, duration, process, goroutine, captured values, error), then its events in
 * order, one indented line each (time since the start, goroutine, probe, function, values).
 * --json prints one JSON object per trace per line.
 */
import type { TraceView } from '../../api/responses.js';
import { ApiClient } from '../api-client.js';
import { defineCommand } from '../command.js';
import { summaryOf } from '../command-list.js';
import { flagOption, positiveIntOption, textOption } from '../options.js';
import { out } from '../output.js';
import { SERVER_OPTIONS, serverTarget } from '../target.js';

function valueText(v: unknown): string {
  const s = typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? 'null');
  return s.length > 200 ? `${s.slice(0, 199)}…` : s;
}

const values = (vs: Readonly<Record<string, unknown>>) =>
  Object.entries(vs).map(([k, v]) => `${k}=${valueText(v)}`);

/** One trace as lines: its header, then its events. */
export function traceLines(t: TraceView): string[] {
  const head = [
    new Date(t.endUs / 1000).toISOString(),
    t.trace,
    t.outcome,
    `${(t.durationNs / 1e6).toFixed(3)}ms`,
    t.process,
    `g${t.goroutine}`,
    ...values(t.start),
    ...values(t.end).filter((x) => !x.startsWith('error=')),
    ...(t.error !== undefined ? [`error=${valueText(t.error)}`] : []),
    `goroutines=${t.goroutines.length}`,
    ...(t.eventsDropped > 0 ? [`events_dropped=${t.eventsDropped}`] : []),
  ].join('  ');
  const events = t.events.map((e) =>
    [
      `  +${((e.timeUs - t.startUs) / 1000).toFixed(3)}ms`,
      `g${e.goroutine}`,
      e.probe,
      e.function,
      ...values(e.values),
    ].join('  '),
  );
  return [head, ...events];
}

/** `periscope traces`. */
export const tracesCommand = defineCommand({
  name: 'traces',
  summary: summaryOf('traces'),
  args: '',
  options: {
    trace: { type: 'string', value: 'NAME', help: 'only this trace’s requests' },
    outcome: { type: 'string', value: 'WHY', help: 'only those kept for: error, panic, slow or condition' },
    last: { type: 'string', value: 'N', help: 'the latest N kept traces (default 10)' },
    json: { type: 'boolean', help: 'one JSON object per trace per line' },
    ...SERVER_OPTIONS,
  },
  details:
    'Kept traces are also rows of the tables traces and trace_events, and trace_counts says\n' +
    'what each trace kept and dropped (periscope query). docs/traces.md explains traces.\n\n' +
    'Examples:\n  periscope traces --trace checkout --outcome error\n  periscope traces --last 50 --json',
  parse(values) {
    const outcome = textOption(values, 'outcome');
    return {
      target: serverTarget(values),
      trace: textOption(values, 'trace'),
      outcome,
      last: positiveIntOption(values, 'last', 'a number of traces') ?? 10,
      json: flagOption(values, 'json'),
    };
  },
  async run({ target, trace, outcome, last, json }) {
    const client = new ApiClient(target);
    const r = await client.traces({
      ...(trace ? { trace } : {}),
      ...(outcome ? { outcome: outcome as TraceView['outcome'] } : {}),
      limit: last,
    });
    for (const t of r.traces) for (const line of json ? [JSON.stringify(t)] : traceLines(t)) out(line);
  },
});
