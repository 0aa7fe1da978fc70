/**
 * The agent: discovery, the connection to the server and the executor of snapshot requests,
 * wired together. Sends the process list after every welcome and whenever it changes; keeps
 * the spec the server sends and matches processes against its program rules.
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { hostname as machineHostname } from 'node:os';
import { describeError } from '../common/errors.js';
import type { ClientTlsConfig } from '../common/tls-client.js';
import { PERISCOPE_VERSION } from '../common/version.js';
import {
  AGENT_CAPABILITIES,
  type ProcessDescription,
  type ServerMessage,
  type WelcomeMessage,
} from '../protocol/messages.js';
import { parseSpec } from '../spec/spec-parse.js';
import { deriveAgentId, readMachineIdentity } from './agent-id.js';
import { AgentMetrics, serveMetrics } from './agent-metrics.js';
import { Connection } from './connection.js';
import { Discovery, type DiscoveryStats } from './discovery.js';
import { Executor, type ExecutorOptions } from './executor.js';
import { ProbeRunner, type ProbeRunnerOptions } from './probe-runner.js';

/** The agent's version, sent in hello. */
export const AGENT_VERSION = PERISCOPE_VERSION;

/** Everything an agent is configured with. */
export interface AgentOptions {
  readonly server: string;
  readonly token: string;
  /** Largest message the server may send, bytes (default 64 MiB); a bigger one ends the connection (1009), which is then made again. */
  readonly maxServerMessageBytes?: number;
  /** A file holding the token, re-read at each reconnection (rotation without a restart). */
  readonly tokenFile?: string;
  /** TLS to the server: CA, pins, client certificate; plain ws:// to another machine only when allowed. */
  readonly tls?: ClientTlsConfig;
  /** This machine's name (default: the OS hostname). */
  readonly hostname?: string;
  /** Agent id sent in hello (default: the hostname and a hash of the machine's identity, see agent-id.ts). */
  readonly agentId?: string;
  readonly envAllow: readonly string[];
  /** Polling discovery (when kernel process events are unavailable): a full pass every this many ms (default 2000). */
  readonly intervalMs?: number;
  /**
   * Learn of new processes from the kernel's process events where it allows (default: yes,
   * unless the environment has PERISCOPE_PROC_EVENTS=0); false polls /proc.
   */
  readonly procEvents?: boolean;
  /** With process events, the safety net: a full pass over /proc every this many ms (default 600000). */
  readonly rescanMs?: number;
  /** With process events, the safety net: a listing of /proc (new and gone pids) every this many ms (default 60000). */
  readonly checkMs?: number;
  /** Agent-local label rules (--match): only processes matching all of them are reported. */
  readonly localMatch?: Readonly<Record<string, string>>;
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly pingMs?: number;
  readonly serverTimeoutMs?: number;
  readonly executor?: ExecutorOptions;
  /**
   * Where the capture and probe threads keep what they learn of each binary, so the first
   * prepare after a restart starts from it (snapshot/binary-disk-cache.ts; none: nowhere, the
   * default here — `periscope agent` gives --cache-dir or its default).
   */
  readonly binaryCacheDir?: string;
  /** How probes run here (docs/probes.md). */
  readonly probes?: ProbeRunnerOptions;
  /** One line per event (default: console.log with a timestamp). */
  readonly log?: (line: string) => void;
}

/** A running agent. */
export class Agent {
  private readonly discovery: Discovery;
  private readonly connection: Connection;
  private readonly executor: Executor;
  private readonly probes: ProbeRunner;
  private spec: { version: number; text: string } | undefined;
  private readonly log: (line: string) => void;
  private sendTimer: NodeJS.Timeout | undefined;
  private lastCount = -1;
  /** What `/metrics` shows (served only after serveMetrics). */
  readonly metrics: AgentMetrics;
  private metricsServer: Server | undefined;
  /** The id this agent says hello with. */
  readonly id: string;
  /** Random per agent process: the server tells this agent reconnecting from another with the same id. */
  readonly instance = randomBytes(8).toString('hex');
  private readonly idOrigin: string;
  private readonly binaryCacheDir: string | undefined;

  constructor(opts: AgentOptions) {
    const node = opts.hostname ?? machineHostname();
    this.log = opts.log ?? ((line) => console.log(`${new Date().toISOString()} ${line}`));
    this.binaryCacheDir = opts.binaryCacheDir;
    if (opts.agentId !== undefined) {
      this.id = opts.agentId;
      this.idOrigin = 'given with --id';
    } else {
      const derived = deriveAgentId(node, readMachineIdentity());
      this.id = derived.id;
      this.idOrigin =
        derived.sources.length > 0
          ? `the hostname and a hash of the ${derived.sources.join(' and ')}`
          : 'the hostname alone: no machine id, hardware UUID or network card address is readable; if hostnames repeat, give each agent its own --id';
    }
    this.discovery = new Discovery({
      node,
      envAllow: opts.envAllow,
      intervalMs: opts.intervalMs,
      procEvents: opts.procEvents ?? process.env.PERISCOPE_PROC_EVENTS !== '0',
      rescanMs: opts.rescanMs,
      checkMs: opts.checkMs,
      localMatch: opts.localMatch,
      onChange: () => this.processesChanged(),
      log: this.log,
    });
    this.metrics = new AgentMetrics({
      processes: () => this.discovery.processes().length,
      discovery: () => this.discovery.stats(),
      connected: () => this.connection.connected,
    });
    this.executor = new Executor(
      {
        captured: (ok, pauseNs) => this.metrics.captured(ok, pauseNs),
        lookup: (key) => this.discovery.lookup(key),
        spec: () => this.spec,
        processes: () => this.discovery.processes(),
        send: (text) => this.connection.send(text),
        buffered: () => this.connection.buffered,
        log: this.log,
      },
      { ...opts.executor, ...(opts.binaryCacheDir ? { binaryCacheDir: opts.binaryCacheDir } : {}) },
    );
    this.probes = new ProbeRunner(
      {
        batched: (b) => this.metrics.batched(b),
        send: (text) => this.connection.send(text),
        buffered: () => this.connection.buffered,
        log: this.log,
      },
      { ...opts.probes, ...(opts.binaryCacheDir ? { binaryCacheDir: opts.binaryCacheDir } : {}) },
    );
    this.connection = new Connection({
      server: opts.server,
      token: opts.token,
      ...(opts.tokenFile ? { tokenFile: opts.tokenFile } : {}),
      ...(opts.tls ? { tls: opts.tls } : {}),
      hello: {
        agentId: this.id,
        hostname: node,
        version: AGENT_VERSION,
        instance: this.instance,
        capabilities: AGENT_CAPABILITIES,
      },
      minBackoffMs: opts.minBackoffMs,
      maxBackoffMs: opts.maxBackoffMs,
      ...(opts.maxServerMessageBytes ? { maxPayload: opts.maxServerMessageBytes } : {}),
      pingMs: opts.pingMs,
      serverTimeoutMs: opts.serverTimeoutMs,
      log: this.log,
      onWelcome: (w) => this.welcome(w),
      onMessage: (m) => this.message(m),
      onDisconnect: () => this.executor.reset(),
    });
  }

  /** Starts discovering and connecting. */
  start(): void {
    this.log(`agent id ${this.id} (${this.idOrigin}), instance ${this.instance}`);
    this.log(
      this.binaryCacheDir
        ? `binary cache on disk: ${this.binaryCacheDir}`
        : 'binary cache on disk: off: every binary is loaded anew after a restart',
    );
    this.probes.start();
    this.discovery.start();
    this.probes.setProcesses(this.discovery.processes());
    this.connection.start();
  }

  /** Serves `GET /metrics` on host:port (0: a free port); resolves with its URL once listening. */
  async serveMetrics(host: string, port: number): Promise<string> {
    const { server, url } = await serveMetrics(this.metrics, host, port);
    this.metricsServer = server;
    this.log(`metrics on ${url}`);
    return url;
  }

  /**
   * Stops everything (no target is ever left paused: pauses are synchronous and short);
   * resolves when the probes are removed and the connection, which carried their last events,
   * is closed.
   */
  async stop(): Promise<void> {
    if (this.sendTimer) clearTimeout(this.sendTimer);
    this.discovery.stop();
    this.executor.close();
    await this.probes.stop();
    this.connection.close();
    this.metricsServer?.close();
  }

  /** The processes currently reported. */
  processes(): readonly ProcessDescription[] {
    return this.discovery.processes();
  }

  /** How discovery works now and what it has done (for tests and benchmarks). */
  discoveryStats(): DiscoveryStats {
    return this.discovery.stats();
  }

  /** Whether the server has welcomed this agent on the current connection. */
  get connected(): boolean {
    return this.connection.connected;
  }

  private welcome(w: WelcomeMessage): void {
    this.useSpec(w.specVersion, w.spec);
    this.sendProcesses();
    this.probes.welcomed();
  }

  private message(m: ServerMessage): void {
    switch (m.type) {
      case 'spec':
        this.useSpec(m.specVersion, m.spec);
        return;
      case 'prepare':
        this.executor.prepare(m);
        return;
      case 'capture':
        this.executor.capture(m);
        return;
      case 'abort':
        if (typeof m.requestId === 'string') this.executor.abort(m.requestId);
        return;
      case 'check-spec':
        this.executor.checkSpec(m);
        return;
      case 'describe-function':
        this.executor.describeFunction(m);
        return;
      case 'probes':
        this.probes.setOrders(m);
        return;
      case 'welcome':
        this.log('ignored a second welcome from the server');
        return;
      case 'refused':
        this.log('ignored a refusal from the server after its welcome');
    }
  }

  private useSpec(version: unknown, text: unknown): void {
    if (typeof version !== 'number' || typeof text !== 'string') {
      this.log('ignored a spec from the server without a numeric version and YAML text');
      return;
    }
    if (this.spec?.version === version && this.spec.text === text) return;
    try {
      const spec = text.trim() === '' ? undefined : parseSpec(text, `spec version ${version}`);
      this.spec = { version, text };
      this.discovery.setPrograms(spec?.programs ?? []);
      this.probes.setRedaction(spec?.redaction);
      this.log(`spec version ${version}: ${spec?.programs.length ?? 0} program rules`);
    } catch (e) {
      // Keep matching with the previous rules; requests for this version will fail per process.
      this.spec = { version, text };
      this.log(
        `spec version ${version} does not parse (${describeError(e)}); keeping the previous program rules`,
      );
    }
  }

  private processesChanged(): void {
    this.probes.setProcesses(this.discovery.processes());
    // Coalesce bursts (a deploy starts many processes at once).
    if (this.sendTimer) return;
    this.sendTimer = setTimeout(() => {
      this.sendTimer = undefined;
      this.sendProcesses();
    }, 100);
  }

  private sendProcesses(): void {
    const processes = this.discovery.processes();
    if (!this.connection.send(JSON.stringify({ type: 'processes', processes }))) return;
    if (processes.length !== this.lastCount) this.log(`monitoring ${processes.length} Go processes`);
    this.lastCount = processes.length;
  }
}
