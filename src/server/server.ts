/**
 * `periscope server` as a library: one process with the HTTP API, the agents' WebSocket
 * endpoint, the registry, the orchestrator, tokens and the embedded store in a data directory.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../store/audit-log.js';
import { DuckDBStore } from '../store/duckdb-store.js';
import type { ProbeCompactionOptions } from '../store/shared/shared-store.js';
import type { Store } from '../store/store.js';
import { type FirstTokens, fileTokenBook, type TokenBook } from '../store/token-book.js';
import { TOKENS_FILE } from '../store/tokens.js';
import { AgentEndpoint } from './agent-endpoint.js';
import { progressBounds } from './agent-progress.js';
import { audit } from './audit.js';
import type { ServerContext } from './context.js';
import { FleetAsks } from './fleet-asks.js';
import { FleetSnapshots } from './fleet-snapshot.js';
import { FleetSpecFollower } from './fleet-spec.js';
import { FleetView } from './fleet-view.js';
import { FunctionDescriptions } from './function-describe.js';
import { auditRoutes, retentionRoute } from './http-audit.js';
import { dataRoutes } from './http-data.js';
import { HttpError } from './http-errors.js';
import { fleetRoutes } from './http-fleet.js';
import { functionRoute } from './http-function.js';
import { investigationRoutes } from './http-investigations.js';
import { sendError } from './http-io.js';
import { metricsRoute } from './http-metrics.js';
import { probeRoutes } from './http-probes.js';
import { type Route, Router } from './http-router.js';
import { sessionRoutes } from './http-session.js';
import { snapshotRoutes } from './http-snapshots.js';
import { defaultWebRoot, openApiRoute, serveStatic } from './http-static.js';
import { tableRoutes } from './http-tables.js';
import { tokenRoutes } from './http-tokens.js';
import { traceRoutes } from './http-traces.js';
import { Investigations } from './investigations/investigations.js';
import { createListener } from './listener.js';
import { Orchestrator } from './orchestrator.js';
import { OrphanCollection, type OrphanCollectionOptions, orphanAgeMs } from './orphan-collection.js';
import { OtlpExporter, type OtlpOptions } from './otlp-export.js';
import { type PgListener, startPgServer } from './pg/pg-server.js';
import { ProbeBook } from './probe-book.js';
import { ProbeOrders } from './probe-orders.js';
import { agentProcessFacts } from './program-scope.js';
import { Registry } from './registry.js';
import { RequestSignals } from './request-signals.js';
import { Retention, type RetentionOptions } from './retention-run.js';
import { ServerMetrics } from './server-metrics.js';
import { SnapshotMetaLog } from './snapshot-meta.js';
import { SpecChecks } from './spec-check.js';
import { pushSpec } from './spec-update.js';
import { lockDownStore } from './store-lockdown.js';
import { type LoadedTls, type ServerTlsConfig, TlsMaterial } from './tls-material.js';
import { TraceBook } from './trace-book.js';
import { WebSessions } from './web-sessions.js';

/** How to run a server. */
export interface ServerOptions {
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  readonly dataDir: string;
  /** The web app's files (default: dist/web/ of this installation; a placeholder page when not built). */
  readonly staticDir?: string;
  /** How long an agent's prepare may go without progress, ms (default 30000; snapshot-run.ts). */
  readonly prepareTimeoutMs?: number;
  /** The hard bound of a prepare however it progresses, ms (default DEFAULT_PREPARE_MAX_MS). */
  readonly prepareMaxMs?: number;
  readonly captureTimeoutMs?: number;
  readonly helloTimeoutMs?: number;
  /** An agent silent this long (ms, default 5000) is marked unresponsive. */
  readonly agentTimeoutMs?: number;
  /** Heartbeat interval, ms (default: a fifth of agentTimeoutMs, at most 1000). */
  readonly pingIntervalMs?: number;
  /** Where agent events (connected, refused, unresponsive, …) are logged (default: stdout). */
  readonly agentLog?: (line: string) => void;
  /** Largest message an agent may send, bytes (default 1 GiB); a bigger one closes its connection (1009). */
  readonly maxAgentMessageBytes?: number;
  /**
   * Another Store backend (default: the embedded DuckDB store in dataDir, which the server
   * opens and closes). The caller owns a store passed here: the server never closes it.
   */
  readonly store?: Store;
  /**
   * Scale out: share PostgreSQL (`store`, a postgres:// URL) and object storage (`objects`)
   * with other servers; queries run on a cache in `<dataDir>/cache` bounded by `cacheMb`
   * (default 2048). Tokens and the audit log stay in dataDir. Ignored when `store` is given.
   */
  readonly shared?: {
    readonly store: string;
    readonly objects: string;
    readonly cacheMb?: number;
    /** The collection of objects nobody indexed (default: every 10 minutes, an age of orphanAgeMs()). */
    readonly orphans?: Partial<OrphanCollectionOptions>;
    /** Compaction of probe batches (defaults: store/shared/probe-compaction.ts, every 60 s). */
    readonly probeCompaction?: ProbeCompactionOptions & { readonly intervalMs?: number };
    /** How long a retention pass over probe data stays recorded for other servers' caches (default 7 days). */
    readonly probeTrimKeepMs?: number;
  };
  /** Serve HTTPS (API and agents' WebSocket) with this certificate and key, reloaded when they change. */
  readonly tls?: ServerTlsConfig;
  /** Delete snapshots older than their program's rule, hourly (see retention-run.ts). */
  readonly retention?: RetentionOptions;
  /** The audit log's current file is rotated past this size, bytes (default 64 MiB). */
  readonly auditRotateBytes?: number;
  /** Where server events (TLS reloads, …) are logged (default: stderr with a timestamp). */
  readonly log?: (line: string) => void;
  /** Serve the PostgreSQL protocol on this port too (0 picks a free one; default: not served). */
  readonly pg?: { readonly port: number; readonly insecurePlain?: boolean };
  /** Serve `/metrics` without a token (default: a user or admin token), for a scraper on a trusted network. */
  readonly metricsPublic?: boolean;
  /** Export probe events (logs) and kept request traces (spans) to an OpenTelemetry collector over OTLP/HTTP JSON. */
  readonly otlp?: OtlpOptions;
  /** How long closing waits for the store's last writes, ms (default STORE_CLOSE_WAIT_MS). */
  readonly storeCloseWaitMs?: number;
}

/**
 * How long a stopping server waits for its store's last writes (the scaled-out store's last
 * flush of probe data, a compaction pass, the cache's running statements), ms: inside the 30 s
 * a supervisor (Kubernetes, systemd's default 90 s) commonly grants between SIGTERM and SIGKILL.
 */
export const STORE_CLOSE_WAIT_MS = 20_000;

export type { FirstTokens } from '../store/token-book.js';

/** Logs a failed read of the shared tokens at most once a minute (the copy in memory stays in use). */
function tokenReadFailed(log: (line: string) => void): (e: Error) => void {
  let last = 0;
  return (e) => {
    if (Date.now() - last < 60_000) return;
    last = Date.now();
    log(
      `cannot read the tokens from PostgreSQL: ${e.message}; the tokens read last stay in use until it answers`,
    );
  };
}

/** A running server. */
export interface RunningServer {
  readonly url: string;
  readonly port: number;
  readonly context: ServerContext;
  readonly routes: readonly Route[];
  readonly agents: AgentEndpoint;
  /** Set when this start created the first tokens. */
  readonly firstTokens?: FirstTokens;
  /** The certificate served now (HTTPS only). */
  readonly tls?: LoadedTls;
  /** The PostgreSQL protocol port, when served. */
  readonly pgPort?: number;
  /** What `/metrics` shows. */
  readonly metrics: ServerMetrics;
  /** The bus of request signals: the trace side emits, investigations subscribe. */
  readonly signals: RequestSignals;
  /** The standing investigations. */
  readonly investigations: Investigations;
  /** The collection of objects nobody indexed (scaled-out store only). */
  readonly orphans?: OrphanCollection;
  /**
   * Stops serving and closes the store the server opened (not one passed in ServerOptions.store),
   * waiting for its last writes at most storeCloseWaitMs: resolves with what it gave up on (logged).
   */
  close(): Promise<string[]>;
}

/** The agent endpoint as a route, so plain GETs get a 426 and the OpenAPI check sees it. */
function agentRoute(): Route {
  return {
    method: 'GET',
    path: '/v1/agent',
    need: 'agent',
    handle: () => {
      throw new HttpError(426, 'upgrade-required', '/v1/agent is a WebSocket endpoint for `periscope agent`');
    },
  };
}

/** Starts a server and resolves when it listens. */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const log = opts.log ?? ((line: string) => console.error(`${new Date().toISOString()} ${line}`));
  // Read before anything is created: a wrong certificate or key stops the start with its reason.
  const tls = opts.tls ? new TlsMaterial(opts.tls, log) : undefined;
  // Imported only when used: an embedded server never loads the PostgreSQL client.
  const shared =
    opts.shared && !opts.store
      ? await (await import('../store/shared/shared-store.js')).SharedStore.open({
          store: opts.shared.store,
          objects: opts.shared.objects,
          cacheDir: join(opts.dataDir, 'cache'),
          cacheBytes: (opts.shared.cacheMb ?? 2048) * 1024 * 1024,
          log,
          ...(opts.shared.probeCompaction ? { probeCompaction: opts.shared.probeCompaction } : {}),
          ...(opts.shared.probeTrimKeepMs !== undefined
            ? { probeTrimKeepMs: opts.shared.probeTrimKeepMs }
            : {}),
        })
      : undefined;
  const store =
    opts.store ?? shared ?? (await DuckDBStore.open(opts.dataDir, { waitMs: 2000, noExternalAccess: true }));
  let tokens: TokenBook;
  let firstTokens: FirstTokens | undefined;
  try {
    tokens = shared ? await shared.openTokens(tokenReadFailed(log)) : fileTokenBook(opts.dataDir);
    if (shared && existsSync(join(opts.dataDir, TOKENS_FILE)))
      log(
        `${join(opts.dataDir, TOKENS_FILE)} is not used with --store: the tokens are in PostgreSQL (\`periscope token … --store URL\`, or \`periscope store migrate\` to copy them)`,
      );
    firstTokens = await tokens.createFirst();
    await lockDownStore(store);
  } catch (e) {
    if (!opts.store) await store.close();
    throw e;
  }
  /** Closes the tokens and the store (its last writes waited for, boundedly); what it gave up on, logged. */
  const closeStore = async (): Promise<string[]> => {
    tokens.close();
    if (opts.store) return [];
    const waitMs = opts.storeCloseWaitMs ?? STORE_CLOSE_WAIT_MS;
    const left = await store.close(waitMs);
    if (left.length > 0)
      log(
        `stopping: gave up after ${waitMs / 1000} s waiting for ${left.join('; ')} (what they had not written is lost; check the store's connection)`,
      );
    return left;
  };
  const registry = new Registry();
  const metrics = new ServerMetrics(registry, opts.dataDir);
  const meta = new SnapshotMetaLog(opts.dataDir, shared);
  const orchestrator = new Orchestrator(registry, store, meta, {
    prepareTimeoutMs: opts.prepareTimeoutMs ?? 30_000,
    prepareMaxMs: prepareMaxMs(opts),
    captureTimeoutMs: opts.captureTimeoutMs ?? 60_000,
    onStored: (outcomes, seconds, paused) => metrics.snapshotTaken(outcomes, seconds, paused),
    // Only a shared store's spec changes behind this server's back (set on another server).
    ...(shared ? { pushSpec: (version, yaml) => pushSpec(context, version, yaml) } : {}),
  });
  const agentLog = opts.agentLog ?? ((line: string) => console.log(`${new Date().toISOString()} ${line}`));
  const auditLog = new AuditLog(
    opts.dataDir,
    opts.auditRotateBytes !== undefined ? { rotateBytes: opts.auditRotateBytes } : {},
  );
  for (const [name, role] of firstTokens
    ? ([
        ['first-admin', 'admin'],
        ['first-agent', 'agent'],
      ] as const)
    : [])
    auditLog.append({
      action: 'token.create',
      actor: { name: 'server' },
      source: 'local',
      outcome: 'ok',
      details: { id: tokens.list().find((t) => t.name === name)?.id ?? '', name, role },
    });
  const requestSignals = new RequestSignals((e) =>
    log(`a request signal's listener failed: ${(e as Error).message}`),
  );
  const context: ServerContext = {
    registry,
    requestSignals,
    traces: new TraceBook(store, requestSignals, agentLog, (agentId, processId) =>
      agentProcessFacts(registry, agentId, processId),
    ),
    probeOrders: new ProbeOrders(store),
    probes: new ProbeBook(store, agentLog, (agentId, processId) =>
      agentProcessFacts(registry, agentId, processId),
    ),
    orchestrator,
    // A spec check loads binaries on the agents, as a prepare does: it gets as long.
    specChecks: new SpecChecks(registry, progressBounds(opts.prepareTimeoutMs ?? 30_000, prepareMaxMs(opts))),
    functions: new FunctionDescriptions(
      registry,
      progressBounds(opts.prepareTimeoutMs ?? 30_000, prepareMaxMs(opts)),
    ),
    store,
    tokens,
    audit: auditLog,
    meta,
    dataDir: opts.dataDir,
    startedAt: new Date(),
  };
  context.probes.onStored((b) => metrics.probeBatch(b.events.length, b.counts, b.notices));
  const otlp = opts.otlp ? new OtlpExporter({ log, ...opts.otlp }, metrics) : undefined;
  if (otlp) {
    context.probes.onStored((b) => otlp.add(b.agentId, b.events));
    context.traces.onStored((agentId, traces) => otlp.addTraces(agentId, traces));
  }
  const investigations = new Investigations({
    store,
    registry,
    orchestrator,
    probes: context.probes,
    signals: requestSignals,
    audit: (r) => auditLog.append(r),
    log,
    fired: (investigation, outcome) => metrics.investigationFirings.inc({ investigation, outcome }),
    // Servers sharing PostgreSQL reserve firings and claim schedule ticks there.
    ...(shared
      ? {
          fleet: {
            investigations: shared.investigationFleet,
            serverId: () => context.fleet?.serverId,
            probeStatuses: () => context.fleet?.probeStatuses(),
          },
        }
      : {}),
  });
  try {
    await investigations.start();
  } catch (e) {
    await closeStore();
    throw e;
  }
  const sessions = new WebSessions(tokens);
  const retention = new Retention(context, opts.retention?.rules ?? [], log);
  const routes: Route[] = [
    ...fleetRoutes(context),
    agentRoute(),
    ...snapshotRoutes(context),
    ...dataRoutes(context),
    ...probeRoutes(context),
    ...investigationRoutes(context, investigations),
    ...traceRoutes(context),
    ...tableRoutes(context),
    ...tokenRoutes(context),
    ...sessionRoutes(sessions),
    ...auditRoutes(context),
    retentionRoute(retention),
    openApiRoute(),
    functionRoute(context),
    metricsRoute(metrics, opts.metricsPublic === true),
  ];
  const router = new Router(routes, tokens, sessions, (req, token, path, message) =>
    audit(context, { req, token }, 'denied', 'refused', { method: req.method, path, message }),
  );
  const webRoot = opts.staticDir ?? defaultWebRoot();
  const agents = new AgentEndpoint(context, {
    ...(opts.helloTimeoutMs ? { helloTimeoutMs: opts.helloTimeoutMs } : {}),
    ...(opts.pingIntervalMs ? { pingIntervalMs: opts.pingIntervalMs } : {}),
    ...(opts.agentTimeoutMs ? { agentTimeoutMs: opts.agentTimeoutMs } : {}),
    ...(opts.agentLog ? { log: opts.agentLog } : {}),
    ...(opts.maxAgentMessageBytes ? { maxMessageBytes: opts.maxAgentMessageBytes } : {}),
    ...(tls?.requiresClientCert ? { requireClientCert: true } : {}),
  });
  const listener = createListener((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    res.once('finish', () =>
      metrics.http.inc({
        route: router.routeOf(url.pathname) ?? 'static',
        method: req.method ?? '',
        status: String(res.statusCode),
      }),
    );
    router
      .dispatch(req, res, url)
      .then((handled) => (handled ? undefined : serveStatic(webRoot, req, res, url)))
      .catch((e: unknown) => {
        console.error('periscope server:', e);
        sendError(res, new HttpError(500, 'internal', 'internal error; the server log has details'));
      });
  }, tls);
  const server = listener.http;
  server.on('upgrade', (req, socket, head) => agents.upgrade(req, socket, head));
  server.on('clientError', (e: NodeJS.ErrnoException, socket) => {
    const status =
      e.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    listener.accept.once('error', reject);
    listener.accept.listen(opts.port ?? 7070, opts.host ?? '127.0.0.1', () => {
      listener.accept.off('error', reject);
      resolve();
    });
  }).catch(async (e: unknown) => {
    tls?.close();
    await closeStore();
    throw e;
  });
  let pg: PgListener | undefined;
  if (opts.pg) {
    try {
      pg = await startPgServer(
        context,
        { host: opts.host ?? '127.0.0.1', port: opts.pg.port, insecurePlain: opts.pg.insecurePlain === true },
        tls,
      );
    } catch (e) {
      listener.closeAll();
      await new Promise<void>((resolve) => listener.accept.close(() => resolve()));
      await otlp?.close();
      tls?.close();
      await closeStore();
      throw e;
    }
  }
  if (opts.retention && opts.retention.rules.length > 0)
    retention.start(opts.retention.intervalMs ?? 3_600_000);
  const addr = listener.accept.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `${listener.scheme}://${host}:${addr.port}`;
  // Scaled-out: this server joins the fleet registry and takes part in the others' snapshots.
  let fleetSnapshots: FleetSnapshots | undefined;
  let orphans: OrphanCollection | undefined;
  let fleetAsks: FleetAsks | undefined;
  let specFollower: FleetSpecFollower | undefined;
  if (shared) {
    const view = new FleetView(
      shared.fleet,
      registry,
      context.probes,
      `${hostname()}:${addr.port}/${randomUUID().slice(0, 6)}`,
      url,
      log,
    );
    await view.start();
    context.fleet = view;
    fleetSnapshots = new FleetSnapshots(shared.fleet, view, orchestrator, store, meta, {
      prepareTimeoutMs: opts.prepareTimeoutMs ?? 30_000,
      prepareMaxMs: prepareMaxMs(opts),
      captureTimeoutMs: opts.captureTimeoutMs ?? 60_000,
      log,
    });
    fleetSnapshots.start();
    orchestrator.attachFleet(fleetSnapshots);
    orphans = new OrphanCollection(
      (ageMs) => shared.collectOrphans(ageMs),
      {
        intervalMs: opts.shared?.orphans?.intervalMs ?? 600_000,
        ageMs:
          opts.shared?.orphans?.ageMs ?? orphanAgeMs(prepareMaxMs(opts), opts.captureTimeoutMs ?? 60_000),
      },
      log,
    );
    orphans.start();
    // Spec checks and function descriptions reach the other servers' agents; the spec and
    // probe orders stored through any server reach this one's.
    fleetAsks = new FleetAsks(shared.fleet, view, log);
    context.specChecks.attachFleet(fleetAsks, view);
    context.functions.attachFleet(fleetAsks, view);
    fleetAsks.start();
    specFollower = new FleetSpecFollower(shared.fleet, orchestrator, log);
    specFollower.start();
  }
  return {
    url,
    port: addr.port,
    context,
    routes,
    agents,
    metrics,
    signals: requestSignals,
    investigations,
    ...(orphans ? { orphans } : {}),
    ...(firstTokens ? { firstTokens } : {}),
    ...(pg ? { pgPort: pg.port } : {}),
    get tls() {
      return tls?.current;
    },
    close: async () => {
      // Schedules and triggers stop at once; firings under way are waited for before the store closes.
      const stopping = investigations.stop();
      fleetSnapshots?.stop();
      await orphans?.stop();
      fleetAsks?.stop();
      specFollower?.stop();
      await context.fleet?.stop();
      agents.close();
      await pg?.close();
      await retention.close();
      await otlp?.close();
      tls?.close();
      listener.closeAll();
      await new Promise<void>((resolve) => listener.accept.close(() => resolve()));
      await stopping;
      const left = await closeStore();
      auditLog.close();
      return left;
    },
  };
}

/**
 * The default hard bound of a prepare that keeps progressing, ms: at load ~30 on 2 cores a
 * 233 MB binary's several seconds of CPU take a minute or two of wall-clock time. With the
 * capture timeout (60 s) a snapshot request still answers within 300 s, the time HTTP
 * clients commonly wait for an answer's headers (Node's fetch, which `periscope snapshot
 * --server` uses).
 */
export const DEFAULT_PREPARE_MAX_MS = 180_000;

/** The hard bound of a prepare: --prepare-max-wait, never shorter than --prepare-timeout. */
function prepareMaxMs(opts: ServerOptions): number {
  return Math.max(opts.prepareTimeoutMs ?? 30_000, opts.prepareMaxMs ?? DEFAULT_PREPARE_MAX_MS);
}
