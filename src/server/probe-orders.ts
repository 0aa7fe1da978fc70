/**
 * The probes in effect: those of the current spec whose time to live has not ended. A probe's
 * time counts from the first spec version in an unbroken run of versions that have it exactly
 * as it is now (a probe added in version 3 and unchanged since expires at version 3's time +
 * its ttl, whatever else changed in versions 4 and 5; changed, it starts again). This is
 * worked out from the stored versions, so a restarted server gives the same answer.
 */
import type { ProbesMessage } from '../protocol/messages.js';
import { probeDefinitionKey } from '../spec/probe-parse.js';
import { parseSpec } from '../spec/spec-parse.js';
import type { ProbeEntry } from '../spec/spec-types.js';
import {
  isSharedTraceProbe,
  specProbes,
  traceProbeName,
  traceProbeOf,
  tracesSharing,
} from '../spec/trace-probes.js';
import type { TraceEntry } from '../spec/trace-types.js';
import type { SpecVersion, Store } from '../store/store.js';

/** A probe of the current spec and its life. */
export interface ProbeLife {
  readonly probe: ProbeEntry;
  /** The spec version it has been as it is since. */
  readonly since: number;
  /** When that version was stored (ms since the epoch). */
  readonly sinceAt: number;
  /** When its time to live ends (ms since the epoch). */
  readonly expiresAt: number;
}

/** The probes of the current spec and their lives. */
export interface ProbeState {
  readonly specVersion: number;
  /** The spec's probes and the probes its traces place (named `<trace>:…`). */
  readonly probes: readonly ProbeLife[];
  /** The current spec's traces. */
  readonly traces: readonly TraceEntry[];
}

/** Probes by stored spec version, parsed once each (versions never change). */
export class ProbeOrders {
  private readonly parsed = new Map<number, Map<string, ProbeEntry>>();
  private readonly traces = new Map<number, TraceEntry[]>();

  constructor(private readonly store: Store) {}

  private probesOf(v: SpecVersion): Map<string, ProbeEntry> {
    let m = this.parsed.get(v.version);
    if (!m) {
      m = new Map();
      try {
        const spec = parseSpec(v.yaml, `spec version ${v.version}`);
        for (const p of specProbes(spec)) m.set(p.name, p);
        this.traces.set(v.version, [...(spec.traces ?? [])]);
      } catch {
        // A version that does not parse (stored with --force before probes existed?) has no probes.
      }
      this.parsed.set(v.version, m);
    }
    return m;
  }

  /** The current spec's probes, each with the version it has been unchanged since and when it expires. */
  async state(): Promise<ProbeState> {
    const log = await this.store.specLog();
    const current = log.at(-1);
    if (!current) return { specVersion: 0, probes: [], traces: [] };
    const now = this.probesOf(current);
    const probes: ProbeLife[] = [];
    for (const p of now.values()) {
      const key = probeDefinitionKey(p);
      let since = current;
      for (let i = log.length - 2; i >= 0; i--) {
        const older = this.probesOf(log[i]!).get(p.name);
        if (!older || probeDefinitionKey(older) !== key) break;
        since = log[i]!;
      }
      const sinceAt = Date.parse(since.createdAt);
      probes.push({ probe: p, since: since.version, sinceAt, expiresAt: sinceAt + p.ttlMs });
    }
    const traces = this.traces.get(current.version) ?? [];
    return { specVersion: current.version, probes: withSharedLives(probes, traces), traces };
  }

  /** The `probes` message for the agents: the live probes with the time each has left. */
  async message(): Promise<ProbesMessage> {
    const s = await this.state();
    const now = Date.now();
    return {
      type: 'probes',
      specVersion: s.specVersion,
      probes: s.probes
        .filter((l) => l.expiresAt > now)
        .map((l) => ({ probe: l.probe, expiresInMs: l.expiresAt - now })),
      traces: s.traces.filter((t) =>
        s.probes.some((l) => l.probe.name === traceProbeName(t.name, 'start') && l.expiresAt > now),
      ),
    };
  }
}

/** The probes shared by traces (spawn, panic) live until the last of their traces' starts expires. */
function withSharedLives(probes: ProbeLife[], traces: readonly TraceEntry[]): ProbeLife[] {
  const expiry = new Map(probes.map((l) => [l.probe.name, l.expiresAt]));
  return probes.map((l) => {
    const of = traceProbeOf(l.probe.name);
    if (!of || !isSharedTraceProbe(of.trace)) return l;
    const ends = tracesSharing(of.trace, traces).map((t) => expiry.get(traceProbeName(t.name, 'start')) ?? 0);
    return ends.length > 0 ? { ...l, expiresAt: Math.max(...ends) } : l;
  });
}
