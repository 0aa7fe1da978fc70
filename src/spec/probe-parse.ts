/**
 * The `probes:` section of a spec: each entry checked for shape, with errors at its line and
 * column that name the probe and the key. Whether its function and expressions fit a binary
 * is the agents' check (the probe compiler), not this module's.
 */
import type { Node, YAMLMap } from 'yaml';
import { parseDuration } from '../common/go-duration.js';
import type {
  CaptureSpec,
  ProbeEntry,
  ProbeSite,
  SpecExpr,
  SpecPosition,
  ValueLimits,
} from './spec-types.js';
import { isMap, isScalar } from './yaml-lib.js';

/** A probe lives this long when its entry gives no `ttl`. */
export const DEFAULT_PROBE_TTL_MS = 3_600_000;
/** The longest `ttl` accepted: a probe is a question asked for a while, not a permanent log. */
export const MAX_PROBE_TTL_MS = 7 * 86_400_000;
/** The CPU share a probe may cost a process when its entry gives no `maxCpu`. */
export const DEFAULT_PROBE_MAX_CPU = 0.05;
/** The most stack frames a probe keeps per event. */
export const MAX_PROBE_STACK = 32;
/** Frames kept for `stack: true`. */
export const DEFAULT_PROBE_STACK = 16;
/** The largest value limits a probe accepts (the BPF stack and record sizes follow from them). */
export const PROBE_LIMIT_CEILINGS: ValueLimits = { maxString: 4096, maxElements: 64, maxDepth: 6 };

/** The keys of a probe entry. */
export const PROBE_KEYS = [
  'name',
  'program',
  'match',
  'function',
  'return',
  'line',
  'capture',
  'condition',
  'rateLimit',
  'burst',
  'stack',
  'duration',
  'labels',
  'ttl',
  'maxCpu',
  'limits',
] as const;

/** What probe parsing needs of the spec parser's context. */
export interface ParseContext {
  pos(node: Node | null | undefined): SpecPosition;
  verbatimAt(node: Node, value: string): SpecPosition | undefined;
  fail(node: Node | null | undefined, message: string): void;
}

const SQL_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** The canonical text of what a probe does (positions left out): equal texts, the same probe. */
export function probeDefinitionKey(p: ProbeEntry): string {
  const { at: _at, condition, capture, ...rest } = p;
  return JSON.stringify({
    ...rest,
    capture: capture.map((c) => [c.column, c.expr]),
    condition: condition?.expr,
  });
}

/** The site as the user writes it: `main.handle`, `return main.handle`, `main.go:42` (a trace's call site: `F -> G`). */
export function probeSiteText(s: ProbeSite): string {
  if (s.kind === 'line') return `${s.file}:${s.line}`;
  if (s.kind === 'call') return `${s.function} -> ${s.callee}`;
  return `${s.kind === 'return' ? 'return ' : ''}${s.function}`;
}

/** Parses one `probes:` entry; problems go to `ctx`, and undefined when it is unusable. */
export function parseProbe(ctx: ParseContext, m: YAMLMap): ProbeEntry | undefined {
  for (const pair of m.items) {
    const k = isScalar(pair.key) ? String(pair.key.value) : '?';
    if (!(PROBE_KEYS as readonly string[]).includes(k))
      ctx.fail(pair.key as Node, `unknown key "${k}" in a probe; expected one of: ${PROBE_KEYS.join(', ')}`);
  }
  const node = (key: string) => m.get(key, true) as Node | undefined;
  const nameNode = node('name');
  const name = isScalar(nameNode) ? String(nameNode.value) : undefined;
  if (name === undefined) {
    ctx.fail(nameNode ?? m, 'a probe needs "name" (its table\'s name, e.g. reserves)');
    return undefined;
  }
  const what = `probe "${name}"`;
  if (!SQL_NAME.test(name))
    ctx.fail(
      nameNode,
      `${what}: a probe name is 1-63 letters, digits and _ (not starting with a digit): it names its table`,
    );
  const text = (key: string): string | undefined => {
    const n = node(key);
    if (n === undefined) return undefined;
    if (
      !isScalar(n) ||
      (typeof n.value !== 'string' && typeof n.value !== 'number') ||
      String(n.value).trim() === ''
    ) {
      ctx.fail(n, `${what}: "${key}" must be a string`);
      return undefined;
    }
    return String(n.value);
  };
  const program = text('program');
  const match = parseMatch(ctx, node('match'), what);
  if (program === undefined && match === undefined)
    ctx.fail(
      m,
      `${what} needs "program" (a program's name) or "match" (label -> regular expression): the processes it goes to`,
    );
  const site = parseSite(ctx, m, what, text);
  const capture = parseCapture(ctx, node('capture'), what);
  const condNode = node('condition');
  const condText = text('condition');
  const condition: SpecExpr | undefined =
    condText === undefined || condNode === undefined
      ? undefined
      : { expr: condText, at: ctx.pos(condNode), ...withExprAt(ctx, condNode, condText) };
  const rate = numberOf(
    ctx,
    node('rateLimit'),
    `${what}: "rateLimit" must be events a second, from 0.001 to 1000000000`,
    (v) => v >= 0.001 && v <= 1e9,
  );
  const burst = numberOf(
    ctx,
    node('burst'),
    `${what}: "burst" must be an integer from 1 to 1000000`,
    (v) => Number.isInteger(v) && v >= 1 && v <= 1e6,
  );
  if (burst !== undefined && rate === undefined)
    ctx.fail(node('burst'), `${what}: "burst" goes with "rateLimit"`);
  const stack = parseStack(ctx, node('stack'), what);
  const duration = boolOf(ctx, node('duration'), `${what}: "duration" must be true or false`);
  if (duration && site?.kind === 'line')
    ctx.fail(node('duration'), `${what}: "duration" needs a function site (function or return), not a line`);
  const labels = boolOf(ctx, node('labels'), `${what}: "labels" must be true or false`);
  const ttlMs = parseTtl(ctx, node('ttl'), what);
  const maxCpu = parseShare(ctx, node('maxCpu'), what);
  const limits = parseProbeLimits(ctx, node('limits'), what);
  if (site === undefined) return undefined;
  return {
    name,
    ...(program !== undefined ? { program } : {}),
    ...(match !== undefined ? { match } : {}),
    site,
    capture,
    ...(condition ? { condition } : {}),
    ...(rate !== undefined
      ? { rateLimit: { perSecond: rate, ...(burst !== undefined ? { burst } : {}) } }
      : {}),
    stack,
    duration,
    labels,
    ttlMs,
    maxCpu,
    ...(limits ? { limits } : {}),
    at: ctx.pos(m),
  };
}

/** Where an expression's first character is in the file, when its columns are the file's. */
export function withExprAt(ctx: ParseContext, n: Node, value: string): { exprAt?: SpecPosition } {
  const exprAt = ctx.verbatimAt(n, value);
  return exprAt ? { exprAt } : {};
}

/** A `match:` mapping of label names to regular expressions (probes and traces). */
export function parseMatch(
  ctx: ParseContext,
  n: Node | undefined,
  what: string,
): Record<string, string> | undefined {
  if (n === undefined) return undefined;
  if (!isMap(n)) {
    ctx.fail(n, `${what}: "match" maps label names to regular expressions, e.g. exe_name: "^orders$"`);
    return undefined;
  }
  const out: Record<string, string> = {};
  for (const pair of n.items) {
    const label = isScalar(pair.key) ? String(pair.key.value) : '';
    const v = pair.value as Node | null;
    if (!isScalar(v) || (typeof v.value !== 'string' && typeof v.value !== 'number')) {
      ctx.fail(v ?? (pair.key as Node), `${what}: label "${label}" needs a regular expression as a string`);
      continue;
    }
    try {
      new RegExp(String(v.value));
    } catch (e) {
      ctx.fail(v, `${what}: label "${label}": ${(e as Error).message}`);
    }
    out[label] = String(v.value);
  }
  return out;
}

/** A probe site: exactly one of `function`, `return`, `line` (probes and trace path probes). */
export function parseSite(
  ctx: ParseContext,
  m: YAMLMap,
  what: string,
  text: (key: string) => string | undefined,
): ProbeSite | undefined {
  const given = (['function', 'return', 'line'] as const).filter((k) => m.get(k, true) !== undefined);
  if (given.length !== 1) {
    ctx.fail(
      given.length > 1 ? (m.get(given[1]!, true) as Node) : m,
      `${what} needs one site: "function" (its entry and every inlined copy), "return" (every return of a function) or "line" (FILE:LINE)${given.length > 1 ? `, not both ${given.join(' and ')}` : ''}`,
    );
    return undefined;
  }
  const key = given[0]!;
  const v = text(key);
  if (v === undefined) return undefined;
  if (key !== 'line') return { kind: key === 'function' ? 'entry' : 'return', function: v };
  const lm = /^(.+):([1-9]\d{0,8})$/.exec(v);
  if (!lm) {
    ctx.fail(
      m.get('line', true) as Node,
      `${what}: "line" is FILE:LINE, e.g. main.go:42 (the file is a path suffix)`,
    );
    return undefined;
  }
  return { kind: 'line', file: lm[1]!, line: Number(lm[2]) };
}

/** A `capture:` mapping of column names to Go expressions. */
export function parseCapture(ctx: ParseContext, n: Node | undefined, what: string): CaptureSpec[] {
  if (n === undefined || (isScalar(n) && n.value === null)) return [];
  if (!isMap(n)) {
    ctx.fail(n, `${what}: "capture" maps column names to Go expressions, e.g. user: req.User`);
    return [];
  }
  const out: CaptureSpec[] = [];
  for (const pair of n.items) {
    const col = isScalar(pair.key) ? String(pair.key.value) : '';
    const v = pair.value as Node | null;
    if (!SQL_NAME.test(col))
      ctx.fail(pair.key as Node, `${what}: column name "${col}" must be letters, digits and _`);
    if (out.some((c) => c.column === col))
      ctx.fail(pair.key as Node, `${what}: column "${col}" is captured twice`);
    if (!isScalar(v) || typeof v.value !== 'string' || v.value.trim() === '') {
      ctx.fail(v ?? (pair.key as Node), `${what}: capture "${col}" needs a Go expression as a string`);
      continue;
    }
    out.push({ column: col, expr: v.value, at: ctx.pos(v), ...withExprAt(ctx, v, v.value) });
  }
  return out;
}

function numberOf(
  ctx: ParseContext,
  n: Node | undefined,
  message: string,
  ok: (v: number) => boolean,
): number | undefined {
  if (n === undefined) return undefined;
  if (!isScalar(n) || typeof n.value !== 'number' || !ok(n.value)) {
    ctx.fail(n, message);
    return undefined;
  }
  return n.value;
}

function boolOf(ctx: ParseContext, n: Node | undefined, message: string): boolean {
  if (n === undefined) return false;
  if (!isScalar(n) || typeof n.value !== 'boolean') {
    ctx.fail(n, message);
    return false;
  }
  return n.value;
}

function parseStack(ctx: ParseContext, n: Node | undefined, what: string): number {
  if (n === undefined) return 0;
  if (isScalar(n) && typeof n.value === 'boolean') return n.value ? DEFAULT_PROBE_STACK : 0;
  if (
    isScalar(n) &&
    typeof n.value === 'number' &&
    Number.isInteger(n.value) &&
    n.value >= 0 &&
    n.value <= MAX_PROBE_STACK
  )
    return n.value;
  ctx.fail(n, `${what}: "stack" is true, false or a number of frames from 0 to ${MAX_PROBE_STACK}`);
  return 0;
}

/** A `ttl:` duration from 1s to 168h (default 1h). */
export function parseTtl(ctx: ParseContext, n: Node | undefined, what: string): number {
  if (n === undefined) return DEFAULT_PROBE_TTL_MS;
  const ns = isScalar(n) && typeof n.value === 'string' ? parseDuration(n.value.trim()) : undefined;
  const ms = ns === undefined ? undefined : ns / 1e6;
  if (ms === undefined || ms < 1000 || ms > MAX_PROBE_TTL_MS) {
    ctx.fail(
      n,
      `${what}: "ttl" is how long the probe stays on, a duration from 1s to 168h, e.g. 10m or 2h30m`,
    );
    return DEFAULT_PROBE_TTL_MS;
  }
  return Math.round(ms);
}

/** A `maxCpu:` share such as 2% (default 5%). */
export function parseShare(ctx: ParseContext, n: Node | undefined, what: string): number {
  if (n === undefined) return DEFAULT_PROBE_MAX_CPU;
  const m = isScalar(n) ? /^(\d+(?:\.\d+)?)\s*%$/.exec(String(n.value).trim()) : null;
  const share = m ? Number(m[1]) / 100 : Number.NaN;
  if (!(share > 0 && share <= 1)) {
    ctx.fail(n, `${what}: "maxCpu" is a share of the process's CPU time, from 0.01% to 100%, e.g. 2%`);
    return DEFAULT_PROBE_MAX_CPU;
  }
  return share;
}

/** A `limits:` mapping of value limits (maxString, maxElements, maxDepth). */
export function parseProbeLimits(
  ctx: ParseContext,
  n: Node | undefined,
  what: string,
): Partial<ValueLimits> | undefined {
  if (n === undefined) return undefined;
  if (!isMap(n)) {
    ctx.fail(n, `${what}: "limits" is a mapping of maxString, maxElements, maxDepth`);
    return undefined;
  }
  const out: { -readonly [k in keyof ValueLimits]?: number } = {};
  for (const pair of (n as YAMLMap).items) {
    const k = isScalar(pair.key) ? String(pair.key.value) : '?';
    const v = pair.value as Node | null;
    if (k !== 'maxString' && k !== 'maxElements' && k !== 'maxDepth') {
      ctx.fail(
        pair.key as Node,
        `${what}: unknown key "${k}" in limits; expected maxString, maxElements, maxDepth`,
      );
      continue;
    }
    const max = PROBE_LIMIT_CEILINGS[k];
    if (
      !isScalar(v) ||
      typeof v.value !== 'number' ||
      !Number.isInteger(v.value) ||
      v.value < 0 ||
      v.value > max
    ) {
      ctx.fail(v ?? (pair.key as Node), `${what}: limits.${k} must be an integer from 0 to ${max}`);
      continue;
    }
    out[k] = v.value;
  }
  return out;
}
