/**
 * The HTTP client CLI commands use with `--server URL`: JSON requests with the bearer token
 * (`--token` or $PERISCOPE_TOKEN), and errors a user can act on for a refused connection, a
 * missing or wrong token (401) and a token without the right role (403).
 */
import { PeriscopeError } from '../common/errors.js';
import type { SnapshotResult } from '../server/orchestrator.js';
import type { AgentView, ProcessView } from '../server/registry.js';
import type { ProcessResult } from '../server/snapshot-meta.js';
import type { SpecCheckReport } from '../server/spec-report.js';
import type { TokenInfo } from '../server/tokens.js';
import type { QueryResult, QueryScope, SnapshotInfo, SpecVersion } from '../store/store.js';

/** The default server when neither --server nor $PERISCOPE_SERVER is given. */
export const DEFAULT_SERVER = 'http://127.0.0.1:7070';

/** Where and as whom to connect. */
export interface ServerTarget {
  readonly server: string;
  readonly token: string | undefined;
}

/** The server and token from flags, then the environment ($PERISCOPE_SERVER, $PERISCOPE_TOKEN). */
export function serverTarget(
  values: Record<string, string | boolean | undefined>,
  env: NodeJS.ProcessEnv = process.env,
): ServerTarget {
  const server = typeof values.server === 'string' ? values.server : env.PERISCOPE_SERVER || DEFAULT_SERVER;
  const token = typeof values.token === 'string' ? values.token : env.PERISCOPE_TOKEN || undefined;
  return { server, token };
}

/**
 * Whether a command that can work on a local store or a server should use the server: one
 * given by --server, or by $PERISCOPE_SERVER unless a local --data directory is named.
 */
export function wantsServer(
  values: Record<string, string | boolean | undefined>,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  return typeof values.server === 'string' || (Boolean(env.PERISCOPE_SERVER) && values.data === undefined);
}

/** The options every command talking to a server takes. */
export const SERVER_OPTIONS = {
  server: {
    type: 'string',
    value: 'URL',
    help: `the Periscope server (default $PERISCOPE_SERVER, else ${DEFAULT_SERVER})`,
  },
  token: { type: 'string', value: 'TOKEN', help: 'API token (default $PERISCOPE_TOKEN)' },
} as const;

/** A snapshot as GET /v1/snapshots/{id} returns it. */
export type SnapshotDetail = SnapshotInfo &
  Partial<Pick<SnapshotResult, 'requestId' | 'selector' | 'requestedBy' | 'captureSkewMs' | 'durationMs'>> & {
    readonly processes: readonly ProcessResult[];
  };

/** What to snapshot through the server. */
export interface SnapshotRequestBody {
  readonly select?: string;
  readonly all?: boolean;
  readonly labels?: Record<string, string>;
  readonly noPause?: boolean;
}

/** A typed client of the /v1 API. */
export class ApiClient {
  readonly base: string;

  constructor(
    server: string,
    private readonly token: string | undefined,
  ) {
    let url: URL;
    try {
      url = new URL(server.includes('://') ? server : `http://${server}`);
    } catch {
      throw new PeriscopeError(
        'bad-usage',
        `"${server}" is not a server URL; give e.g. --server http://host:7070`,
      );
    }
    this.base = url.origin;
  }

  /** GET /v1/agents. */
  async agents(): Promise<AgentView[]> {
    return (await this.request<{ agents: AgentView[] }>('GET', '/v1/agents')).agents;
  }

  /** GET /v1/processes?select=…. */
  async processes(select?: string): Promise<ProcessView[]> {
    const q = select ? `?select=${encodeURIComponent(select)}` : '';
    return (await this.request<{ processes: ProcessView[] }>('GET', `/v1/processes${q}`)).processes;
  }

  /** POST /v1/snapshots: takes a snapshot across the fleet and waits until it is stored. */
  snapshot(body: SnapshotRequestBody): Promise<SnapshotResult> {
    return this.request('POST', '/v1/snapshots', body);
  }

  /** GET /v1/snapshots?label=…: newest first. */
  async snapshots(labels: readonly string[] = [], limit?: number): Promise<SnapshotInfo[]> {
    const q = new URLSearchParams();
    for (const l of labels) q.append('label', l);
    if (limit !== undefined) q.set('limit', String(limit));
    const qs = q.size > 0 ? `?${q}` : '';
    return (await this.request<{ snapshots: SnapshotInfo[] }>('GET', `/v1/snapshots${qs}`)).snapshots;
  }

  /** GET /v1/snapshots/{id}. */
  snapshotDetail(id: number): Promise<SnapshotDetail> {
    return this.request('GET', `/v1/snapshots/${id}`);
  }

  /** POST /v1/query as JSON. */
  query(sql: string, scope: { snapshot?: number; all?: boolean } = {}): Promise<QueryResult> {
    return this.request('POST', '/v1/query', { sql, ...scope, format: 'json' });
  }

  /** POST /v1/query as CSV text. */
  queryCsv(sql: string, scope: { snapshot?: number; all?: boolean } = {}): Promise<string> {
    return this.request('POST', '/v1/query', { sql, ...scope, format: 'csv' }, 'text');
  }

  /**
   * PUT /v1/spec: stores a new spec version (the server names the token as its author) once
   * it fits the stored tables and the fleet's binaries; refused (422, every problem in the
   * error's message) unless `force`. `source` is the file name errors give.
   */
  setSpec(
    yaml: string,
    opts: { source?: string; force?: boolean } = {},
  ): Promise<{ version: number; changed: boolean; warnings?: string[]; check?: SpecCheckReport }> {
    return this.request('PUT', '/v1/spec', {
      yaml,
      ...(opts.source ? { source: opts.source } : {}),
      ...(opts.force ? { force: true } : {}),
    });
  }

  /** GET /v1/spec, or GET /v1/spec/versions/{version}. */
  specVersion(version?: number): Promise<SpecVersion> {
    return this.request('GET', version === undefined ? '/v1/spec' : `/v1/spec/versions/${version}`);
  }

  /** GET /v1/spec/versions: oldest first, without texts. */
  async specVersions(): Promise<Pick<SpecVersion, 'version' | 'createdAt' | 'author'>[]> {
    return (
      await this.request<{ versions: Pick<SpecVersion, 'version' | 'createdAt' | 'author'>[] }>(
        'GET',
        '/v1/spec/versions',
      )
    ).versions;
  }

  /** GET /v1/links: what a goroutine (PROCESS:GOID) links to, in a snapshot (default the latest). */
  links(goroutine: string, snapshot?: number): Promise<QueryResult> {
    const q = new URLSearchParams({ goroutine });
    if (snapshot !== undefined) q.set('snapshot', String(snapshot));
    return this.request('GET', `/v1/links?${q}`);
  }

  /** GET /v1/tokens (admin). */
  async tokens(): Promise<TokenInfo[]> {
    return (await this.request<{ tokens: TokenInfo[] }>('GET', '/v1/tokens')).tokens;
  }

  /** POST /v1/tokens (admin): the answer holds the token, shown once. */
  createToken(role: string, name?: string): Promise<TokenInfo & { token: string }> {
    return this.request('POST', '/v1/tokens', { role, ...(name ? { name } : {}) });
  }

  /** DELETE /v1/tokens/{id} (admin). */
  revokeToken(id: string): Promise<TokenInfo> {
    return this.request('DELETE', `/v1/tokens/${encodeURIComponent(id)}`);
  }

  /** One request; JSON in, JSON (or text) out; failures become PeriscopeErrors that say what to do. */
  async request<T>(method: string, path: string, body?: unknown, as: 'json' | 'text' = 'json'): Promise<T> {
    const headers: Record<string, string> = { accept: as === 'json' ? 'application/json' : '*/*' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (e) {
      throw this.connectionError(e);
    }
    const text = await res.text();
    if (!res.ok) throw this.httpError(res.status, text);
    if (as === 'text') return text as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new PeriscopeError(
        'corrupt',
        `${this.base} answered ${method} ${path} with something that is not JSON`,
      );
    }
  }

  private connectionError(e: unknown): PeriscopeError {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const code = cause?.code ?? '';
    if (code === 'ECONNREFUSED')
      return new PeriscopeError(
        'not-found',
        `cannot connect to ${this.base} (connection refused); is \`periscope server\` running there? Check --server or $PERISCOPE_SERVER`,
      );
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
      return new PeriscopeError('not-found', `cannot resolve the host of ${this.base}; check --server`);
    if (code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT')
      return new PeriscopeError(
        'timeout',
        `${this.base} did not answer (timeout); check --server and the network`,
      );
    return new PeriscopeError(
      'not-found',
      `cannot reach ${this.base}: ${cause?.message ?? (e as Error).message}`,
    );
  }

  private httpError(status: number, text: string): PeriscopeError {
    let message = text.trim().slice(0, 500);
    try {
      const m = (JSON.parse(text) as { error?: { message?: string } }).error?.message;
      if (m) message = m;
    } catch {
      // not JSON: keep the text
    }
    if (status === 401)
      return new PeriscopeError(
        'permission',
        `the server refused the token (401): ${message}. Give a valid one with --token or $PERISCOPE_TOKEN`,
      );
    if (status === 403) return new PeriscopeError('permission', `not allowed (403): ${message}`);
    if (status === 404) return new PeriscopeError('not-found', message);
    if (status === 400 || status === 422) return new PeriscopeError('bad-usage', message);
    if (status === 504) return new PeriscopeError('timeout', message);
    return new PeriscopeError('corrupt', `the server failed (${status}): ${message}`);
  }
}

/** A client from command flags and the environment. */
export function clientFrom(values: Record<string, string | boolean | undefined>): ApiClient {
  const { server, token } = serverTarget(values);
  return new ApiClient(server, token);
}

// ---- what `periscope snapshot --server` and `periscope query --server` run

/** Parses repeated `--label key=value` flags into a label map. */
export function parseLabels(flag: unknown): Record<string, string> {
  const list = Array.isArray(flag) ? flag : typeof flag === 'string' ? [flag] : [];
  const out: Record<string, string> = {};
  for (const item of list) {
    const m = /^([^=]+)=(.*)$/.exec(String(item));
    if (!m?.[1])
      throw new PeriscopeError(
        'bad-usage',
        `--label "${String(item)}" is not key=value (e.g. --label incident=42)`,
      );
    out[m[1].trim()] = m[2] ?? '';
  }
  return out;
}

/** The request body of a query scope. */
export function scopeBody(scope: QueryScope): { snapshot?: number; all?: boolean } {
  if ('snapshot' in scope) return { snapshot: scope.snapshot };
  return 'all' in scope ? { all: true } : {};
}

/** One line per process of a fleet snapshot, failures with their kind. */
export function renderSnapshotResult(r: SnapshotResult): string {
  const ok = r.processes.filter((p) => p.ok).length;
  const lines = [
    `snapshot ${r.snapshotId}: ${ok} of ${r.processes.length} processes captured, skew ${r.captureSkewMs} ms, ${r.durationMs} ms in all`,
  ];
  for (const p of r.processes) {
    const problems = p.captureErrors
      ? `; ${p.captureErrors} spec entries not captured (SELECT * FROM capture_errors)`
      : '';
    const what = p.ok
      ? `${p.goroutines ?? 0} goroutines, paused ${((p.pauseNs ?? 0) / 1e6).toFixed(2)} ms${problems}`
      : `${p.error?.kind}: ${p.error?.message}`;
    lines.push(`  ${`${p.hostname}:${p.pid}`.padEnd(28)} ${(p.program ?? '-').padEnd(16)} ${what}`);
  }
  return lines.join('\n');
}

/** `periscope snapshot --server URL (--select SEL | --all) [--label k=v]… [--no-pause] [--json]`. */
export async function remoteSnapshot(values: Record<string, unknown>): Promise<SnapshotResult> {
  const select = typeof values.select === 'string' ? values.select : undefined;
  const all = values.all === true;
  if (!select && !all)
    throw new PeriscopeError(
      'bad-usage',
      'with --server, say which processes: --select program=NAME (or a label selector), or --all',
    );
  const flags = values as Record<string, string | boolean | undefined>;
  return clientFrom(flags).snapshot({
    ...(select ? { select } : {}),
    ...(all ? { all: true } : {}),
    labels: parseLabels(values.label),
    ...(values['no-pause'] === true ? { noPause: true } : {}),
  });
}
