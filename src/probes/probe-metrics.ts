/**
 * The Prometheus counters of what probes report (hits, events, drops by reason, circuit
 * breaker trips), kept alike by the agent (of its own probes) and the server (of every
 * agent's batches); only the names' prefix and a note in the help differ.
 */
import type { Counter, MetricsRegistry } from '../common/metrics.js';
import type { ProbeCountsRecord, ProbeNoticeRecord } from './probe-records.js';

/** Probe counters registered under `prefix` (`periscope_probe` or `periscope_agent_probe`). */
export class ProbeMetrics {
  private readonly hits: Counter;
  private readonly events: Counter;
  private readonly dropped: Counter;
  private readonly breakerTrips: Counter;

  /** `source`: how the figures were had, appended to the help of hits and events (e.g. " (as agents report)"). */
  constructor(m: MetricsRegistry, prefix: string, source = '') {
    this.hits = m.counter(`${prefix}_hits_total`, `Times a site of a probe ran, by probe${source}.`);
    this.events = m.counter(
      `${prefix}_events_total`,
      `Events the kernel wrote for a probe, by probe${source}.`,
    );
    this.dropped = m.counter(
      `${prefix}_dropped_total`,
      'Probe hits or events dropped, by probe and reason (rate_limited, ring_full, agent_dropped).',
    );
    this.breakerTrips = m.counter(
      `${prefix}_breaker_trips_total`,
      'Times the CPU circuit breaker switched a probe off on a process, by probe.',
    );
  }

  /** Counts the counter deltas and notices of one batch. */
  count(counts: readonly ProbeCountsRecord[], notices: readonly ProbeNoticeRecord[]): void {
    for (const c of counts) {
      const probe = { probe: c.probe };
      this.hits.inc(probe, c.hits);
      this.events.inc(probe, c.events);
      this.dropped.inc({ ...probe, reason: 'rate_limited' }, c.rateLimited);
      this.dropped.inc({ ...probe, reason: 'ring_full' }, c.ringFull);
      this.dropped.inc({ ...probe, reason: 'agent_dropped' }, c.agentDropped);
    }
    for (const n of notices) if (n.kind === 'circuit-breaker') this.breakerTrips.inc({ probe: n.probe });
  }
}
