/**
 * The Investigations view's "add an investigation" form as the body of POST /v1/investigations
 * (docs/investigations.md). Only what the form itself can get wrong is refused here; the server
 * checks durations, selectors, SQL, probes and traces. No DOM, so tests run it in Node.
 */

/** The form's fields, as typed. */
export interface InvestigationFormFields {
  readonly name: string;
  readonly question: string;
  readonly trigger: 'schedule' | 'probe' | 'slow' | 'error';
  /** schedule: how often, and which processes (a selector; empty: every process). */
  readonly every: string;
  readonly select: string;
  /** probe: its name and an optional SQL condition. */
  readonly probe: string;
  readonly where: string;
  /** slow / error: the trace (empty: any), and for slow the duration. */
  readonly trace: string;
  readonly over: string;
  /** The snapshot taken when it fires (empty: the server's default for the trigger). */
  readonly snapshot: '' | 'process' | 'program' | 'none';
  readonly maxFires: string;
  readonly minInterval: string;
  /** One report query a line: `NAME=SQL`. */
  readonly reports: string;
}

/** The body the fields describe, or the error saying what to fix. */
export function investigationBody(f: InvestigationFormFields): Record<string, unknown> | Error {
  const name = f.name.trim();
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) return new Error('Name: letters, digits, _ . and -.');
  const opt = (k: string, v: string) => (v.trim() !== '' ? { [k]: v.trim() } : {});
  let trigger: Record<string, unknown>;
  if (f.trigger === 'schedule') {
    if (f.every.trim() === '') return new Error('Every: how often to snapshot, e.g. 5m.');
    trigger = { schedule: { every: f.every.trim(), ...opt('select', f.select) } };
  } else if (f.trigger === 'probe') {
    if (f.probe.trim() === '') return new Error('Probe: the name of a probe of the spec.');
    trigger = { probe: { name: f.probe.trim(), ...opt('where', f.where) } };
  } else if (f.trigger === 'slow') trigger = { slow: { ...opt('trace', f.trace), ...opt('over', f.over) } };
  else trigger = { error: { ...opt('trace', f.trace) } };
  const report: { name: string; sql: string }[] = [];
  for (const raw of f.reports.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+)$/s.exec(line);
    if (!m) return new Error(`Report: one query a line as NAME=SQL (not "${line}").`);
    report.push({ name: m[1] as string, sql: (m[2] as string).trim() });
  }
  const limits: Record<string, unknown> = {};
  if (f.maxFires.trim() !== '') {
    const n = Number(f.maxFires.trim());
    if (!Number.isInteger(n) || n < 1)
      return new Error(`At most: a whole number of firings (not "${f.maxFires}").`);
    limits.maxFires = n;
  }
  if (f.minInterval.trim() !== '') limits.minInterval = f.minInterval.trim();
  return {
    name,
    ...opt('question', f.question),
    triggers: [trigger],
    ...(f.snapshot !== '' ? { snapshot: f.snapshot } : {}),
    ...(report.length > 0 ? { report } : {}),
    ...(Object.keys(limits).length > 0 ? { limits } : {}),
  };
}
