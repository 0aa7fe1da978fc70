/**
 * The `traces:` section of a spec (docs/traces.md): each request trace checked for shape,
 * with errors at their line and column. Whether its function and expressions fit a binary is
 * the agents' check (the probe compiler, through the probes a trace makes: trace-probes.ts).
 */
import type { Node, YAMLMap } from 'yaml';
import { parseDuration } from '../common/go-duration.js';
import {
  type ParseContext,
  parseCapture,
  parseMatch,
  parseProbeLimits,
  parseShare,
  parseSite,
  parseTtl,
  withExprAt,
} from './probe-parse.js';
import type { CaptureSpec, SpecExpr } from './spec-types.js';
import { builtinTrace } from './trace-builtins.js';
import { conditionNames, parseTraceCondition, TraceConditionError } from './trace-condition.js';
import type { TraceEntry, TraceKeep, TraceLimits, TracePathProbe } from './trace-types.js';
import { isMap, isScalar, isSeq } from './yaml-lib.js';

/** The keys of a trace entry. */
export const TRACE_KEYS = [
  'name',
  'builtin',
  'program',
  'match',
  'function',
  'start',
  'end',
  'error',
  'probes',
  'keep',
  'limits',
  'values',
  'ttl',
  'maxCpu',
] as const;

/** An agent's bounds on a trace per process when its entry gives none. */
export const DEFAULT_TRACE_LIMITS: TraceLimits = {
  memoryBytes: 16 << 20,
  keptPerSecond: 100,
  eventsPerTrace: 256,
  eventsPerSecond: 20_000,
};

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const KEEP_KEYS = ['error', 'panic', 'slower_than', 'if'];

/** Parses one `traces:` entry; problems go to `ctx`, and undefined when it is unusable. */
export function parseTrace(ctx: ParseContext, m: YAMLMap): TraceEntry | undefined {
  for (const pair of m.items) {
    const k = isScalar(pair.key) ? String(pair.key.value) : '?';
    if (!(TRACE_KEYS as readonly string[]).includes(k))
      ctx.fail(pair.key as Node, `unknown key "${k}" in a trace; expected one of: ${TRACE_KEYS.join(', ')}`);
  }
  const node = (key: string) => m.get(key, true) as Node | undefined;
  const nameNode = node('name');
  const name = isScalar(nameNode) ? String(nameNode.value) : undefined;
  if (name === undefined) {
    ctx.fail(nameNode ?? m, 'a trace needs "name" (e.g. checkout)');
    return undefined;
  }
  const what = `trace "${name}"`;
  if (!NAME.test(name))
    ctx.fail(nameNode, `${what}: a trace name is 1-63 letters, digits and _ (not starting with a digit)`);
  const text = (key: string): string | undefined => {
    const n = node(key);
    if (n === undefined) return undefined;
    if (!isScalar(n) || typeof n.value !== 'string' || n.value.trim() === '') {
      ctx.fail(n, `${what}: "${key}" must be a string`);
      return undefined;
    }
    return n.value;
  };
  const builtinName = text('builtin');
  const builtin = builtinName === undefined ? undefined : builtinTrace(builtinName);
  if (builtinName !== undefined && !builtin)
    ctx.fail(
      node('builtin'),
      `${what}: "builtin" is http (net/http servers) or grpc (grpc-go unary handlers)`,
    );
  const program = text('program');
  const match = parseMatch(ctx, node('match'), what);
  if (program === undefined && match === undefined)
    ctx.fail(m, `${what} needs "program" (a program's name) or "match" (label -> regular expression)`);
  const fn = text('function') ?? builtin?.function;
  if (fn === undefined)
    ctx.fail(m, `${what} needs "function": its entry starts a request, its returns end it`);
  const start = [...(builtin?.start ?? []), ...parseCapture(ctx, node('start'), `${what}: start`)];
  const end = [...(builtin?.end ?? []), ...parseCapture(ctx, node('end'), `${what}: end`)];
  const errNode = node('error');
  const errText = text('error');
  const error: SpecExpr | undefined =
    errText === undefined || errNode === undefined
      ? builtin?.error
      : { expr: errText, at: ctx.pos(errNode), ...withExprAt(ctx, errNode, errText) };
  const columns = [...start, ...end, ...(error ? [{ column: 'error' } as CaptureSpec] : [])];
  const seen = new Set<string>();
  for (const c of columns) {
    if (seen.has(c.column))
      ctx.fail(errNode ?? m, `${what}: "${c.column}" is captured twice (start, end and error share names)`);
    seen.add(c.column);
  }
  const probes = [...(builtin?.probes ?? []), ...parsePath(ctx, node('probes'), what)];
  const keep = parseKeep(
    ctx,
    node('keep') ?? m,
    node('keep') === undefined,
    what,
    error !== undefined,
    columns,
    probes,
  );
  const limits = parseTraceLimits(ctx, node('limits'), what);
  const valueLimits = parseProbeLimits(ctx, node('values'), `${what}: values`);
  const ttlMs = parseTtl(ctx, node('ttl'), what);
  const maxCpu = parseShare(ctx, node('maxCpu'), what);
  if (fn === undefined || keep === undefined) return undefined;
  return {
    name,
    ...(program !== undefined ? { program } : {}),
    ...(match !== undefined ? { match } : {}),
    function: fn,
    start,
    end,
    ...(error ? { error } : {}),
    probes,
    keep,
    limits,
    ...(valueLimits ? { valueLimits } : {}),
    ttlMs,
    maxCpu,
    ...(builtin ? { builtin: builtinName as 'http' | 'grpc' } : {}),
    at: ctx.pos(m),
  };
}

function parsePath(ctx: ParseContext, n: Node | undefined, what: string): TracePathProbe[] {
  if (n === undefined) return [];
  if (!isSeq(n)) {
    ctx.fail(n, `${what}: "probes" is a list of probe names (of "probes:") or inline probes`);
    return [];
  }
  const out: TracePathProbe[] = [];
  for (const item of n.items as Node[]) {
    if (isScalar(item) && typeof item.value === 'string') {
      // The probes: entry's site and captures are filled in by the spec parser (spec-parse.ts).
      out.push({
        name: item.value,
        site: { kind: 'entry', function: '' },
        capture: [],
        from: item.value,
        at: ctx.pos(item),
      });
      continue;
    }
    if (!isMap(item)) {
      ctx.fail(
        item,
        `${what}: each of "probes" is a probe's name or a mapping (name, function|return|line, capture, condition)`,
      );
      continue;
    }
    for (const pair of item.items) {
      const k = isScalar(pair.key) ? String(pair.key.value) : '?';
      if (!['name', 'function', 'return', 'line', 'capture', 'condition'].includes(k))
        ctx.fail(
          pair.key as Node,
          `${what}: unknown key "${k}" in a path probe; expected name, function, return, line, capture, condition`,
        );
    }
    const nn = item.get('name', true) as Node | undefined;
    const pname = isScalar(nn) ? String(nn.value) : undefined;
    if (pname === undefined || !NAME.test(pname)) {
      ctx.fail(nn ?? item, `${what}: a path probe needs "name" (letters, digits and _)`);
      continue;
    }
    const pwhat = `${what}, probe "${pname}"`;
    const site = parseSite(ctx, item, pwhat, (k) => {
      const v = item.get(k, true) as Node | undefined;
      return isScalar(v) && typeof v.value === 'string' ? v.value : undefined;
    });
    const cn = item.get('condition', true) as Node | undefined;
    const condition =
      isScalar(cn) && typeof cn.value === 'string'
        ? { expr: cn.value, at: ctx.pos(cn), ...withExprAt(ctx, cn, cn.value) }
        : undefined;
    const capture = parseCapture(ctx, item.get('capture', true) as Node | undefined, pwhat);
    if (site)
      out.push({ name: pname, site, capture, ...(condition ? { condition } : {}), at: ctx.pos(item) });
  }
  const names = new Set<string>();
  for (const p of out) {
    if (names.has(p.name)) ctx.fail(n, `${what}: path probe "${p.name}" is listed twice`);
    names.add(p.name);
  }
  return out;
}

function parseKeep(
  ctx: ParseContext,
  n: Node,
  missing: boolean,
  what: string,
  hasError: boolean,
  columns: readonly CaptureSpec[],
  probes: readonly TracePathProbe[],
): TraceKeep | undefined {
  const hint = `${what}: "keep" is error, panic, {slower_than: 200ms}, {if: CONDITION}, or a list of them`;
  if (missing) {
    ctx.fail(n, `${what} needs "keep": which finished requests are kept (the rest are only counted)`);
    return undefined;
  }
  const rules: [string, Node, Node | null][] = [];
  const add = (x: Node) => {
    if (isScalar(x) && typeof x.value === 'string') rules.push([x.value, x, null]);
    else if (isMap(x))
      for (const p of x.items)
        rules.push([isScalar(p.key) ? String(p.key.value) : '?', p.key as Node, p.value as Node | null]);
    else ctx.fail(x, hint);
  };
  if (isSeq(n)) for (const x of n.items as Node[]) add(x);
  else add(n);
  let keep: { -readonly [K in keyof TraceKeep]: TraceKeep[K] } = { error: false, panic: false };
  for (const [k, at, v] of rules) {
    if (!KEEP_KEYS.includes(k)) {
      ctx.fail(at, hint);
      continue;
    }
    if (k === 'error' || k === 'panic') {
      if (v !== null && !(isScalar(v) && v.value === true))
        ctx.fail(v, `${what}: keep "${k}" takes no value`);
      keep[k] = true;
      if (k === 'error' && !hasError)
        ctx.fail(
          at,
          `${what}: keep "error" needs "error": the expression at the returns that is the request's error (e.g. err, or r1 for an unnamed second result)`,
        );
    } else if (k === 'slower_than') {
      const ns = isScalar(v) && typeof v.value === 'string' ? parseDuration(v.value.trim()) : undefined;
      if (ns === undefined || ns < 1e6 || ns > 3600e9)
        ctx.fail(v ?? at, `${what}: "slower_than" is a duration from 1ms to 1h, e.g. 200ms`);
      else keep.slowerThanMs = ns / 1e6;
    } else {
      if (!isScalar(v) || typeof v.value !== 'string') {
        ctx.fail(v ?? at, `${what}: "if" is a condition on captured values, e.g. 'user == "alice"'`);
        continue;
      }
      const exprAt = ctx.verbatimAt(v, v.value);
      try {
        const c = parseTraceCondition(v.value);
        const known = new Set([
          ...columns.map((x) => x.column),
          ...probes.flatMap((p) => (p.from ? [] : p.capture.map((x) => `${p.name}.${x.column}`))),
        ]);
        for (const nm of conditionNames(c))
          if (!known.has(nm) && !probes.some((p) => p.from && nm.startsWith(`${p.name}.`)))
            throw new TraceConditionError(
              `"${nm}" is not captured; the names are: ${[...known].join(', ') || 'none'}`,
              v.value.indexOf(nm) + 1,
            );
        keep = { ...keep, condition: { expr: v.value, at: ctx.pos(v), ...(exprAt ? { exprAt } : {}) } };
      } catch (e) {
        if (!(e instanceof TraceConditionError)) throw e;
        ctx.fail(v, `${what}: keep "if", at column ${e.column} of the condition: ${e.message}`);
      }
    }
  }
  return keep;
}

function parseTraceLimits(ctx: ParseContext, n: Node | undefined, what: string): TraceLimits {
  if (n === undefined) return DEFAULT_TRACE_LIMITS;
  if (!isMap(n)) {
    ctx.fail(n, `${what}: "limits" is a mapping of memory, keptPerSecond, eventsPerTrace, eventsPerSecond`);
    return DEFAULT_TRACE_LIMITS;
  }
  const out = { ...DEFAULT_TRACE_LIMITS };
  for (const pair of n.items) {
    const k = isScalar(pair.key) ? String(pair.key.value) : '?';
    const v = pair.value as Node | null;
    const val = isScalar(v) ? v.value : undefined;
    if (k === 'memory') {
      const b = bytesOf(val);
      if (b === undefined || b < 64 << 10 || b > 1 << 30)
        ctx.fail(v ?? (pair.key as Node), `${what}: limits.memory is from 64KiB to 1GiB, e.g. 16MiB`);
      else out.memoryBytes = b;
      continue;
    }
    const max = { keptPerSecond: 100_000, eventsPerTrace: 100_000, eventsPerSecond: 1_000_000 }[k];
    if (max === undefined) {
      ctx.fail(
        pair.key as Node,
        `${what}: unknown key "${k}" in limits; expected memory, keptPerSecond, eventsPerTrace, eventsPerSecond`,
      );
      continue;
    }
    if (typeof val !== 'number' || !Number.isInteger(val) || val < 1 || val > max)
      ctx.fail(v ?? (pair.key as Node), `${what}: limits.${k} is an integer from 1 to ${max}`);
    else out[k as 'keptPerSecond'] = val;
  }
  return out;
}

/** Bytes in `16MiB`, `512KiB`, `1GiB` or a plain number. */
function bytesOf(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  const m = typeof v === 'string' ? /^(\d+)\s*(KiB|MiB|GiB|B)?$/.exec(v.trim()) : null;
  if (!m) return undefined;
  return Number(m[1]) * ({ B: 1, KiB: 1024, MiB: 1 << 20, GiB: 1 << 30 }[m[2] ?? 'B'] ?? 1);
}
