/**
 * The flags of `periscope probe add` as a `probes:` entry of the spec (its YAML keys), which
 * the server adds to the spec and checks with everything else. Only what the flags themselves
 * can get wrong is refused here.
 */
import { PeriscopeError } from '../../common/errors.js';

/** The flags of `probe add`, as given. */
export interface ProbeFlags {
  readonly program: string | undefined;
  readonly match: readonly string[];
  readonly function: string | undefined;
  readonly return: string | undefined;
  readonly line: string | undefined;
  readonly capture: readonly string[];
  readonly if: string | undefined;
  readonly rate: string | undefined;
  readonly burst: string | undefined;
  readonly stack: string | undefined;
  readonly duration: boolean;
  readonly labels: boolean;
  readonly ttl: string | undefined;
  readonly maxCpu: string | undefined;
}

function usage(message: string): PeriscopeError {
  return new PeriscopeError('bad-usage', message);
}

/** A column name for an expression given without one: `req.User` -> `req_user`. */
export function columnFor(expr: string): string {
  const c = expr
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase();
  return /^[a-z_]/.test(c) ? c : `v_${c}`;
}

/** `COL=EXPR` or `EXPR` (whose `=` belongs to the expression when it is `==`, `<=`, …). */
function splitCapture(text: string): [string, string] {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)=(?!=)(.+)$/s.exec(text);
  if (m) return [m[1]!, m[2]!];
  if (text.trim() === '') throw usage('--capture takes [COL=]EXPR, e.g. --capture user=req.User');
  return [columnFor(text), text];
}

function num(
  text: string | undefined,
  flag: string,
  ok: (n: number) => boolean,
  what: string,
): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text.replace(/\/s$/, ''));
  if (!Number.isFinite(n) || !ok(n)) throw usage(`--${flag} takes ${what}, not "${text}"`);
  return n;
}

/** The probe entry the flags describe. */
export function probeFields(name: string, f: ProbeFlags): Record<string, unknown> {
  const sites = (['function', 'return', 'line'] as const).filter((k) => f[k] !== undefined);
  if (sites.length !== 1)
    throw usage(
      sites.length === 0
        ? 'say where: --function FUNC (its entry), --return FUNC (its returns) or --line FILE:LINE'
        : `give one of --function, --return, --line, not ${sites.map((s) => `--${s}`).join(' and ')}`,
    );
  if (f.program === undefined && f.match.length === 0)
    throw usage('say which processes: --program NAME (a program of the spec) or --match LABEL=RE');
  const match: Record<string, string> = {};
  for (const m of f.match) {
    const eq = m.indexOf('=');
    if (eq <= 0) throw usage(`--match takes LABEL=RE, not "${m}"`);
    match[m.slice(0, eq)] = m.slice(eq + 1);
  }
  const capture: Record<string, string> = {};
  for (const c of f.capture) {
    const [col, expr] = splitCapture(c);
    if (capture[col] !== undefined) throw usage(`--capture: column ${col} is given twice`);
    capture[col] = expr;
  }
  const rate = num(f.rate, 'rate', (n) => n > 0, 'events a second (a positive number)');
  const burst = num(f.burst, 'burst', (n) => Number.isInteger(n) && n >= 1, 'a positive integer');
  const stack = num(
    f.stack,
    'stack',
    (n) => Number.isInteger(n) && n >= 0 && n <= 32,
    'a number of frames from 0 to 32',
  );
  const site = sites[0]!;
  return {
    name,
    ...(f.program !== undefined ? { program: f.program } : {}),
    ...(f.match.length > 0 ? { match } : {}),
    [site]: f[site],
    ...(Object.keys(capture).length > 0 ? { capture } : {}),
    ...(f.if !== undefined ? { condition: f.if } : {}),
    ...(rate !== undefined ? { rateLimit: rate } : {}),
    ...(burst !== undefined ? { burst } : {}),
    ...(stack ? { stack } : {}),
    ...(f.duration ? { duration: true } : {}),
    ...(f.labels ? { labels: true } : {}),
    ...(f.ttl !== undefined ? { ttl: f.ttl } : {}),
    ...(f.maxCpu !== undefined ? { maxCpu: f.maxCpu.endsWith('%') ? f.maxCpu : `${f.maxCpu}%` } : {}),
  };
}
