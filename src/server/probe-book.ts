/**
 * What the server knows of probes between requests: each agent's latest `probe-status`
 * (where each probe is attached, what no longer resolves where, what was switched off), the
 * batches agents send stored as they come (checked first: they are input), and the waiters
 * of `GET /v1/events?wait=…` woken when new events are stored.
 */
import type {
  ProbeBatchMessage,
  ProbeBinaryStatus,
  ProbeCounts,
  ProbeHistogram,
  ProbeNotice,
  ProbeStatusMessage,
  WireProbeEvent,
} from '../protocol/messages.js';
import type { ProbeProcessInput } from '../store/probe-store.js';
import type { Store } from '../store/store.js';
import { list, num, obj, str } from './input-checks.js';

/** An agent's probe status and when it came. */
export interface AgentProbeStatus {
  readonly agentId: string;
  readonly at: string;
  readonly status: ProbeStatusMessage;
}

function isEvent(e: unknown): e is WireProbeEvent {
  if (!obj(e)) return false;
  const s = e.site;
  return (
    str(e.probe, 200) &&
    str(e.process, 600) &&
    num(e.timeUs) &&
    num(e.goroutine) &&
    num(e.thread) &&
    obj(s) &&
    str(s.kind, 50) &&
    str(s.function) &&
    obj(e.values) &&
    (e.errors === undefined || obj(e.errors)) &&
    (e.labels === undefined || obj(e.labels)) &&
    (e.stack === undefined || Array.isArray(e.stack)) &&
    (e.durationNs === undefined || num(e.durationNs))
  );
}

const COUNT_FIELDS = [
  'startUs',
  'endUs',
  'hits',
  'matched',
  'events',
  'rejected',
  'conditionErrors',
  'rateLimited',
  'ringFull',
  'agentDropped',
  'durations',
  'durationSumNs',
  'costNs',
  'cpuNs',
] as const;

function isCounts(c: unknown): c is ProbeCounts {
  return obj(c) && str(c.probe, 200) && str(c.process, 600) && COUNT_FIELDS.every((f) => num(c[f]));
}

function isHistogram(h: unknown): h is ProbeHistogram {
  return (
    obj(h) &&
    str(h.probe, 200) &&
    str(h.process, 600) &&
    num(h.startUs) &&
    num(h.endUs) &&
    Array.isArray(h.buckets) &&
    h.buckets.every((b) => Array.isArray(b) && b.length === 2 && num(b[0]) && num(b[1]))
  );
}

function isNotice(n: unknown): n is ProbeNotice {
  return (
    obj(n) &&
    str(n.probe, 200) &&
    str(n.process, 600) &&
    num(n.timeUs) &&
    str(n.kind, 50) &&
    str(n.message, 4000)
  );
}

/** A well-formed batch from one agent, as stored. */
export interface StoredProbeBatch {
  readonly agentId: string;
  readonly events: readonly WireProbeEvent[];
  readonly counts: readonly ProbeCounts[];
  readonly histograms: readonly ProbeHistogram[];
  readonly notices: readonly ProbeNotice[];
}

/** Probe state and events on the server. */
export class ProbeBook {
  /** Told of each batch once stored (metrics, OTLP export). */
  private readonly observers: ((b: StoredProbeBatch) => void)[] = [];
  private readonly statuses = new Map<string, AgentProbeStatus>();
  private readonly waiters = new Set<() => void>();
  /** Batches that could not be stored (for the log). */
  failed = 0;

  /** `facts`: what the server knows of an agent's process (undefined when it does not). */
  constructor(
    private readonly store: Store,
    private readonly log: (line: string) => void,
    private readonly facts: (agentId: string, processId: string) => ProbeProcessInput | undefined = () =>
      undefined,
  ) {
    // Waiters of `GET /v1/events` wake on other servers' events too (the scaled-out store).
    store.onProbeEvents?.(() => {
      for (const w of [...this.waiters]) w();
    });
  }

  /** Keeps an agent's latest status (only well-formed entries). */
  status(agentId: string, m: ProbeStatusMessage): void {
    const binaries = list(
      m.binaries,
      (b): b is ProbeBinaryStatus =>
        obj(b) && str(b.probe, 200) && str(b.executable) && Array.isArray(b.attached),
      10_000,
    );
    this.statuses.set(agentId, {
      agentId,
      at: new Date().toISOString(),
      status: {
        type: 'probe-status',
        specVersion: num(m.specVersion) ? m.specVersion : 0,
        backend: m.backend === 'bpf' || m.backend === 'tracefs' ? m.backend : 'none',
        ...(str(m.backendNote) ? { backendNote: m.backendNote } : {}),
        ...(str(m.backoffUntil, 100) ? { backoffUntil: m.backoffUntil } : {}),
        binaries,
      },
    });
  }

  /** Every agent's latest status. */
  statusList(): AgentProbeStatus[] {
    return [...this.statuses.values()];
  }

  /** Stores a batch; malformed entries are left out. */
  async batch(agentId: string, m: ProbeBatchMessage): Promise<void> {
    const events = list(m.events, isEvent);
    const b: StoredProbeBatch = {
      agentId,
      events,
      counts: list(m.counts, isCounts),
      histograms: list(m.histograms, isHistogram),
      notices: list(m.notices, isNotice),
    };
    if (b.events.length + b.counts.length + b.histograms.length + b.notices.length === 0) return;
    for (const n of b.notices)
      this.log(`probe ${n.probe} on ${n.process} (agent ${agentId}): ${n.kind}: ${n.message}`);
    const ids = new Set<string>();
    for (const part of [b.events, b.counts, b.histograms, b.notices])
      for (const x of part) ids.add(x.process);
    const processes = [...ids].flatMap((id) => this.facts(agentId, id) ?? []);
    try {
      await this.store.addProbeBatch({ ...b, processes });
    } catch (e) {
      if (this.failed++ % 100 === 0)
        this.log(`could not store probe data from agent ${agentId}: ${(e as Error).message.split('\n')[0]}`);
      return;
    }
    for (const o of this.observers) o(b);
    if (events.length > 0) for (const w of [...this.waiters]) w();
  }

  /** Calls `fn` with each batch once it is stored. */
  onStored(fn: (b: StoredProbeBatch) => void): void {
    this.observers.push(fn);
  }

  /** Resolves when new events are stored, or after `ms`. */
  waitForEvents(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
      signal?.addEventListener('abort', done);
    });
  }
}
