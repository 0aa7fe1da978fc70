/**
 * Export to an OpenTelemetry collector over OTLP/HTTP JSON: probe events as logs
 * (`/v1/logs`, built here) and kept request traces as spans (`/v1/traces`, otlp-traces.ts),
 * each through its own bounded queue with batches and retries (otlp-sender.ts). The server
 * never waits on the collector: a slow or absent collector costs queued memory, bounded, and
 * nothing else. docs/otlp.md.
 */

import { PERISCOPE_VERSION } from '../common/version.js';
import type { TraceRecord } from '../probes/trace-records.js';
import type { WireProbeEvent } from '../protocol/messages.js';
import { OtlpSender, type OtlpTuning } from './otlp-sender.js';
import { anyValue } from './otlp-values.js';

export { anyValue };

import { type QueuedTrace, tracesRequest } from './otlp-traces.js';
import type { ServerMetrics } from './server-metrics.js';

/** How to export: the collector, and how batches are sent to it. */
export interface OtlpOptions extends OtlpTuning {
  /** The collector: its base URL (`http://collector:4318`, `/v1/logs` is added) or the full logs URL. */
  readonly endpoint: string;
}

/** The logs URL of a collector address. */
export function logsUrl(endpoint: string): string {
  return signalUrl(endpoint, 'logs');
}

/**
 * A signal's URL of a collector address: the base URL with `/v1/SIGNAL` added; an address that
 * already ends in `/v1/logs` or `/v1/traces` has that ending replaced by the signal's.
 */
export function signalUrl(endpoint: string, signal: 'logs' | 'traces'): string {
  const u = new URL(endpoint);
  u.pathname = `${u.pathname.replace(/\/v1\/(logs|traces)\/?$/, '').replace(/\/$/, '')}/v1/${signal}`;
  return u.toString();
}

interface QueuedEvent {
  readonly agentId: string;
  readonly event: WireProbeEvent;
}

const attr = (key: string, value: unknown) => ({ key, value: anyValue(value) });

/** One probe event as an OTLP log record. */
export function logRecord(agentId: string, e: WireProbeEvent): Record<string, unknown> {
  const colon = e.process.lastIndexOf(':');
  const pid = Number(e.process.slice(colon + 1));
  const attributes = [
    attr('periscope.probe', e.probe),
    attr('periscope.process', e.process),
    attr('periscope.agent_id', agentId),
    attr('host.name', colon > 0 ? e.process.slice(0, colon) : e.process),
    ...(Number.isSafeInteger(pid) ? [attr('process.pid', pid)] : []),
    attr('thread.id', e.thread),
    attr('periscope.goroutine_id', e.goroutine),
    attr('periscope.site_kind', e.site.kind),
    attr('code.function', e.site.function),
    ...(e.site.file !== undefined ? [attr('code.filepath', e.site.file)] : []),
    ...(e.site.line !== undefined ? [attr('code.lineno', e.site.line)] : []),
    ...(e.durationNs !== undefined ? [attr('periscope.duration_ns', e.durationNs)] : []),
    ...Object.entries(e.values).map(([k, v]) => attr(`periscope.capture.${k}`, v)),
    ...Object.entries(e.errors ?? {}).map(([k, v]) => attr(`periscope.capture_error.${k}`, v)),
    ...Object.entries(e.labels ?? {}).map(([k, v]) => attr(`periscope.label.${k}`, v)),
    ...(e.stack
      ? [
          attr(
            'periscope.stack',
            e.stack.map((f) => `${f.function} ${f.file ?? '?'}:${f.line ?? 0}`),
          ),
        ]
      : []),
  ];
  const nanos = `${BigInt(Math.round(e.timeUs)) * 1000n}`;
  return {
    timeUnixNano: nanos,
    observedTimeUnixNano: `${BigInt(Date.now()) * 1_000_000n}`,
    severityNumber: 9,
    severityText: 'INFO',
    body: { stringValue: `probe ${e.probe}: ${e.site.function}` },
    attributes,
  };
}

/** The request body of a batch. */
export function logsRequest(batch: readonly QueuedEvent[]): Record<string, unknown> {
  return {
    resourceLogs: [
      {
        resource: {
          attributes: [attr('service.name', 'periscope'), attr('service.version', PERISCOPE_VERSION)],
        },
        scopeLogs: [
          {
            scope: { name: 'periscope.probes', version: PERISCOPE_VERSION },
            logRecords: batch.map((q) => logRecord(q.agentId, q.event)),
          },
        ],
      },
    ],
  };
}

/** The senders of probe events (logs) and kept request traces (spans) to one collector. */
export class OtlpExporter {
  private readonly logs: OtlpSender<QueuedEvent>;
  private readonly spans: OtlpSender<QueuedTrace>;

  constructor(opts: OtlpOptions, metrics: ServerMetrics) {
    const common = {
      ...(opts.headers ? { headers: opts.headers } : {}),
      ...(opts.maxQueue !== undefined ? { maxQueue: opts.maxQueue } : {}),
      ...(opts.maxBatch !== undefined ? { maxBatch: opts.maxBatch } : {}),
      ...(opts.flushMs !== undefined ? { flushMs: opts.flushMs } : {}),
      ...(opts.maxAttempts !== undefined ? { maxAttempts: opts.maxAttempts } : {}),
      ...(opts.minBackoffMs !== undefined ? { minBackoffMs: opts.minBackoffMs } : {}),
      ...(opts.maxBackoffMs !== undefined ? { maxBackoffMs: opts.maxBackoffMs } : {}),
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      ...(opts.log ? { log: opts.log } : {}),
      request: (outcome: string) => metrics.otlpRequests.inc({ outcome }),
    };
    this.logs = new OtlpSender<QueuedEvent>({
      ...common,
      url: signalUrl(opts.endpoint, 'logs'),
      what: 'probe events',
      body: logsRequest,
      exported: (n) => metrics.otlpExported.inc({}, n),
      dropped: (reason, n) => metrics.otlpDropped.inc({ reason }, n),
    });
    this.spans = new OtlpSender<QueuedTrace>({
      ...common,
      url: signalUrl(opts.endpoint, 'traces'),
      what: 'traces',
      body: tracesRequest,
      exported: (n) => metrics.otlpTracesExported.inc({}, n),
      dropped: (reason, n) => metrics.otlpTracesDropped.inc({ reason }, n),
    });
    metrics.otlpQueued = () => this.logs.queued;
    metrics.otlpTracesQueued = () => this.spans.queued;
  }

  /** Queues a batch's probe events; those beyond the queue's bound are dropped and counted. */
  add(agentId: string, events: readonly WireProbeEvent[]): void {
    this.logs.add(events.map((event) => ({ agentId, event })));
  }

  /** Queues kept request traces; those beyond the queue's bound are dropped and counted. */
  addTraces(agentId: string, traces: readonly TraceRecord[]): void {
    this.spans.add(traces.map((trace) => ({ agentId, trace })));
  }

  /** Stops: a request in flight ends (no further retries), and what is still queued is counted as dropped. */
  async close(): Promise<void> {
    await Promise.all([this.logs.close(), this.spans.close()]);
  }
}
