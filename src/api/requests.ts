/**
 * The requests of the HTTP API (`/v1`): each body and query string as a type, the one parser the
 * server checks it with, and the builder a client makes it with (which runs the same parser, so a
 * request the server would refuse fails before it is sent, with the same message).
 */

import type { TraceOutcome } from '../probes/trace-records.js';
import { AUDIT_ACTIONS, type AuditAction, type AuditFilter, isAuditAction } from '../store/audit-types.js';
import { programFilter } from '../store/process-filter.js';
import type { QueryScope } from '../store/store.js';
import { isRole, ROLES, type Role } from '../store/token-types.js';
import {
  BadRequest,
  type JsonObject,
  jsonObject,
  labelsField,
  optBool,
  optPositiveInt,
  optString,
  positiveIntText,
} from './fields.js';

// ---- POST /v1/snapshots

/** The body of POST /v1/snapshots: which processes (one of select, program, all), labels, no pause. */
export interface SnapshotRequestBody {
  /** A process selector, e.g. `program=orders,hostname~web-.*`. */
  readonly select?: string;
  /** Shorthand for `select: "program=NAME"`. */
  readonly program?: string;
  /** Every monitored process. */
  readonly all?: boolean;
  readonly labels?: Readonly<Record<string, string>>;
  readonly noPause?: boolean;
}

/** What a POST /v1/snapshots asks for, checked. */
export interface ParsedSnapshotRequest {
  /** The selector text ('' selects every monitored process). */
  readonly selector: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly noPause: boolean;
}

/** Checks a POST /v1/snapshots body. */
export function parseSnapshotRequest(body: unknown): ParsedSnapshotRequest {
  const b = jsonObject(body);
  const select = optString(b, 'select');
  const program = optString(b, 'program');
  const all = optBool(b, 'all');
  if (!select && !program && !all)
    throw new BadRequest(
      'say which processes: "select" (e.g. "program=orders,hostname~web-.*"), "program", or "all": true',
    );
  const selector = [program ? `program=${program}` : '', all ? '' : (select ?? '')].filter(Boolean).join(',');
  return { selector, labels: labelsField(b.labels), noPause: optBool(b, 'noPause') };
}

/** Builds a POST /v1/snapshots body (checked as the server will check it). */
export function snapshotRequestBody(r: {
  select?: string | undefined;
  all?: boolean;
  labels?: Readonly<Record<string, string>>;
  noPause?: boolean;
}): SnapshotRequestBody {
  const body: SnapshotRequestBody = {
    ...(r.select !== undefined ? { select: r.select } : {}),
    ...(r.all ? { all: true } : {}),
    ...(r.labels && Object.keys(r.labels).length > 0 ? { labels: r.labels } : {}),
    ...(r.noPause ? { noPause: true } : {}),
  };
  parseSnapshotRequest(body);
  return body;
}

// ---- POST /v1/query

/** Formats POST /v1/query answers in. */
export type QueryFormat = 'json' | 'csv';

/** The body of POST /v1/query: the SQL and its scope (default the latest snapshot). */
export interface QueryRequestBody {
  readonly sql: string;
  readonly snapshot?: number;
  readonly all?: boolean;
  readonly format?: QueryFormat;
}

/** What a POST /v1/query asks for, checked. */
export interface ParsedQueryRequest {
  readonly sql: string;
  readonly scope: QueryScope;
  readonly format: QueryFormat;
}

/** Checks a POST /v1/query body; `formatParam` is `?format=` (the body's `format` wins). */
export function parseQueryRequest(body: unknown, formatParam?: string | null): ParsedQueryRequest {
  const b = jsonObject(body);
  const sql = optString(b, 'sql');
  if (!sql?.trim()) throw new BadRequest('give the SQL in "sql"');
  const format = optString(b, 'format') ?? formatParam ?? 'json';
  if (format !== 'json' && format !== 'csv')
    throw new BadRequest(`"format" must be json or csv, not "${format}"`);
  const all = optBool(b, 'all');
  const snapshot = optPositiveInt(b, 'snapshot', 'snapshot id');
  if (snapshot !== undefined && all) throw new BadRequest('give "snapshot" or "all", not both');
  const scope: QueryScope = snapshot !== undefined ? { snapshot } : all ? { all: true } : { latest: true };
  return { sql, scope, format };
}

/** Builds a POST /v1/query body (checked as the server will check it). */
export function queryRequestBody(sql: string, scope: QueryScope, format: QueryFormat): QueryRequestBody {
  const body: QueryRequestBody = {
    sql,
    ...('snapshot' in scope ? { snapshot: scope.snapshot } : 'all' in scope ? { all: true } : {}),
    format,
  };
  parseQueryRequest(body);
  return body;
}

// ---- PUT /v1/spec (a YAML body, or this JSON body; source and force also as ?source= and ?force=)

/** The JSON form of a PUT /v1/spec body. */
export interface SpecRequestBody {
  readonly yaml: string;
  /** The file name errors give (default "spec"). */
  readonly source?: string;
  /** Store it even though it does not fit (the answer's `check` says what does not). */
  readonly force?: boolean;
}

/** What a PUT /v1/spec asks for, checked. */
export interface ParsedSpecRequest {
  readonly yaml: string;
  readonly source: string;
  readonly force: boolean;
}

/** Longest `source` file name accepted. */
export const MAX_SPEC_SOURCE = 300;

/**
 * Checks a PUT /v1/spec: its body as parsed JSON (`{ json }`) or the YAML text itself
 * (`{ yaml }`), and the query string (`?source=`, `?force=true|false`; the JSON body wins).
 */
export function parseSpecRequest(
  body: { readonly json: unknown } | { readonly yaml: string },
  q: URLSearchParams = new URLSearchParams(),
): ParsedSpecRequest {
  const json = 'json' in body ? jsonObject(body.json) : undefined;
  const yaml = json ? optString(json, 'yaml') : 'yaml' in body ? body.yaml : undefined;
  if (yaml === undefined) throw new BadRequest('a JSON body needs "yaml": the spec text');
  const source = (json && optString(json, 'source')) ?? q.get('source') ?? 'spec';
  if (source === '' || source.length > MAX_SPEC_SOURCE || /[\r\n]/.test(source))
    throw new BadRequest(`"source" must be a file name of 1 to ${MAX_SPEC_SOURCE} characters on one line`);
  const flag = q.get('force');
  if (flag !== null && flag !== 'true' && flag !== 'false')
    throw new BadRequest(`?force takes true or false, not "${flag}"`);
  return { yaml, source, force: (json !== undefined && optBool(json, 'force')) || flag === 'true' };
}

/** Builds the JSON form of a PUT /v1/spec body (checked as the server will check it). */
export function specRequestBody(
  yaml: string,
  opts: { source?: string; force?: boolean } = {},
): SpecRequestBody {
  const body: SpecRequestBody = {
    yaml,
    ...(opts.source ? { source: opts.source } : {}),
    ...(opts.force ? { force: true } : {}),
  };
  parseSpecRequest({ json: body });
  return body;
}

// ---- POST /v1/tokens

/** The body of POST /v1/tokens. */
export interface TokenRequestBody {
  readonly role: Role;
  readonly name?: string;
  /** ISO time after which the token stops working. */
  readonly expiresAt?: string;
  /** Process selectors (`program=orders`) a user token is limited to; absent: every program. */
  readonly programs?: readonly string[];
}

/** A `programs` field: a list of selector texts, checked as a token of `role` may carry them. */
function optPrograms(b: JsonObject, role: Role): string[] | undefined {
  const v = b.programs;
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
    throw new BadRequest('"programs" must be a list of selectors, e.g. ["program=orders"]');
  try {
    programFilter(v, role);
  } catch (e) {
    throw new BadRequest((e as Error).message);
  }
  return v;
}

/** Longest token name accepted. */
export const MAX_TOKEN_NAME = 200;

/** An optional ISO time field, normalised; it must lie in the future. */
function optFutureTime(b: JsonObject, name: string): string | undefined {
  const text = optString(b, name);
  if (text === undefined) return undefined;
  const t = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(t))
    throw new BadRequest(`"${name}" must be an ISO time, e.g. 2027-01-31T00:00:00Z; got "${text}"`);
  if (t <= Date.now()) throw new BadRequest(`"${name}" ${text} is not in the future`);
  return new Date(t).toISOString();
}

/** Checks a POST /v1/tokens body. */
export function parseTokenRequest(body: unknown): TokenRequestBody {
  const b = jsonObject(body);
  const role = optString(b, 'role');
  if (!isRole(role)) throw new BadRequest(`"role" must be one of ${ROLES.join(', ')}`);
  const name = optString(b, 'name');
  if (name !== undefined && name.length > MAX_TOKEN_NAME)
    throw new BadRequest(`"name" is longer than ${MAX_TOKEN_NAME} characters`);
  const expiresAt = optFutureTime(b, 'expiresAt');
  const programs = optPrograms(b, role);
  return {
    role,
    ...(name !== undefined ? { name } : {}),
    ...(expiresAt ? { expiresAt } : {}),
    ...(programs ? { programs } : {}),
  };
}

/** Builds a POST /v1/tokens body (checked as the server will check it). */
export function tokenRequestBody(
  role: string,
  name?: string,
  expiresAt?: string,
  programs?: readonly string[],
): TokenRequestBody {
  return parseTokenRequest({
    role,
    ...(name !== undefined ? { name } : {}),
    ...(expiresAt !== undefined ? { expiresAt } : {}),
    ...(programs !== undefined ? { programs } : {}),
  });
}

// ---- PUT /v1/tokens/{id}/programs

/** The body of PUT /v1/tokens/{id}/programs: the new selectors, or null to lift the limit. */
export interface ProgramsRequestBody {
  readonly programs: readonly string[] | null;
}

/** Checks a PUT /v1/tokens/{id}/programs body for a token of `role`. */
export function parseProgramsRequest(body: unknown, role: Role): ProgramsRequestBody {
  const b = jsonObject(body);
  if (!('programs' in b))
    throw new BadRequest('give "programs": a list of selectors, or null for every program');
  return { programs: optPrograms(b, role) ?? null };
}

// ---- POST /v1/tokens/{id}/rotate

/** The body of POST /v1/tokens/{id}/rotate: the new token's expiry, and how long the old one keeps working. */
export interface RotateRequestBody {
  readonly expiresAt?: string;
  /** Seconds the old token keeps working (default 0: revoked at once). */
  readonly graceSeconds?: number;
}

/** Longest grace period of a rotation: 30 days. */
export const MAX_GRACE_SECONDS = 30 * 86_400;

/** Checks a POST /v1/tokens/{id}/rotate body. */
export function parseRotateRequest(body: unknown): RotateRequestBody {
  const b = jsonObject(body);
  const expiresAt = optFutureTime(b, 'expiresAt');
  const grace = b.graceSeconds;
  if (
    grace !== undefined &&
    grace !== null &&
    (typeof grace !== 'number' || !Number.isInteger(grace) || grace < 0 || grace > MAX_GRACE_SECONDS)
  )
    throw new BadRequest(`"graceSeconds" must be an integer from 0 to ${MAX_GRACE_SECONDS}`);
  return {
    ...(expiresAt ? { expiresAt } : {}),
    ...(typeof grace === 'number' && grace > 0 ? { graceSeconds: grace } : {}),
  };
}

/** Builds a POST /v1/tokens/{id}/rotate body (checked as the server will check it). */
export function rotateRequestBody(r: RotateRequestBody): RotateRequestBody {
  return parseRotateRequest(r);
}

// ---- query strings and path parameters

/** GET /v1/processes?select=SEL. */
export interface ProcessesParams {
  readonly select?: string;
}

/** Reads GET /v1/processes parameters. */
export function parseProcessesParams(q: URLSearchParams): ProcessesParams {
  const select = q.get('select');
  return select === null ? {} : { select };
}

/** The query string of GET /v1/processes ('' or `?…`). */
export function processesQuery(p: ProcessesParams): string {
  return p.select ? `?${new URLSearchParams({ select: p.select })}` : '';
}

/** GET /v1/snapshots?label=SEL&label=…&limit=N. */
export interface SnapshotsParams {
  /** Label filters in selector syntax, all of which must hold. */
  readonly labels: readonly string[];
  readonly limit: number;
}

/** How many snapshots GET /v1/snapshots lists when no limit is given. */
export const DEFAULT_SNAPSHOT_LIMIT = 100;

/** Reads GET /v1/snapshots parameters. */
export function parseSnapshotsParams(q: URLSearchParams): SnapshotsParams {
  const limit = q.get('limit');
  return {
    labels: q.getAll('label'),
    limit: limit === null ? DEFAULT_SNAPSHOT_LIMIT : positiveIntText(limit, '"limit"'),
  };
}

/** The query string of GET /v1/snapshots ('' or `?…`). */
export function snapshotsQuery(p: Partial<SnapshotsParams>): string {
  const q = new URLSearchParams();
  for (const l of p.labels ?? []) q.append('label', l);
  if (p.limit !== undefined) q.set('limit', String(p.limit));
  return q.size > 0 ? `?${q}` : '';
}

/** One goroutine of one process: `PROCESS:GOID`, where PROCESS is a process_id (hostname:pid). */
export interface GoroutineRef {
  readonly processId: string;
  readonly goroutineId: number;
}

/** Splits "host:pid:goid" at its last colon; `field` names the input in the error. */
export function parseGoroutineRef(text: string, field = 'goroutine'): GoroutineRef {
  const m = /^(.+):(\d+)$/.exec(text);
  if (!m?.[1] || !/:\d+$/.test(m[1]))
    throw new BadRequest(
      `${field} takes PROCESS:GOID where PROCESS is a process_id (hostname:pid), e.g. web-1:4242:17; got "${text}"`,
    );
  return { processId: m[1], goroutineId: Number(m[2]) };
}

/** GET /v1/links?goroutine=PROCESS:GOID&snapshot=ID. */
export interface LinksParams {
  readonly goroutine: GoroutineRef;
  /** Default: the latest snapshot. */
  readonly snapshot?: number;
}

/** Reads GET /v1/links parameters. */
export function parseLinksParams(q: URLSearchParams): LinksParams {
  const ref = q.get('goroutine');
  if (!ref) throw new BadRequest('give the goroutine as ?goroutine=PROCESS:GOID');
  const snap = q.get('snapshot');
  return {
    goroutine: parseGoroutineRef(ref),
    ...(snap !== null ? { snapshot: positiveIntText(snap, 'snapshot') } : {}),
  };
}

/** The query string of GET /v1/links. */
export function linksQuery(p: LinksParams): string {
  const q = new URLSearchParams({ goroutine: `${p.goroutine.processId}:${p.goroutine.goroutineId}` });
  if (p.snapshot !== undefined) q.set('snapshot', String(p.snapshot));
  return `?${q}`;
}

/** The `{id}` of /v1/snapshots/{id}. */
export function parseSnapshotIdParam(text: string | undefined): number {
  return positiveIntText(text, 'snapshot id');
}

/** The `{version}` of /v1/spec/versions/{version}. */
export function parseSpecVersionParam(text: string | undefined): number {
  return positiveIntText(text, 'spec version');
}

/** GET /v1/spec/function?buildId=ID&function=NAME: a function's lines and variables. */
export interface FunctionParams {
  readonly buildId: string;
  /** Fully qualified, e.g. `main.(*Server).handle`. */
  readonly function: string;
}

/** Reads GET /v1/spec/function parameters. */
export function parseFunctionParams(q: URLSearchParams): FunctionParams {
  const buildId = q.get('buildId') ?? '';
  const fn = q.get('function') ?? '';
  if (!/^[0-9a-zA-Z_./=+-]{1,200}$/.test(buildId))
    throw new BadRequest(
      `give the binary's build ID as ?buildId=… (as GET /v1/processes shows it); got "${buildId}"`,
    );
  if (fn.length === 0 || fn.length > 1000)
    throw new BadRequest('give the function as ?function=NAME, fully qualified (main.(*Server).handle)');
  return { buildId, function: fn };
}

/** The query string of GET /v1/spec/function, checked as the server will check it. */
export function functionQuery(p: FunctionParams): string {
  const q = new URLSearchParams({ buildId: p.buildId, function: p.function });
  parseFunctionParams(q);
  return `?${q}`;
}

// ---- probes: POST /v1/probes, DELETE /v1/probes/{name}, GET /v1/events

/** The body of POST /v1/probes: a probe as a `probes:` entry of the spec (docs/spec.md), and force. */
export interface ProbeRequestBody {
  /** name, program or match, function | return | line, capture, condition, rateLimit, burst, stack, duration, labels, ttl, maxCpu, limits. */
  readonly probe: Readonly<Record<string, unknown>>;
  /** Store the new spec version even though the probe does not fit some binary. */
  readonly force?: boolean;
}

/** Longest probe name (its table's name). */
export const MAX_PROBE_NAME = 63;

/** Checks a probe name: letters, digits and _, not starting with a digit (it names a table). */
export function probeName(text: string | undefined, field = 'probe name'): string {
  if (text === undefined || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(text) || text.length > MAX_PROBE_NAME)
    throw new BadRequest(
      `${field} "${text ?? ''}" must be 1 to ${MAX_PROBE_NAME} letters, digits and _, not starting with a digit`,
    );
  return text;
}

/** Checks a POST /v1/probes body (the probe's fields are the spec parser's to check). */
export function parseProbeRequest(body: unknown): ProbeRequestBody {
  const b = jsonObject(body);
  const p = b.probe;
  if (typeof p !== 'object' || p === null || Array.isArray(p))
    throw new BadRequest(
      'give the probe in "probe": an object with the keys of a probes entry (docs/spec.md)',
    );
  const probe = p as Record<string, unknown>;
  probeName(typeof probe.name === 'string' ? probe.name : undefined, '"probe.name"');
  return { probe, ...(optBool(b, 'force') ? { force: true } : {}) };
}

/** Builds a POST /v1/probes body (checked as the server will check it). */
export function probeRequestBody(probe: Readonly<Record<string, unknown>>, force = false): ProbeRequestBody {
  return parseProbeRequest({ probe, ...(force ? { force: true } : {}) });
}

/** GET /v1/events?probe=NAME&after=SEQ&limit=N&wait=MS. */
export interface EventsParams {
  readonly probe?: string;
  /** Events after this cursor (the `next` of the previous answer; 0: from the first). */
  readonly after: number;
  readonly limit: number;
  /** Wait up to this long (ms) for an event when there is none yet (long polling; 0: answer at once). */
  readonly waitMs: number;
  /** Instead of events after `after`: the latest `last` events (still oldest first). */
  readonly last?: number;
}

/** Most events one GET /v1/events answers with. */
export const MAX_EVENTS_LIMIT = 10_000;
/** Longest wait of one GET /v1/events, ms. */
export const MAX_EVENTS_WAIT_MS = 60_000;

/** Reads GET /v1/events parameters. */
export function parseEventsParams(q: URLSearchParams): EventsParams {
  const probe = q.get('probe');
  const after = q.get('after');
  const limit = q.get('limit');
  const wait = q.get('wait');
  const last = q.get('last');
  const n = (text: string | null, what: string, max: number, fallback: number): number => {
    if (text === null) return fallback;
    if (text === '0') return 0;
    const v = positiveIntText(text, what);
    if (v > max) throw new BadRequest(`${what} is at most ${max}`);
    return v;
  };
  return {
    ...(probe !== null ? { probe: probeName(probe, '?probe') } : {}),
    after: n(after, '?after', Number.MAX_SAFE_INTEGER, 0),
    limit: Math.max(1, n(limit, '?limit', MAX_EVENTS_LIMIT, 1000)),
    waitMs: n(wait, '?wait', MAX_EVENTS_WAIT_MS, 0),
    ...(last !== null ? { last: Math.max(1, n(last, '?last', MAX_EVENTS_LIMIT, 1)) } : {}),
  };
}

/** The query string of GET /v1/events. */
export function eventsQuery(p: Partial<EventsParams>): string {
  const q = new URLSearchParams();
  if (p.probe !== undefined) q.set('probe', p.probe);
  if (p.after) q.set('after', String(p.after));
  if (p.limit !== undefined) q.set('limit', String(p.limit));
  if (p.waitMs) q.set('wait', String(p.waitMs));
  if (p.last !== undefined) q.set('last', String(p.last));
  parseEventsParams(q);
  return q.size > 0 ? `?${q}` : '';
}

/** GET /v1/traces: the latest kept request traces, of one trace, of one outcome. */
export interface TracesParams {
  readonly trace?: string;
  readonly outcome?: TraceOutcome;
  readonly limit: number;
}

const TRACE_OUTCOMES: readonly TraceOutcome[] = ['error', 'panic', 'slow', 'condition'];

/** Reads GET /v1/traces parameters. */
export function parseTracesParams(q: URLSearchParams): TracesParams {
  const trace = q.get('trace');
  const outcome = q.get('outcome');
  const limit = q.get('limit');
  if (trace !== null && !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(trace))
    throw new BadRequest(`?trace is a trace's name (letters, digits and _); got "${trace.slice(0, 80)}"`);
  if (outcome !== null && !(TRACE_OUTCOMES as readonly string[]).includes(outcome))
    throw new BadRequest(`?outcome is one of ${TRACE_OUTCOMES.join(', ')}; got "${outcome.slice(0, 80)}"`);
  const n = limit === null ? 20 : positiveIntText(limit, '?limit');
  if (n > 1000) throw new BadRequest('?limit is at most 1000');
  return {
    ...(trace !== null ? { trace } : {}),
    ...(outcome !== null ? { outcome: outcome as TraceOutcome } : {}),
    limit: n,
  };
}

/** The query string of GET /v1/traces. */
export function tracesQuery(p: Partial<TracesParams>): string {
  const q = new URLSearchParams();
  if (p.trace !== undefined) q.set('trace', p.trace);
  if (p.outcome !== undefined) q.set('outcome', p.outcome);
  if (p.limit !== undefined) q.set('limit', String(p.limit));
  parseTracesParams(q);
  return q.size > 0 ? `?${q}` : '';
}

/** GET /v1/tables?snapshot=ID (default: the latest snapshot). */
export interface TablesParams {
  readonly snapshot?: number;
}

/** Reads GET /v1/tables parameters. */
export function parseTablesParams(q: URLSearchParams): TablesParams {
  const snap = q.get('snapshot');
  return snap !== null ? { snapshot: positiveIntText(snap, 'snapshot') } : {};
}

// ---- GET /v1/audit

/** An ISO time parameter (a date or a date and time), normalised to UTC ISO. */
function isoParam(text: string, name: string): string {
  const t = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(t))
    throw new BadRequest(
      `"${name}" must be an ISO date or time (2026-12-04 or 2026-12-04T10:00:00Z); got "${text}"`,
    );
  return new Date(t).toISOString();
}

/** Reads GET /v1/audit parameters: since, until (ISO), action (repeatable or comma-separated), actor, limit. */
export function parseAuditParams(q: URLSearchParams): AuditFilter {
  const since = q.get('since');
  const until = q.get('until');
  const actor = q.get('actor');
  const limit = q.get('limit');
  const actions = q
    .getAll('action')
    .flatMap((a) => a.split(','))
    .map((a) => a.trim())
    .filter(Boolean);
  for (const a of actions)
    if (!isAuditAction(a))
      throw new BadRequest(`unknown audit action "${a}"; use one of ${AUDIT_ACTIONS.join(', ')}`);
  return {
    ...(since ? { since: isoParam(since, 'since') } : {}),
    ...(until ? { until: isoParam(until, 'until') } : {}),
    ...(actions.length ? { actions: actions as AuditAction[] } : {}),
    ...(actor ? { actor } : {}),
    ...(limit !== null ? { limit: positiveIntText(limit, '"limit"') } : {}),
  };
}

/** The query string of GET /v1/audit ('' or `?…`), checked as the server will check it. */
export function auditQuery(f: AuditFilter): string {
  const q = new URLSearchParams();
  if (f.since) q.set('since', f.since);
  if (f.until) q.set('until', f.until);
  for (const a of f.actions ?? []) q.append('action', a);
  if (f.actor) q.set('actor', f.actor);
  if (f.limit !== undefined) q.set('limit', String(f.limit));
  parseAuditParams(q);
  return q.size > 0 ? `?${q}` : '';
}
