/**
 * One process's probes on the agent's probe thread: what is wanted there, the session that
 * runs it, the counters last reported (so each interval sends deltas), the per-process event
 * budget, and the CPU circuit breaker's window (the probe's measured cost against the
 * process's CPU time from /proc/PID/stat).
 */
import { readFileSync } from 'node:fs';
import type { Redactor } from '../goruntime/values/index.js';
import type { ProbeCounts, ProbeHistogram, WireProbeEvent } from '../protocol/messages.js';
import { redactionFor } from '../spec/redaction.js';
import { EMPTY_SPEC, type ProbeEntry, type RedactionSpec } from '../spec/spec-types.js';
import type { ProbeSession, ProbeTotals } from './probe-session.js';

/** USER_HZ: the unit of utime and stime in /proc/PID/stat on Linux. */
const TICK_NS = 10_000_000;
/** The circuit breaker judges a probe over at least this long, ms. */
export const BREAKER_WINDOW_MS = 2000;
/** Below this cost over a window (ns) a probe is never switched off: too little to measure against. */
const BREAKER_FLOOR_NS = 2_000_000;

/** The CPU time (user + system) a process has used, ns; undefined when it is gone. */
export function processCpuNs(pid: number): number | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * TICK_NS;
  } catch {
    return undefined;
  }
}

interface Baseline {
  totals: ProbeTotals;
  histogram: Map<number, number>;
  cost: number;
}

const ZERO: ProbeTotals = {
  hits: 0,
  matched: 0,
  events: 0,
  rejected: 0,
  conditionErrors: 0,
  rateLimited: 0,
  ringFull: 0,
  durations: 0,
  durationSumNs: 0,
};

/** The probes of one process. */
export class ProcessProbes {
  wanted: readonly ProbeEntry[] = [];
  session: ProbeSession | undefined;
  /** The definition keys of what the session runs (or was asked to, with errors). */
  runningKey = '';
  /** The definition key of each probe the session runs, by name. */
  running = new Map<string, string>();
  binary: { buildId?: string; executable: string } | undefined;
  errors: Record<string, string> = {};
  /** Probes switched off here by the circuit breaker, with why. */
  readonly switchedOff = new Map<string, string>();
  /** The redaction events are decoded with here (spec/redaction.ts), and its key. */
  redaction: { key: string; redactor: Redactor | undefined } = {
    key: '',
    redactor: redactionFor(EMPTY_SPEC),
  };
  /** The key of the redaction the session was placed with. */
  placedRedaction = '';
  /** Reconciliations run one after another. */
  chain: Promise<void> = Promise.resolve();
  private base = new Map<string, Baseline>();
  private dropped = new Map<string, number>();
  private lastCpu: number | undefined;
  private lastUs = Date.now() * 1000;
  private window = { cost: new Map<string, number>(), cpu: 0, ms: 0 };
  private tokens: number;
  /** The time (us since the epoch) of the event the budget was last counted at; -1 before the first. */
  private tokensAtUs = -1;

  constructor(
    readonly pid: number,
    readonly key: string,
    readonly process: string,
    private readonly maxEventsPerSecond: number,
  ) {
    this.tokens = maxEventsPerSecond;
  }

  /** The spec's redaction section and the program rules the process matches (from `want`). */
  setRedaction(r: RedactionSpec | undefined, programs: readonly string[]): void {
    const key = JSON.stringify([r ?? null, programs]);
    if (key === this.redaction.key) return;
    this.redaction = {
      key,
      redactor: redactionFor(r ? { ...EMPTY_SPEC, redaction: r } : EMPTY_SPEC, programs),
    };
  }

  /** A new session starts: its counters count from zero. */
  started(session: ProbeSession | undefined, runningKey: string, running = new Map<string, string>()): void {
    this.session = session;
    this.runningKey = runningKey;
    this.running = running;
    this.placedRedaction = this.redaction.key;
    this.base = new Map();
    this.window = { cost: new Map(), cpu: 0, ms: 0 };
  }

  /** The session changed in place: `removed` are gone (a probe added later counts from zero). */
  changed(runningKey: string, running: Map<string, string>, removed: readonly string[]): void {
    this.runningKey = runningKey;
    this.running = running;
    for (const name of removed) {
      this.base.delete(name);
      this.window.cost.delete(name);
    }
  }

  /** Takes one event out of the process's budget; false (and counted) when it is spent. */
  admit(e: WireProbeEvent): boolean {
    // Refilled by the events' own times (the kernel's, at the hit), not by when the agent reads
    // them: on a busy machine a burst of hits is read over a few hundred ms, and refilling by the
    // read's clock let more than the budget through (50 calls at once: 23 sent of a budget of 20).
    if (this.tokensAtUs >= 0 && e.timeUs > this.tokensAtUs)
      this.tokens = Math.min(
        this.maxEventsPerSecond,
        this.tokens + ((e.timeUs - this.tokensAtUs) / 1e6) * this.maxEventsPerSecond,
      );
    this.tokensAtUs = Math.max(this.tokensAtUs, e.timeUs);
    if (this.tokens >= 1) {
      this.tokens--;
      return true;
    }
    this.dropped.set(e.probe, (this.dropped.get(e.probe) ?? 0) + 1);
    return false;
  }

  /**
   * The counters and histograms since the last call, and the probes whose cost over the
   * breaker's window passed their share of the process's CPU time (with the reason).
   */
  interval(): {
    counts: ProbeCounts[];
    histograms: ProbeHistogram[];
    over: { probe: string; reason: string }[];
  } {
    const endUs = Date.now() * 1000;
    const startUs = this.lastUs;
    this.lastUs = endUs;
    const cpu = processCpuNs(this.pid);
    const cpuDelta = cpu === undefined || this.lastCpu === undefined ? 0 : cpu - this.lastCpu;
    this.lastCpu = cpu;
    const s = this.session;
    const counts: ProbeCounts[] = [];
    const histograms: ProbeHistogram[] = [];
    const over: { probe: string; reason: string }[] = [];
    if (!s) return { counts, histograms, over };
    this.window.cpu += cpuDelta;
    this.window.ms += (endUs - startUs) / 1000;
    for (const name of s.names) {
      const totals = s.totals(name);
      const hist = new Map(s.histogram(name));
      const cost = s.costNs(name);
      const b = this.base.get(name) ?? { totals: ZERO, histogram: new Map(), cost: 0 };
      this.base.set(name, { totals, histogram: hist, cost });
      const d = (k: keyof ProbeTotals) => totals[k] - b.totals[k];
      const dropped = (this.dropped.get(name) ?? 0) + s.takeDropped(name);
      this.dropped.delete(name);
      const costDelta = cost - b.cost;
      counts.push({
        probe: name,
        process: this.process,
        startUs,
        endUs,
        hits: d('hits'),
        matched: d('matched'),
        events: d('events'),
        rejected: d('rejected'),
        conditionErrors: d('conditionErrors'),
        rateLimited: d('rateLimited'),
        ringFull: d('ringFull'),
        agentDropped: dropped,
        durations: d('durations'),
        durationSumNs: d('durationSumNs'),
        costNs: Math.round(costDelta),
        cpuNs: cpuDelta,
      });
      const buckets: [number, number][] = [];
      for (const [lt, n] of hist)
        if (n > (b.histogram.get(lt) ?? 0)) buckets.push([lt, n - (b.histogram.get(lt) ?? 0)]);
      if (buckets.length > 0)
        histograms.push({ probe: name, process: this.process, startUs, endUs, buckets });
      this.window.cost.set(name, (this.window.cost.get(name) ?? 0) + costDelta);
    }
    if (this.window.ms >= BREAKER_WINDOW_MS) {
      for (const [name, cost] of this.window.cost) {
        const share = this.wanted.find((p) => p.name === name)?.maxCpu ?? 1;
        if (cost > BREAKER_FLOOR_NS && cost > share * this.window.cpu)
          over.push({
            probe: name,
            reason: `it cost the process ${pct(cost / Math.max(1, this.window.cpu))} of its CPU time over ${(this.window.ms / 1000).toFixed(1)} s (${(cost / 1e6).toFixed(1)} ms of ${(this.window.cpu / 1e6).toFixed(0)} ms), more than its maxCpu of ${pct(share)}`,
          });
      }
      this.window = { cost: new Map(), cpu: 0, ms: 0 };
    }
    return { counts, histograms, over };
  }
}

function pct(x: number): string {
  return `${(x * 100).toFixed(x < 0.1 ? 2 : 1)}%`;
}
