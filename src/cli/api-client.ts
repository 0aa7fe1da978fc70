/** The typed client of the server's /v1 API: one method per route, requests built by src/api/. */

import type { InvestigationsResponse, InvestigationView } from '../api/investigation-views.js';
import { type InvestigationBody, investigationBody, investigationRef } from '../api/investigations.js';
import {
  auditQuery,
  type EventsParams,
  eventsQuery,
  type GoroutineRef,
  linksQuery,
  probeRequestBody,
  processesQuery,
  queryRequestBody,
  type RotateRequestBody,
  rotateRequestBody,
  type SnapshotRequestBody,
  snapshotsQuery,
  specRequestBody,
  type TracesParams,
  tokenRequestBody,
  tracesQuery,
} from '../api/requests.js';
import type {
  AgentsResponse,
  AgentView,
  AuditResponse,
  CreatedToken,
  EventsResponse,
  ProbeChangeResponse,
  ProbesResponse,
  ProcessesResponse,
  ProcessView,
  QueryResponse,
  RotatedToken,
  SnapshotDetail,
  SnapshotInfo,
  SnapshotsResponse,
  SnapshotTaken,
  SpecSetResponse,
  SpecVersion,
  SpecVersionEntry,
  SpecVersionsResponse,
  TokenInfo,
  TokensResponse,
  TracesResponse,
} from '../api/responses.js';
import type { AuditFilter } from '../store/audit-types.js';
import type { QueryScope } from '../store/store.js';
import { HttpTransport } from './http-transport.js';
import type { ServerTarget } from './target.js';

/** Calls the /v1 API of one server. */
export class ApiClient {
  private readonly http: HttpTransport;

  constructor(target: ServerTarget) {
    this.http = new HttpTransport(target);
  }

  /** The server's origin, for messages. */
  get base(): string {
    return this.http.base;
  }

  /** GET /v1/agents. */
  async agents(): Promise<readonly AgentView[]> {
    return (await this.http.json<AgentsResponse>('GET', '/v1/agents')).agents;
  }

  /** GET /v1/processes?select=…. */
  async processes(select?: string): Promise<readonly ProcessView[]> {
    const q = processesQuery(select ? { select } : {});
    return (await this.http.json<ProcessesResponse>('GET', `/v1/processes${q}`)).processes;
  }

  /** POST /v1/snapshots: takes a snapshot across the fleet and waits until it is stored. */
  snapshot(body: SnapshotRequestBody): Promise<SnapshotTaken> {
    return this.http.json('POST', '/v1/snapshots', body);
  }

  /** GET /v1/snapshots?label=…: newest first. */
  async snapshots(labels: readonly string[] = [], limit?: number): Promise<readonly SnapshotInfo[]> {
    const q = snapshotsQuery({ labels, ...(limit !== undefined ? { limit } : {}) });
    return (await this.http.json<SnapshotsResponse>('GET', `/v1/snapshots${q}`)).snapshots;
  }

  /** GET /v1/snapshots/{id}. */
  snapshotDetail(id: number): Promise<SnapshotDetail> {
    return this.http.json('GET', `/v1/snapshots/${id}`);
  }

  /** POST /v1/query as JSON. */
  query(sql: string, scope: QueryScope = { latest: true }): Promise<QueryResponse> {
    return this.http.json('POST', '/v1/query', queryRequestBody(sql, scope, 'json'));
  }

  /** POST /v1/query as CSV text. */
  queryCsv(sql: string, scope: QueryScope = { latest: true }): Promise<string> {
    return this.http.text('POST', '/v1/query', queryRequestBody(sql, scope, 'csv'));
  }

  /** GET /v1/links: what a goroutine links to, in a snapshot (default the latest). */
  links(goroutine: GoroutineRef, snapshot?: number): Promise<QueryResponse> {
    return this.http.json('GET', `/v1/links${linksQuery({ goroutine, ...(snapshot ? { snapshot } : {}) })}`);
  }

  /**
   * PUT /v1/spec: stores a new spec version (the server names the token as its author) once
   * it fits the stored tables and the fleet's binaries; refused (422, every problem in the
   * error's message) unless `force`. `source` is the file name errors give.
   */
  setSpec(yaml: string, opts: { source?: string; force?: boolean } = {}): Promise<SpecSetResponse> {
    return this.http.json('PUT', '/v1/spec', specRequestBody(yaml, opts));
  }

  /** GET /v1/spec, or GET /v1/spec/versions/{version}. */
  specVersion(version?: number): Promise<SpecVersion> {
    return this.http.json('GET', version === undefined ? '/v1/spec' : `/v1/spec/versions/${version}`);
  }

  /** GET /v1/spec/versions: oldest first, without texts. */
  async specVersions(): Promise<readonly SpecVersionEntry[]> {
    return (await this.http.json<SpecVersionsResponse>('GET', '/v1/spec/versions')).versions;
  }

  /** GET /v1/probes: the current spec's probes and where each stands. */
  probes(): Promise<ProbesResponse> {
    return this.http.json('GET', '/v1/probes');
  }

  /** POST /v1/probes: a new spec version with this probe (a `probes:` entry's keys); refused (422) when it does not fit, unless `force`. */
  addProbe(probe: Readonly<Record<string, unknown>>, force = false): Promise<ProbeChangeResponse> {
    return this.http.json('POST', '/v1/probes', probeRequestBody(probe, force));
  }

  /** POST /v1/investigations: adds a standing investigation (checked here as the server checks its shape). */
  addInvestigation(body: InvestigationBody): Promise<InvestigationView> {
    return this.http.json('POST', '/v1/investigations', investigationBody(body));
  }

  /** GET /v1/investigations (closed ones too with `closed`). */
  async investigations(closed = false): Promise<readonly InvestigationView[]> {
    const q = closed ? '?closed=true' : '';
    return (await this.http.json<InvestigationsResponse>('GET', `/v1/investigations${q}`)).investigations;
  }

  /** GET /v1/investigations/{ref}: by id or name, with its latest firings. */
  investigation(ref: string): Promise<InvestigationView> {
    investigationRef(ref);
    return this.http.json('GET', `/v1/investigations/${encodeURIComponent(ref)}`);
  }

  /** POST /v1/investigations/{ref}/close. */
  closeInvestigation(ref: string): Promise<InvestigationView> {
    investigationRef(ref);
    return this.http.json('POST', `/v1/investigations/${encodeURIComponent(ref)}/close`);
  }

  /** DELETE /v1/probes/{name}: a new spec version without it. */
  removeProbe(name: string): Promise<ProbeChangeResponse> {
    return this.http.json('DELETE', `/v1/probes/${encodeURIComponent(name)}`);
  }

  /** GET /v1/traces: the latest kept request traces. */
  traces(p: Partial<TracesParams>): Promise<TracesResponse> {
    return this.http.json('GET', `/v1/traces${tracesQuery(p)}`);
  }

  /** GET /v1/events: events after a cursor (waiting up to waitMs for one), or the latest `last`. */
  events(p: Partial<EventsParams>): Promise<EventsResponse> {
    return this.http.json('GET', `/v1/events${eventsQuery(p)}`);
  }

  /** GET /v1/tokens (admin). */
  async tokens(): Promise<readonly TokenInfo[]> {
    return (await this.http.json<TokensResponse>('GET', '/v1/tokens')).tokens;
  }

  /** POST /v1/tokens (admin): the answer holds the token, shown once. */
  createToken(
    role: string,
    name?: string,
    expiresAt?: string,
    programs?: readonly string[],
  ): Promise<CreatedToken> {
    return this.http.json('POST', '/v1/tokens', tokenRequestBody(role, name, expiresAt, programs));
  }

  /** PUT /v1/tokens/{id}/programs (admin): limit a token to programs, or (null) lift the limit. */
  setTokenPrograms(id: string, programs: readonly string[] | null): Promise<TokenInfo> {
    return this.http.json('PUT', `/v1/tokens/${encodeURIComponent(id)}/programs`, { programs });
  }

  /** POST /v1/tokens/{id}/rotate (admin): the new token, shown once, and the old one. */
  rotateToken(id: string, body: RotateRequestBody): Promise<RotatedToken> {
    return this.http.json('POST', `/v1/tokens/${encodeURIComponent(id)}/rotate`, rotateRequestBody(body));
  }

  /** GET /v1/audit (admin): entries that match, oldest first, and whether the hash chain holds. */
  audit(filter: AuditFilter): Promise<AuditResponse> {
    return this.http.json('GET', `/v1/audit${auditQuery(filter)}`);
  }

  /** GET /v1/audit/export (admin): the log as stored, one JSON entry per line. */
  auditExport(): Promise<string> {
    return this.http.text('GET', '/v1/audit/export');
  }

  /** DELETE /v1/tokens/{id} (admin). */
  revokeToken(id: string): Promise<TokenInfo> {
    return this.http.json('DELETE', `/v1/tokens/${encodeURIComponent(id)}`);
  }
}
