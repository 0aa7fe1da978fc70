/**
 * The web app's client of the HTTP API: one function per route it uses, typed by `src/api/`
 * (request builders that run the server's own checks, and the answers' types). Requests carry
 * the session cookie (HttpOnly: scripts never see the token) and the client header the server
 * asks of cookie-authenticated writes; a 401 sends the user to the sign-in page.
 */
import { signal } from '@preact/signals';
import type { InvestigationsResponse, InvestigationView } from '../api/investigation-views.js';
import {
  type EventsParams,
  eventsQuery,
  functionQuery,
  linksQuery,
  probeRequestBody,
  type QueryFormat,
  queryRequestBody,
  type SnapshotRequestBody,
  snapshotsQuery,
  specRequestBody,
} from '../api/requests.js';
import type {
  AgentsResponse,
  ErrorResponse,
  EventsResponse,
  FunctionResponse,
  ProbeChangeResponse,
  ProbesResponse,
  ProcessesResponse,
  QueryResponse,
  SessionResponse,
  SignedOutResponse,
  SnapshotDetail,
  SnapshotsResponse,
  SnapshotTaken,
  SpecCheckResponse,
  SpecRefusedResponse,
  SpecSetResponse,
  SpecVersion,
  SpecVersionsResponse,
  TablesResponse,
} from '../api/responses.js';
import type { QueryScope } from '../store/store.js';

/** Who is signed in (undefined until known, null when nobody is). */
export const session = signal<SessionResponse | null | undefined>(undefined);

/** An answer of the API that is not a success, with the server's message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const CLIENT_HEADER = { 'x-periscope-client': 'web' };

async function call<T>(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: {
        ...CLIENT_HEADER,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      ...(signal ? { signal } : {}),
    });
  } catch (e) {
    if (signal?.aborted) throw e;
    throw new ApiError(0, 'network', `the server did not answer (${(e as Error).message}); is it running?`);
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!res.ok) {
    const err = (parsed as Partial<ErrorResponse> | undefined)?.error;
    if (res.status === 401 && !headers.authorization) session.value = null;
    throw new ApiError(
      res.status,
      err?.code ?? 'http',
      err?.message ?? `${res.status} ${res.statusText}`,
      parsed,
    );
  }
  return parsed as T;
}

/** Signs in with a user token: the server answers with the session cookie. */
export async function signIn(token: string): Promise<SessionResponse> {
  const who = await call<SessionResponse>('POST', '/v1/session', undefined, {
    authorization: `Bearer ${token.trim()}`,
  });
  session.value = who;
  return who;
}

/** Asks who is signed in (null when nobody). */
export async function checkSession(): Promise<void> {
  try {
    session.value = await call<SessionResponse>('GET', '/v1/session');
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) session.value = null;
    else throw e;
  }
}

/** Ends the session. */
export async function signOut(): Promise<void> {
  await call<SignedOutResponse>('DELETE', '/v1/session');
  session.value = null;
}

/** GET /v1/snapshots. */
export function listSnapshots(labels: readonly string[], limit: number): Promise<SnapshotsResponse> {
  return call('GET', `/v1/snapshots${snapshotsQuery({ labels, limit })}`);
}

/** GET /v1/snapshots/{id}. */
export function getSnapshot(id: number): Promise<SnapshotDetail> {
  return call('GET', `/v1/snapshots/${id}`);
}

/** POST /v1/snapshots. */
export function takeSnapshot(body: SnapshotRequestBody): Promise<SnapshotTaken> {
  return call('POST', '/v1/snapshots', body);
}

/** POST /v1/query as JSON. */
export function query(sql: string, scope: QueryScope): Promise<QueryResponse> {
  return call('POST', '/v1/query', queryRequestBody(sql, scope, 'json'));
}

/** POST /v1/query as CSV text. */
export async function queryText(sql: string, scope: QueryScope, format: QueryFormat): Promise<Blob> {
  const res = await fetch('/v1/query', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { ...CLIENT_HEADER, 'content-type': 'application/json' },
    body: JSON.stringify(queryRequestBody(sql, scope, format)),
  });
  if (!res.ok) {
    const body = (await res.json().catch(() => undefined)) as Partial<ErrorResponse> | undefined;
    throw new ApiError(res.status, body?.error?.code ?? 'http', body?.error?.message ?? res.statusText);
  }
  return res.blob();
}

/** GET /v1/links for one goroutine of a snapshot. */
export function links(processId: string, goroutineId: number, snapshot: number): Promise<QueryResponse> {
  return call('GET', `/v1/links${linksQuery({ goroutine: { processId, goroutineId }, snapshot })}`);
}

/** GET /v1/agents. */
export function agents(): Promise<AgentsResponse> {
  return call('GET', '/v1/agents');
}

/** GET /v1/processes. */
export function processes(): Promise<ProcessesResponse> {
  return call('GET', '/v1/processes');
}

/** GET /v1/tables. */
export function tables(snapshot?: number): Promise<TablesResponse> {
  return call('GET', `/v1/tables${snapshot !== undefined ? `?snapshot=${snapshot}` : ''}`);
}

/** GET /v1/spec (undefined before the first version). */
export async function currentSpec(): Promise<SpecVersion | undefined> {
  try {
    return await call<SpecVersion>('GET', '/v1/spec');
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return undefined;
    throw e;
  }
}

/** GET /v1/spec/versions: every version, oldest first (without texts). */
export function specVersions(): Promise<SpecVersionsResponse> {
  return call('GET', '/v1/spec/versions');
}

/** GET /v1/spec/versions/{version}: one version with its text and its diff against the previous one. */
export function specVersion(version: number): Promise<SpecVersion> {
  return call('GET', `/v1/spec/versions/${Math.trunc(version)}`);
}

/** GET /v1/spec/function: a function's lines and the variables live at each, read by an agent. */
export function describeFunction(buildId: string, fn: string): Promise<FunctionResponse> {
  return call('GET', `/v1/spec/function${functionQuery({ buildId, function: fn })}`);
}

/** POST /v1/spec/check: what storing this spec would find, storing nothing. */
export function checkSpec(yaml: string, source: string): Promise<SpecCheckResponse> {
  return call('POST', '/v1/spec/check', specRequestBody(yaml, { source }));
}

/** PUT /v1/spec: a new version, or the refusal with its check report. */
export async function putSpec(
  yaml: string,
  source: string,
): Promise<{ ok: true; result: SpecSetResponse } | { ok: false; refused: SpecRefusedResponse }> {
  try {
    return {
      ok: true,
      result: await call<SpecSetResponse>('PUT', '/v1/spec', specRequestBody(yaml, { source })),
    };
  } catch (e) {
    if (e instanceof ApiError && e.status === 422)
      return { ok: false, refused: e.body as SpecRefusedResponse };
    throw e;
  }
}

/** GET /v1/probes: the current spec's probes, where each is attached or why not, and their counts. */
export function listProbes(): Promise<ProbesResponse> {
  return call('GET', '/v1/probes');
}

/** POST /v1/probes: a new spec version with this probe, or the refusal with the server's check. */
export async function addProbe(
  probe: Readonly<Record<string, unknown>>,
  force = false,
): Promise<{ ok: true; result: ProbeChangeResponse } | { ok: false; refused: SpecRefusedResponse }> {
  try {
    return {
      ok: true,
      result: await call<ProbeChangeResponse>('POST', '/v1/probes', probeRequestBody(probe, force)),
    };
  } catch (e) {
    if (e instanceof ApiError && e.status === 422 && (e.body as Partial<SpecRefusedResponse>)?.check)
      return { ok: false, refused: e.body as SpecRefusedResponse };
    throw e;
  }
}

/** DELETE /v1/probes/{name}: a new spec version without it. */
export function removeProbe(name: string): Promise<ProbeChangeResponse> {
  return call('DELETE', `/v1/probes/${encodeURIComponent(name)}`);
}

/** GET /v1/events (with `waitMs`, a long poll that `signal` ends). */
export function probeEvents(p: Partial<EventsParams>, signal?: AbortSignal): Promise<EventsResponse> {
  return call('GET', `/v1/events${eventsQuery(p)}`, undefined, {}, signal);
}

/** GET /v1/investigations (`closed`: the closed ones too). */
export function listInvestigations(closed: boolean): Promise<InvestigationsResponse> {
  return call('GET', `/v1/investigations${closed ? '?closed=true' : ''}`);
}

/** GET /v1/investigations/{id}: one investigation with its latest firings. */
export function showInvestigation(id: number): Promise<InvestigationView> {
  return call('GET', `/v1/investigations/${Math.trunc(id)}`);
}

/** POST /v1/investigations/{id}/close: its owner or an admin closes it; firings and reports stay. */
export function closeInvestigation(id: number): Promise<InvestigationView> {
  return call('POST', `/v1/investigations/${Math.trunc(id)}/close`);
}

/** POST /v1/investigations: adds one (the body of docs/investigations.md); the server checks it all. */
export function addInvestigation(body: Record<string, unknown>): Promise<InvestigationView> {
  return call('POST', '/v1/investigations', body);
}
