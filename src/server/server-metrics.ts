/**
 * The server's `/metrics` (docs/metrics.md): what it counts as things happen (snapshots, their
 * pauses and durations, per-process errors, probe counters as agents report them, HTTP
 * requests, OTLP export, investigation firings) and what it reads when scraped (agents by state, processes
 * monitored, the store's size on disk). Names are stable and start with `periscope_`.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentState } from '../api/responses.js';
import {
  addProcessMetrics,
  type Counter,
  DURATION_BUCKETS,
  type Histogram,
  MetricsRegistry,
  PAUSE_BUCKETS,
} from '../common/metrics.js';
import { ProbeMetrics } from '../probes/probe-metrics.js';
import type { ProbeCounts, ProbeNotice } from '../protocol/messages.js';
import { DB_FILE } from '../store/data-dir.js';
import type { Registry } from './registry.js';
import type { ProcessOutcome } from './snapshot-run.js';

const STATES: readonly AgentState[] = ['connected', 'unresponsive', 'refused', 'disconnected'];
const EVERYTHING = { text: '', terms: [] };

/** What the server counts, and the registry `/metrics` renders. */
export class ServerMetrics {
  readonly registry = new MetricsRegistry();
  readonly snapshots: Counter;
  readonly snapshotDuration: Histogram;
  readonly pause: Histogram;
  readonly processesCaptured: Counter;
  readonly processErrors: Counter;
  private readonly probes: ProbeMetrics;
  readonly probeEventsReceived: Counter;
  readonly http: Counter;
  readonly otlpExported: Counter;
  readonly otlpDropped: Counter;
  readonly otlpRequests: Counter;
  readonly investigationFirings: Counter;
  /** Events waiting in the OTLP export queue (set by the exporter). */
  otlpQueued: () => number = () => 0;
  readonly otlpTracesExported: Counter;
  readonly otlpTracesDropped: Counter;
  /** Kept traces waiting for the OTLP collector (set by the exporter). */
  otlpTracesQueued: () => number = () => 0;

  constructor(registry: Registry, dataDir: string) {
    const m = this.registry;
    m.collected(
      'periscope_agents',
      'Agents the server knows, by state (connected, unresponsive, refused, disconnected).',
      'gauge',
      () => {
        const by = new Map<string, number>(STATES.map((s) => [s, 0]));
        for (const a of registry.agents()) by.set(a.state, (by.get(a.state) ?? 0) + 1);
        return [...by].map(([state, value]) => ({ labels: { state }, value }));
      },
    );
    m.collected(
      'periscope_processes_monitored',
      'Go processes reported by connected agents.',
      'gauge',
      () => [{ labels: {}, value: registry.processes(EVERYTHING).length }],
    );
    this.snapshots = m.counter('periscope_snapshots_total', 'Snapshots taken and stored.');
    this.snapshotDuration = m.histogram(
      'periscope_snapshot_duration_seconds',
      'Time from a snapshot request to its stored result, seconds.',
      DURATION_BUCKETS,
    );
    this.pause = m.histogram(
      'periscope_snapshot_pause_seconds',
      'How long each captured process was paused, seconds (as its agent measured; snapshots taken without pausing are left out).',
      PAUSE_BUCKETS,
    );
    this.processesCaptured = m.counter(
      'periscope_snapshot_processes_total',
      'Processes of snapshots, by outcome (ok, error).',
    );
    this.processErrors = m.counter(
      'periscope_snapshot_process_errors_total',
      'Processes a snapshot could not capture, by error kind (PROCESS_MISSING, PERMISSION, TIMEOUT, …).',
    );
    this.probes = new ProbeMetrics(m, 'periscope_probe', ' (as agents report)');
    this.probeEventsReceived = m.counter(
      'periscope_probe_events_received_total',
      'Probe events the server received from agents and stored.',
    );
    m.collected(
      'periscope_store_bytes',
      'Size of the store on disk (database and its WAL), bytes.',
      'gauge',
      () => [{ labels: {}, value: storeBytes(dataDir) }],
    );
    this.http = m.counter(
      'periscope_http_requests_total',
      'HTTP requests answered, by route (its path template; "static" for the web app), method and status.',
    );
    this.otlpExported = m.counter(
      'periscope_otlp_exported_total',
      'Probe events the OTLP collector accepted.',
    );
    this.otlpDropped = m.counter(
      'periscope_otlp_dropped_total',
      'Probe events not exported, by reason (queue_full, rejected, retries_exhausted, shutdown).',
    );
    this.otlpRequests = m.counter(
      'periscope_otlp_requests_total',
      'Export requests sent to the OTLP collector, by outcome (ok, retry, rejected, error).',
    );
    m.collected('periscope_otlp_queue_events', 'Probe events waiting to be exported.', 'gauge', () => [
      { labels: {}, value: this.otlpQueued() },
    ]);
    this.otlpTracesExported = m.counter(
      'periscope_otlp_traces_exported_total',
      'Kept request traces the OTLP collector accepted (one span each).',
    );
    this.otlpTracesDropped = m.counter(
      'periscope_otlp_traces_dropped_total',
      'Kept request traces not exported, by reason (queue_full, rejected, retries_exhausted, shutdown).',
    );
    m.collected('periscope_otlp_queue_traces', 'Kept request traces waiting to be exported.', 'gauge', () => [
      { labels: {}, value: this.otlpTracesQueued() },
    ]);
    this.investigationFirings = m.counter(
      'periscope_investigation_firings_total',
      'Firings of standing investigations, by investigation (its name) and outcome (ok; error: its snapshot or report could not be taken or stored).',
    );
    addProcessMetrics(m);
  }

  /** Counts a stored snapshot: its duration, each process's pause (unless taken without pausing) or error. */
  snapshotTaken(outcomes: readonly ProcessOutcome[], seconds: number, paused: boolean): void {
    this.snapshots.inc();
    this.snapshotDuration.observe(seconds);
    for (const o of outcomes) {
      if (o.snapshot) {
        this.processesCaptured.inc({ outcome: 'ok' });
        if (paused) this.pause.observe(o.snapshot.pauseNs / 1e9);
      } else {
        this.processesCaptured.inc({ outcome: 'error' });
        this.processErrors.inc({ kind: o.error?.kind ?? 'INTERNAL' });
      }
    }
  }

  /** Counts what an agent's probe batch reports. */
  probeBatch(events: number, counts: readonly ProbeCounts[], notices: readonly ProbeNotice[]): void {
    this.probeEventsReceived.inc({}, events);
    this.probes.count(counts, notices);
  }
}

/** The store's files in a data directory (the database and its WAL), bytes. */
function storeBytes(dataDir: string): number {
  let total = 0;
  try {
    for (const name of readdirSync(dataDir))
      if (name.startsWith(DB_FILE)) total += statSync(join(dataDir, name)).size;
  } catch {
    // The directory is gone: nothing is stored.
  }
  return total;
}
