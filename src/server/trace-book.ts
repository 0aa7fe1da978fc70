/**
 * Request traces on the server (docs/traces.md): the agents' `trace-batch` messages checked
 * (they are input) and stored, and the request signals (request-signals.ts) emitted — `slow`
 * when an agent reports a request in flight past its trace's threshold, `kept` once a kept
 * trace is in the store.
 */

import type {
  SlowRequestRecord,
  TraceCountsRecord,
  TraceEventRecord,
  TraceRecord,
} from '../probes/trace-records.js';
import type { TraceBatchMessage, TraceSlowMessage } from '../protocol/messages.js';
import type { ProbeProcessInput } from '../store/probe-store.js';
import type { Store } from '../store/store.js';
import { list, num, obj, str } from './input-checks.js';
import type { RequestSignals } from './request-signals.js';

const OUTCOMES = new Set(['error', 'panic', 'slow', 'condition']);

function isEvent(e: unknown): e is TraceEventRecord {
  return obj(e) && str(e.probe, 200) && num(e.timeUs) && num(e.goroutine) && str(e.function) && obj(e.values);
}

function isTrace(t: unknown): t is TraceRecord {
  return (
    obj(t) &&
    str(t.trace, 200) &&
    str(t.requestId, 800) &&
    str(t.process, 600) &&
    num(t.goroutine) &&
    num(t.startUs) &&
    num(t.endUs) &&
    num(t.durationNs) &&
    str(t.outcome, 20) &&
    OUTCOMES.has(t.outcome) &&
    (t.error === undefined || str(t.error, 100_000)) &&
    obj(t.start) &&
    obj(t.end) &&
    Array.isArray(t.goroutines) &&
    t.goroutines.every(num) &&
    Array.isArray(t.events) &&
    t.events.every(isEvent) &&
    num(t.eventsDropped)
  );
}

const COUNT_FIELDS = [
  'startUs',
  'endUs',
  'requests',
  'kept',
  'dropped',
  'overRate',
  'overMemory',
  'eventsDropped',
  'unfinished',
] as const;

function isCounts(c: unknown): c is TraceCountsRecord {
  return obj(c) && str(c.trace, 200) && str(c.process, 600) && COUNT_FIELDS.every((f) => num(c[f]));
}

function isSlow(s: unknown): s is SlowRequestRecord {
  return (
    obj(s) &&
    str(s.trace, 200) &&
    str(s.requestId, 800) &&
    str(s.process, 600) &&
    num(s.pid) &&
    num(s.goroutine) &&
    num(s.elapsedMs)
  );
}

/** Request traces on the server. */
export class TraceBook {
  /** Batches that could not be stored (for the log). */
  failed = 0;
  private readonly stored: ((agentId: string, traces: readonly TraceRecord[]) => void)[] = [];

  /** `facts`: what the server knows of an agent's process, stored as for probe data (who may see it). */
  constructor(
    private readonly store: Store,
    private readonly signals: RequestSignals,
    private readonly log: (line: string) => void,
    private readonly facts: (agentId: string, processId: string) => ProbeProcessInput | undefined = () =>
      undefined,
  ) {}

  /** Calls `f` with the kept traces of each batch once they are stored (the OTLP export). */
  onStored(f: (agentId: string, traces: readonly TraceRecord[]) => void): void {
    this.stored.push(f);
  }

  /** Stores a batch (malformed entries left out), then signals each kept trace. */
  async batch(agentId: string, m: TraceBatchMessage): Promise<void> {
    const traces = list(m.traces, isTrace, 10_000);
    const counts = list(m.counts, isCounts);
    if (traces.length + counts.length === 0) return;
    // A program-limited token sees a process's traces by the facts its probe data is judged by.
    const ids = new Set([...traces, ...counts].map((x) => x.process));
    const processes = [...ids].flatMap((id) => this.facts(agentId, id) ?? []);
    try {
      if (processes.length > 0)
        await this.store.addProbeBatch({
          agentId,
          events: [],
          counts: [],
          histograms: [],
          notices: [],
          processes,
        });
      await this.store.addTraceBatch({ agentId, traces, counts });
    } catch (e) {
      if (this.failed++ % 100 === 0)
        this.log(
          `could not store request traces from agent ${agentId}: ${(e as Error).message.split('\n')[0]}`,
        );
      return;
    }
    if (traces.length > 0) for (const f of this.stored) f(agentId, traces);
    for (const t of traces)
      this.signals.emit({
        kind: 'kept',
        trace: t.trace,
        agentId,
        process: t.process,
        pid: pidOf(t.process),
        goroutine: t.goroutine,
        requestId: t.requestId,
        outcome: t.outcome,
        durationMs: t.durationNs / 1e6,
        ...(t.error !== undefined ? { error: t.error } : {}),
      });
  }

  /** Signals each request an agent saw in flight past its trace's slowness threshold. */
  slow(agentId: string, m: TraceSlowMessage): void {
    for (const s of list(m.slow, isSlow, 1000))
      this.signals.emit({
        kind: 'slow',
        trace: s.trace,
        agentId,
        process: s.process,
        pid: s.pid,
        goroutine: s.goroutine,
        requestId: s.requestId,
        elapsedMs: s.elapsedMs,
      });
  }
}

/** The pid of a `hostname:pid` process id. */
function pidOf(process: string): number {
  return Number(process.slice(process.lastIndexOf(':') + 1));
}
