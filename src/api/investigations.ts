/**
 * Standing investigations in the API (`/v1/investigations`): the definition a user sends (JSON,
 * or the same keys in a YAML file for the CLI), the one parser that checks its shape, and the
 * name or id a path gives. The server checks further what needs its state (SQL, probes) when it
 * is added. The answers are in investigation-views.ts.
 */
import { parseSelector } from '../common/selector-text.js';
import { BadRequest, type JsonObject, jsonObject, optString } from './fields.js';

/** A trigger as written: an object with one key naming its kind. */
export type TriggerBody =
  | {
      readonly schedule: {
        readonly every: string;
        readonly select?: string;
        readonly keep?: number;
        readonly keepFor?: string;
      };
    }
  | { readonly sql: string }
  | { readonly probe: string | { readonly name: string; readonly where?: string } }
  | { readonly slow: { readonly trace?: string; readonly over?: string } }
  | { readonly error: { readonly trace?: string } | true };

/** The body of POST /v1/investigations (and the keys of an investigation's YAML file). */
export interface InvestigationBody {
  readonly name: string;
  readonly question?: string;
  readonly notes?: string;
  readonly triggers: readonly TriggerBody[];
  /** What to snapshot when it fires: the trigger's process, its program, a selector, or nothing. */
  readonly snapshot?: 'process' | 'program' | 'none' | { readonly select: string };
  /** Keep the request trace of a slow/error trigger (default true). */
  readonly keepTrace?: boolean;
  readonly report?: readonly { readonly name: string; readonly sql: string }[];
  readonly webhook?: { readonly url: string; readonly timeout?: string; readonly retries?: number };
  readonly limits?: { readonly maxFires?: number; readonly minInterval?: string; readonly until?: string };
}

/** A checked trigger. */
export type Trigger =
  | {
      readonly kind: 'schedule';
      readonly everyMs: number;
      readonly select: string;
      readonly keep?: number;
      readonly keepForMs?: number;
    }
  | { readonly kind: 'sql'; readonly condition: string }
  | { readonly kind: 'probe'; readonly probe: string; readonly where?: string }
  | { readonly kind: 'slow'; readonly trace?: string; readonly overMs?: number }
  | { readonly kind: 'error'; readonly trace?: string };

/** What to snapshot when an investigation fires. */
export type SnapshotAction =
  | { readonly kind: 'process' }
  | { readonly kind: 'program' }
  | { readonly kind: 'none' }
  | { readonly kind: 'select'; readonly select: string };

/** A checked investigation definition. */
export interface InvestigationDefinition {
  readonly name: string;
  readonly question: string;
  readonly notes: string;
  readonly triggers: readonly Trigger[];
  readonly snapshot: SnapshotAction;
  readonly keepTrace: boolean;
  readonly report: readonly { readonly name: string; readonly sql: string }[];
  readonly webhook?: { readonly url: string; readonly timeoutMs: number; readonly retries: number };
  readonly maxFires?: number;
  readonly minIntervalMs: number;
  /** ISO time after which it no longer fires. */
  readonly until?: string;
}

/** Defaults of an investigation whose triggers are events (probe, slow, error): a runaway trigger is bounded. */
export const EVENT_DEFAULTS = { maxFires: 20, minIntervalMs: 60_000 } as const;

const NAME_RE = /^[A-Za-z][A-Za-z0-9_.-]{0,99}$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses a duration like `500ms`, `30s`, `5m`, `2h`, `7d` or `1h30m` to milliseconds. */
export function parseDuration(text: string, what: string): number {
  const t = text.trim();
  if (!/^(\d+(ms|s|m|h|d))+$/.test(t))
    throw new BadRequest(`${what} "${text}" is not a duration (e.g. 30s, 5m, 2h, 7d, 1h30m)`);
  let ms = 0;
  for (const m of t.matchAll(/(\d+)(ms|s|m|h|d)/g)) ms += Number(m[1]) * (UNIT_MS[m[2] ?? 's'] ?? 0);
  if (ms <= 0) throw new BadRequest(`${what} must be longer than 0`);
  return ms;
}

function obj(v: unknown, what: string): JsonObject {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new BadRequest(`${what} must be an object`);
  return v as JsonObject;
}

function text(b: JsonObject, key: string, what: string): string {
  const v = b[key];
  if (typeof v !== 'string' || v.trim() === '') throw new BadRequest(`${what} needs "${key}" (a string)`);
  return v;
}

function count(v: unknown, what: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1)
    throw new BadRequest(`${what} must be a positive integer`);
  return v;
}

function selector(text: string, what: string): string {
  try {
    return parseSelector(text).text;
  } catch (e) {
    throw new BadRequest(`${what}: ${(e as Error).message}`);
  }
}

function optDuration(v: unknown, what: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new BadRequest(`${what} must be a duration text (e.g. 5m)`);
  return parseDuration(v, what);
}

function trigger(v: unknown, i: number): Trigger {
  const at = `triggers[${i}]`;
  const b = obj(v, at);
  const keys = Object.keys(b);
  if (keys.length !== 1)
    throw new BadRequest(`${at} must have exactly one key, its kind: schedule, sql, probe, slow or error`);
  const kind = keys[0] ?? '';
  const x = b[kind];
  switch (kind) {
    case 'schedule': {
      const s = obj(x, `${at}.schedule`);
      const everyMs = parseDuration(text(s, 'every', `${at}.schedule`), `${at}.schedule.every`);
      if (everyMs < 1000) throw new BadRequest(`${at}.schedule.every must be at least 1s`);
      const keep = count(s.keep, `${at}.schedule.keep`);
      const keepForMs = optDuration(s.keepFor, `${at}.schedule.keepFor`);
      const sel = s.select === undefined ? '' : selector(String(s.select), `${at}.schedule.select`);
      return {
        kind: 'schedule',
        everyMs,
        select: sel,
        ...(keep !== undefined ? { keep } : {}),
        ...(keepForMs !== undefined ? { keepForMs } : {}),
      };
    }
    case 'sql':
      if (typeof x !== 'string' || x.trim() === '')
        throw new BadRequest(`${at}.sql must be a SQL query whose first column is true when it should fire`);
      return { kind: 'sql', condition: x };
    case 'probe': {
      if (typeof x === 'string' && x.trim() !== '') return { kind: 'probe', probe: x };
      const p = obj(x, `${at}.probe`);
      const where = optString(p, 'where');
      return { kind: 'probe', probe: text(p, 'name', `${at}.probe`), ...(where?.trim() ? { where } : {}) };
    }
    case 'slow': {
      const s = x === true || x === null ? {} : obj(x, `${at}.slow`);
      const trace = optString(s, 'trace');
      const overMs = optDuration(s.over, `${at}.slow.over`);
      return { kind: 'slow', ...(trace ? { trace } : {}), ...(overMs !== undefined ? { overMs } : {}) };
    }
    case 'error': {
      const s = x === true || x === null ? {} : obj(x, `${at}.error`);
      const trace = optString(s, 'trace');
      return { kind: 'error', ...(trace ? { trace } : {}) };
    }
    default:
      throw new BadRequest(`${at}: unknown trigger "${kind}"; use schedule, sql, probe, slow or error`);
  }
}

function snapshotAction(v: unknown, triggers: readonly Trigger[]): SnapshotAction {
  const events = triggers.some((t) => t.kind === 'probe' || t.kind === 'slow' || t.kind === 'error');
  if (v === undefined || v === null) return { kind: events ? 'process' : 'none' };
  if (v === 'process' || v === 'program' || v === 'none') {
    if (v !== 'none' && !events)
      throw new BadRequest(
        `"snapshot": "${v}" needs a trigger that names a process (probe, slow or error); a schedule takes its own snapshot`,
      );
    return { kind: v };
  }
  const s = obj(v, '"snapshot"');
  return { kind: 'select', select: selector(text(s, 'select', '"snapshot"'), '"snapshot.select"') };
}

/** Checks an investigation definition (POST /v1/investigations, or a YAML file's keys). */
export function parseInvestigation(body: unknown): InvestigationDefinition {
  const b = jsonObject(body);
  const known = new Set([
    'name',
    'question',
    'notes',
    'triggers',
    'snapshot',
    'keepTrace',
    'report',
    'webhook',
    'limits',
  ]);
  for (const k of Object.keys(b))
    if (!known.has(k))
      throw new BadRequest(`unknown field "${k}"; an investigation has ${[...known].join(', ')}`);
  const name = optString(b, 'name') ?? '';
  if (!NAME_RE.test(name))
    throw new BadRequest(
      `"name" must start with a letter and hold letters, digits, _ . - (at most 100), not "${name}"`,
    );
  if (!Array.isArray(b.triggers) || b.triggers.length === 0)
    throw new BadRequest('"triggers" must list at least one trigger (schedule, sql, probe, slow or error)');
  const triggers = b.triggers.map(trigger);
  const schedules = triggers.filter((t) => t.kind === 'schedule').length;
  if (schedules > 1) throw new BadRequest('an investigation has at most one schedule trigger');
  if (triggers.some((t) => t.kind === 'sql') && schedules === 0)
    throw new BadRequest(
      'a sql trigger is checked over each snapshot of the investigation\'s schedule: add a schedule trigger (e.g. {"schedule": {"every": "1m", "select": "program=api"}})',
    );
  const report = (() => {
    if (b.report === undefined || b.report === null) return [];
    if (!Array.isArray(b.report)) throw new BadRequest('"report" must be a list of {name, sql}');
    const seen = new Set<string>();
    return b.report.map((r, i) => {
      const q = obj(r, `report[${i}]`);
      const qn = text(q, 'name', `report[${i}]`);
      if (seen.has(qn)) throw new BadRequest(`report[${i}]: the name "${qn}" is used twice`);
      seen.add(qn);
      return { name: qn, sql: text(q, 'sql', `report[${i}]`) };
    });
  })();
  let webhook: InvestigationDefinition['webhook'];
  if (b.webhook !== undefined && b.webhook !== null) {
    const w = obj(b.webhook, '"webhook"');
    const url = text(w, 'url', '"webhook"');
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new BadRequest(`"webhook.url" is not a URL: "${url}"`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
      throw new BadRequest(`"webhook.url" must be http: or https:, not ${parsed.protocol}`);
    const retries = w.retries === undefined ? 2 : (count(w.retries, '"webhook.retries"') ?? 2);
    if (retries > 10) throw new BadRequest('"webhook.retries" is at most 10');
    webhook = { url, timeoutMs: optDuration(w.timeout, '"webhook.timeout"') ?? 5000, retries };
  }
  const limits = b.limits === undefined || b.limits === null ? {} : obj(b.limits, '"limits"');
  const events = triggers.some((t) => t.kind !== 'schedule' && t.kind !== 'sql');
  const maxFires =
    limits.maxFires === 0
      ? undefined
      : (count(limits.maxFires, '"limits.maxFires"') ?? (events ? EVENT_DEFAULTS.maxFires : undefined));
  const noInterval =
    typeof limits.minInterval === 'string' && /^0+(ms|s|m|h|d)?$/.test(limits.minInterval.trim());
  const minIntervalMs = noInterval
    ? 0
    : (optDuration(limits.minInterval, '"limits.minInterval"') ??
      (events ? EVENT_DEFAULTS.minIntervalMs : 0));
  const untilText = limits.until === undefined || limits.until === null ? undefined : String(limits.until);
  if (untilText !== undefined && Number.isNaN(Date.parse(untilText)))
    throw new BadRequest(`"limits.until" must be a date or time (ISO 8601), not "${untilText}"`);
  const keepTrace = b.keepTrace === undefined || b.keepTrace === null ? true : b.keepTrace === true;
  return {
    name,
    question: optString(b, 'question') ?? '',
    notes: optString(b, 'notes') ?? '',
    triggers,
    snapshot: snapshotAction(b.snapshot, triggers),
    keepTrace,
    report,
    ...(webhook ? { webhook } : {}),
    ...(maxFires !== undefined ? { maxFires } : {}),
    minIntervalMs,
    ...(untilText !== undefined ? { until: new Date(untilText).toISOString() } : {}),
  };
}

/** Builds a POST /v1/investigations body (checked as the server will check it). */
export function investigationBody(b: InvestigationBody): InvestigationBody {
  parseInvestigation(b);
  return b;
}

/** A name or id path segment as given. */
export function investigationRef(text: string | undefined): { id: number } | { name: string } {
  const t = (text ?? '').trim();
  if (/^[1-9]\d{0,15}$/.test(t)) return { id: Number(t) };
  if (NAME_RE.test(t)) return { name: t };
  throw new BadRequest(`"${t}" is neither an investigation id nor a name`);
}
