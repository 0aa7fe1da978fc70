/**
 * Export of probe events to an OpenTelemetry collector as OTLP/HTTP JSON logs (`/v1/logs`):
 * a bounded queue (events beyond it are dropped and counted), batches sent one request at a
 * time, retried with exponential backoff on network errors and 429/502/503/504 (Retry-After
 * honoured up to the longest backoff), dropped and counted after the last retry or when the
 * collector refuses them (other 4xx). The server never waits on the collector: a slow or
 * absent collector costs queued memory, bounded, and nothing else. docs/otlp.md.
 */

import { PERISCOPE_VERSION } from '../common/version.js';
import type { WireProbeEvent } from '../protocol/messages.js';
import type { ServerMetrics } from './server-metrics.js';

/** How to export. */
export interface OtlpOptions {
  /** The collector: its base URL (`http://collector:4318`, `/v1/logs` is added) or the full logs URL. */
  readonly endpoint: string;
  /** Extra request headers (an API key, …). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Events queued at most (default 10000); more are dropped and counted. */
  readonly maxQueue?: number;
  /** Events per request at most (default 512). */
  readonly maxBatch?: number;
  /** A partial batch waits this long for more, ms (default 1000). */
  readonly flushMs?: number;
  /** Attempts per batch (default 6: the first and five retries). */
  readonly maxAttempts?: number;
  /** First backoff, ms (default 500), doubled per retry up to maxBackoffMs (default 30000). */
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Per request, ms (default 10000). */
  readonly timeoutMs?: number;
  readonly log?: (line: string) => void;
}

/** The logs URL of a collector address. */
export function logsUrl(endpoint: string): string {
  const u = new URL(endpoint);
  if (!u.pathname.endsWith('/v1/logs')) u.pathname = `${u.pathname.replace(/\/$/, '')}/v1/logs`;
  return u.toString();
}

interface QueuedEvent {
  readonly agentId: string;
  readonly event: WireProbeEvent;
}

/** OTLP's JSON AnyValue of a decoded Go value (docs/values.md's JSON). */
export function anyValue(v: unknown): Record<string, unknown> {
  if (v === null || v === undefined) return {};
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return Number.isSafeInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  if (typeof v === 'bigint') return { intValue: v.toString() };
  if (Array.isArray(v)) return { arrayValue: { values: v.map(anyValue) } };
  if (typeof v === 'object')
    return {
      kvlistValue: {
        values: Object.entries(v as Record<string, unknown>).map(([key, x]) => ({ key, value: anyValue(x) })),
      },
    };
  return { stringValue: String(v) };
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

const RETRY_STATUS = new Set([429, 502, 503, 504]);

/** The queue and sender of probe events to one collector. */
export class OtlpExporter {
  private queue: QueuedEvent[] = [];
  private readonly url: string;
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private closed = false;
  private lastLog = 0;
  private readonly stopWait = new AbortController();

  constructor(
    private readonly opts: OtlpOptions,
    private readonly metrics: ServerMetrics,
  ) {
    this.url = logsUrl(opts.endpoint);
    metrics.otlpQueued = () => this.queue.length;
  }

  /** Queues a batch's events; those beyond the queue's bound are dropped and counted. */
  add(agentId: string, events: readonly WireProbeEvent[]): void {
    if (events.length === 0) return;
    if (this.closed) {
      this.metrics.otlpDropped.inc({ reason: 'shutdown' }, events.length);
      return;
    }
    const room = Math.max(0, (this.opts.maxQueue ?? 10_000) - this.queue.length);
    for (const event of events.slice(0, room)) this.queue.push({ agentId, event });
    if (events.length > room) {
      this.metrics.otlpDropped.inc({ reason: 'queue_full' }, events.length - room);
      this.note(`OTLP export: queue full, ${events.length - room} probe events dropped`);
    }
    this.schedule();
  }

  /** Stops: a request in flight ends (no further retries), and what is still queued is counted as dropped. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.stopWait.abort();
    await this.sending;
    if (this.queue.length > 0) {
      this.metrics.otlpDropped.inc({ reason: 'shutdown' }, this.queue.length);
      this.queue = [];
    }
  }

  private schedule(): void {
    if (this.sending || this.timer || this.closed) return;
    const full = this.queue.length >= (this.opts.maxBatch ?? 512);
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.sending = this.drain().finally(() => {
          this.sending = undefined;
          if (this.queue.length > 0) this.schedule();
        });
      },
      full ? 0 : (this.opts.flushMs ?? 1000),
    );
    this.timer.unref();
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.closed) {
      const batch = this.queue.splice(0, this.opts.maxBatch ?? 512);
      await this.sendBatch(batch);
    }
  }

  private async sendBatch(batch: QueuedEvent[]): Promise<void> {
    const body = JSON.stringify(logsRequest(batch));
    const attempts = this.opts.maxAttempts ?? 6;
    let backoff = this.opts.minBackoffMs ?? 500;
    const maxBackoff = this.opts.maxBackoffMs ?? 30_000;
    for (let attempt = 1; ; attempt++) {
      let wait = backoff;
      let why: string;
      try {
        const res = await fetch(this.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...this.opts.headers },
          body,
          signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
        });
        const text = await res.text().catch(() => '');
        if (res.ok) {
          this.metrics.otlpRequests.inc({ outcome: 'ok' });
          this.metrics.otlpExported.inc({}, batch.length);
          return;
        }
        if (!RETRY_STATUS.has(res.status)) {
          this.metrics.otlpRequests.inc({ outcome: 'rejected' });
          this.metrics.otlpDropped.inc({ reason: 'rejected' }, batch.length);
          this.note(
            `OTLP export: the collector refused ${batch.length} events: ${res.status} ${text.slice(0, 200)}`,
          );
          return;
        }
        this.metrics.otlpRequests.inc({ outcome: 'retry' });
        const after = Number(res.headers.get('retry-after'));
        if (Number.isFinite(after) && after > 0) wait = Math.min(after * 1000, maxBackoff);
        why = `${res.status}`;
      } catch (e) {
        this.metrics.otlpRequests.inc({ outcome: 'error' });
        why = (e as Error).cause ? String((e as Error).cause) : (e as Error).message;
      }
      if (attempt >= attempts || this.closed) {
        this.metrics.otlpDropped.inc({ reason: 'retries_exhausted' }, batch.length);
        this.note(
          `OTLP export to ${this.url} failed ${attempt} times (${why}): ${batch.length} events dropped`,
        );
        return;
      }
      await this.sleep(wait);
      backoff = Math.min(backoff * 2, maxBackoff);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.stopWait.signal.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.stopWait.signal.addEventListener('abort', done);
    });
  }

  /** Logs at most once every 10 s (a collector down for hours must not flood the log). */
  private note(line: string): void {
    if (Date.now() - this.lastLog < 10_000) return;
    this.lastLog = Date.now();
    (this.opts.log ?? console.error)(line);
  }
}
