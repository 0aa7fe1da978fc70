/**
 * The agent's `/metrics` (opt-in, `--metrics-listen HOST:PORT`; docs/metrics.md): processes
 * watched, discovery passes and kernel events, captures and their pauses, probe hits and
 * drops, and the agent's own CPU time and memory, in the Prometheus text format over plain
 * HTTP. It answers `GET /metrics` and nothing else, carries no token: bind it to loopback or
 * a scrape-only network.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  addProcessMetrics,
  type Counter,
  type Histogram,
  MetricsRegistry,
  PAUSE_BUCKETS,
} from '../common/metrics.js';
import { PROMETHEUS_CONTENT_TYPE } from '../common/prometheus-text.js';
import { ProbeMetrics } from '../probes/probe-metrics.js';
import type { ProbeBatchMessage } from '../protocol/messages.js';
import type { DiscoveryStats } from './discovery.js';

/** What the metrics read from the agent when scraped. */
export interface AgentMetricsSource {
  processes(): number;
  discovery(): DiscoveryStats;
  connected(): boolean;
}

/** The agent's counters and the registry its `/metrics` renders. */
export class AgentMetrics {
  readonly registry = new MetricsRegistry();
  private readonly captures: Counter;
  private readonly pause: Histogram;
  private readonly probes: ProbeMetrics;

  constructor(source: AgentMetricsSource) {
    const m = this.registry;
    m.collected('periscope_agent_processes_watched', 'Go processes this agent reports.', 'gauge', () => [
      { labels: {}, value: source.processes() },
    ]);
    m.collected(
      'periscope_agent_connected',
      'Whether the server has welcomed this agent on its current connection (1) or not (0).',
      'gauge',
      () => [{ labels: {}, value: source.connected() ? 1 : 0 }],
    );
    m.collected(
      'periscope_agent_discovery_passes_total',
      'Discovery passes over /proc, by kind (full: every process examined; quick: new and gone pids).',
      'counter',
      () => {
        const s = source.discovery();
        return [
          { labels: { kind: 'full' }, value: s.fullPasses },
          { labels: { kind: 'quick' }, value: s.quickPasses },
        ];
      },
    );
    m.collected(
      'periscope_agent_discovery_events_total',
      "The kernel's process events discovery read, by kind (exec, exit, overrun).",
      'counter',
      () => {
        const s = source.discovery();
        return [
          { labels: { kind: 'exec' }, value: s.execEvents },
          { labels: { kind: 'exit' }, value: s.exitEvents },
          { labels: { kind: 'overrun' }, value: s.overruns },
        ];
      },
    );
    m.collected(
      'periscope_agent_binaries_read_total',
      'Go binaries discovery read (each executable once).',
      'counter',
      () => [{ labels: {}, value: source.discovery().binariesRead }],
    );
    this.captures = m.counter(
      'periscope_agent_captures_total',
      'Processes this agent was asked to capture, by outcome (ok, failed).',
    );
    this.pause = m.histogram(
      'periscope_agent_pause_seconds',
      'How long each captured process was paused, seconds.',
      PAUSE_BUCKETS,
    );
    this.probes = new ProbeMetrics(m, 'periscope_agent_probe');
    addProcessMetrics(m);
  }

  /** Counts one process's capture. */
  captured(ok: boolean, pauseNs?: number): void {
    this.captures.inc({ outcome: ok ? 'ok' : 'failed' });
    if (ok && pauseNs !== undefined) this.pause.observe(pauseNs / 1e9);
  }

  /** Counts what a probe batch reports. */
  batched(b: Omit<ProbeBatchMessage, 'type'>): void {
    this.probes.count(b.counts, b.notices);
  }
}

/** Serves `GET /metrics` on `host:port` (0: a free port); resolves with the server and its URL. */
export async function serveMetrics(
  metrics: AgentMetrics,
  host: string,
  port: number,
): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('not found: the agent serves only GET /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET', 'content-type': 'text/plain; charset=utf-8' });
      res.end('only GET /metrics\n');
      return;
    }
    res.writeHead(200, { 'content-type': `${PROMETHEUS_CONTENT_TYPE}; charset=utf-8` });
    res.end(req.method === 'HEAD' ? undefined : metrics.registry.render());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.unref();
  const addr = server.address() as AddressInfo;
  const h = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return { server, url: `http://${h}:${addr.port}/metrics` };
}
