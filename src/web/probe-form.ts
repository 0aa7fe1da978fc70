/**
 * The probes view's "add a probe" form as a `probes:` entry of the spec (the body of
 * POST /v1/probes). Only what the form itself can get wrong is refused here; the server checks
 * the rest against every binary. No DOM, so tests run it in Node.
 */

/** The form's fields, as typed. */
export interface ProbeFormFields {
  readonly name: string;
  readonly program: string;
  /** Where: the function's entry, its returns, or FILE:LINE. */
  readonly at: 'function' | 'return' | 'line';
  readonly where: string;
  /** One capture a line: `COLUMN=EXPRESSION` or `EXPRESSION`. */
  readonly captures: string;
  readonly condition: string;
  /** Events a second per process (empty: the server's default). */
  readonly rate: string;
  /** Time to live, e.g. `30m` (empty: the server's default). */
  readonly ttl: string;
  readonly duration: boolean;
  /** Keep each event's stack (16 frames). */
  readonly stack?: boolean;
}

/** A column name for an expression given without one (`req.User` → `req_user`), as the CLI names it. */
export function columnFor(expr: string): string {
  const c = expr
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase();
  return /^[a-z_]/.test(c) ? c : `v_${c}`;
}

/** Column → expression from one capture a line (`COLUMN=EXPRESSION` or `EXPRESSION`); `field` names the box in errors. */
export function captureLines(text: string, field: string): Record<string, string> | Error {
  const capture: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*=(?!=)\s*(.+)$/s.exec(line);
    const [col, expr] = m ? [m[1] as string, (m[2] as string).trim()] : [columnFor(line), line];
    if (capture[col] !== undefined) return new Error(`${field}: column ${col} is given twice.`);
    capture[col] = expr;
  }
  return capture;
}

/** The entry the fields describe, or the error saying what to fix. */
export function probeEntry(f: ProbeFormFields): Record<string, unknown> | Error {
  const name = f.name.trim();
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name))
    return new Error('Name: 1 to 63 letters, digits and _, not starting with a digit (it names a table).');
  if (f.program.trim() === '') return new Error('Pick the program whose processes get the probe.');
  const where = f.where.trim();
  if (where === '')
    return new Error(
      f.at === 'line' ? 'Give the line as FILE:LINE.' : 'Give the function, e.g. main.handle.',
    );
  const capture = captureLines(f.captures, 'Captures');
  if (capture instanceof Error) return capture;
  const rate = f.rate.trim().replace(/\/s$/, '');
  if (rate !== '' && !(Number(rate) > 0))
    return new Error(`Rate: events a second, a positive number (not "${f.rate}").`);
  const ttl = f.ttl.trim();
  if (ttl !== '' && !/^\d+(\.\d+)?(ms|s|m|h)$/.test(ttl))
    return new Error(`Time to live: a duration such as 30s, 10m or 2h (not "${f.ttl}").`);
  return {
    name,
    program: f.program.trim(),
    [f.at]: where,
    ...(Object.keys(capture).length > 0 ? { capture } : {}),
    ...(f.condition.trim() !== '' ? { condition: f.condition.trim() } : {}),
    ...(rate !== '' ? { rateLimit: Number(rate) } : {}),
    ...(f.duration ? { duration: true } : {}),
    ...(f.stack ? { stack: true } : {}),
    ...(ttl !== '' ? { ttl } : {}),
  };
}
