/**
 * Kept request traces (docs/traces.md) as OTLP/HTTP JSON spans (`/v1/traces`): one span per
 * request, its path events as span events. The trace id is the target's own where the trace
 * captured one at its start (a `traceparent` in W3C form, or a `trace_id` of 32 hex digits),
 * else the request id hashed to 16 bytes, so that the same request always gets the same id.
 */

import { createHash } from 'node:crypto';
import { PERISCOPE_VERSION } from '../common/version.js';
import type { TraceRecord } from '../probes/trace-records.js';
import { anyValue } from './otlp-values.js';

/** A kept trace and the agent that sent it. */
export interface QueuedTrace {
  readonly agentId: string;
  readonly trace: TraceRecord;
}

const attr = (key: string, value: unknown) => ({ key, value: anyValue(value) });
const nanos = (us: number) => `${BigInt(Math.round(us)) * 1000n}`;
const hashHex = (text: string, bytes: number) =>
  createHash('sha256')
    .update(text)
    .digest('hex')
    .slice(0, bytes * 2);

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;
const HEX32 = /^[0-9a-f]{32}$/;
const ZERO = /^0+$/;

/** The trace id (32 hex) and parent span id of a kept trace: the target's, else from the request id. */
export function traceIds(t: TraceRecord): { traceId: string; parentSpanId?: string; fromTarget: boolean } {
  const tp = t.start.traceparent;
  const m = typeof tp === 'string' ? TRACEPARENT.exec(tp.trim().toLowerCase()) : null;
  if (m && !ZERO.test(m[1]!) && !ZERO.test(m[2]!))
    return { traceId: m[1]!, parentSpanId: m[2]!, fromTarget: true };
  const id = t.start.trace_id;
  if (typeof id === 'string' && HEX32.test(id.toLowerCase()) && !ZERO.test(id))
    return { traceId: id.toLowerCase(), fromTarget: true };
  return { traceId: hashHex(t.requestId, 16), fromTarget: false };
}

/** One kept trace as an OTLP span. */
export function span(agentId: string, t: TraceRecord): Record<string, unknown> {
  const ids = traceIds(t);
  const colon = t.process.lastIndexOf(':');
  const pid = Number(t.process.slice(colon + 1));
  const failed = t.outcome === 'error' || t.outcome === 'panic';
  return {
    traceId: ids.traceId,
    spanId: hashHex(`${t.requestId}/span`, 8),
    ...(ids.parentSpanId ? { parentSpanId: ids.parentSpanId } : {}),
    name: t.trace,
    kind: 1,
    startTimeUnixNano: nanos(t.startUs),
    endTimeUnixNano: nanos(t.endUs),
    attributes: [
      attr('periscope.trace', t.trace),
      attr('periscope.request_id', t.requestId),
      attr('periscope.trace_id_source', ids.fromTarget ? 'target' : 'request_id'),
      attr('periscope.process', t.process),
      attr('periscope.agent_id', agentId),
      attr('host.name', colon > 0 ? t.process.slice(0, colon) : t.process),
      ...(Number.isSafeInteger(pid) ? [attr('process.pid', pid)] : []),
      attr('periscope.goroutine_id', t.goroutine),
      attr('periscope.goroutines', t.goroutines),
      attr('periscope.outcome', t.outcome),
      attr('periscope.duration_ns', t.durationNs),
      attr('periscope.events_dropped', t.eventsDropped),
      ...(t.error !== undefined ? [attr('periscope.error', t.error)] : []),
      ...Object.entries(t.start).map(([k, v]) => attr(`periscope.start.${k}`, v)),
      ...Object.entries(t.end).map(([k, v]) => attr(`periscope.end.${k}`, v)),
    ],
    events: t.events.map((e) => ({
      timeUnixNano: nanos(e.timeUs),
      name: e.probe,
      attributes: [
        attr('code.function', e.function),
        attr('periscope.goroutine_id', e.goroutine),
        ...Object.entries(e.values).map(([k, v]) => attr(`periscope.capture.${k}`, v)),
      ],
    })),
    status: failed ? { code: 2, message: t.error ?? t.outcome } : { code: 0 },
  };
}

/** The request body of a batch of kept traces. */
export function tracesRequest(batch: readonly QueuedTrace[]): Record<string, unknown> {
  return {
    resourceSpans: [
      {
        resource: {
          attributes: [attr('service.name', 'periscope'), attr('service.version', PERISCOPE_VERSION)],
        },
        scopeSpans: [
          {
            scope: { name: 'periscope.traces', version: PERISCOPE_VERSION },
            spans: batch.map((q) => span(q.agentId, q.trace)),
          },
        ],
      },
    ],
  };
}
