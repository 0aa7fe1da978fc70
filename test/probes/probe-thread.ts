/**
 * Support of the probe-thread tests: the agent's real probe thread (src/agent/probe-worker.ts)
 * run as the agent runs it, driven with its messages; what it answers is collected.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { ProbeRunner, type ProbeRunnerOptions } from '../../src/agent/probe-runner.js';
import type {
  ProbeLimits,
  ProbeThreadReply,
  ProbeThreadRequest,
  ProcessProbeState,
} from '../../src/agent/probe-worker-protocol.js';
import type { ProbeBatchMessage, ProbeCounts, WireProbeEvent } from '../../src/protocol/messages.js';
import type { ProbeEntry, RedactionSpec } from '../../src/spec/spec-types.js';

/** A probe entry as the spec parser makes it: `function`'s entry, capturing `capture` (column = expression). */
export function entryProbe(
  name: string,
  fn: string,
  capture: string[] = [],
  more: Partial<ProbeEntry> = {},
): ProbeEntry {
  return {
    name,
    site: { kind: 'entry', function: fn },
    capture: capture.map((expr) => ({ column: expr, expr })),
    stack: 0,
    duration: false,
    labels: false,
    ttlMs: 3_600_000,
    maxCpu: 1,
    ...more,
  };
}

/** The probe thread and everything it said. */
export interface ProbeThread {
  readonly events: WireProbeEvent[];
  readonly counts: ProbeCounts[];
  readonly logs: string[];
  /** The last status of each process. */
  status(pid: number): ProcessProbeState | undefined;
  /** Asks for `probes` on process `pid` (matching the spec's program rules `programs`, under `redaction`). */
  want(
    pid: number,
    probes: readonly ProbeEntry[],
    spec?: { redaction?: RedactionSpec; programs?: readonly string[] },
  ): void;
  /** Resolves when `until()` holds (checked on every message and every 10 ms); rejects after `ms`. */
  until(what: string, until: () => boolean, ms?: number): Promise<void>;
  /** Removes every probe (the thread's `stop`) and ends the thread. */
  close(): Promise<void>;
}

/** Starts the probe thread with the eBPF backend and `limits` (defaults: generous). */
export function startProbeThread(limits: Partial<ProbeLimits> = {}): ProbeThread {
  const w = new Worker(new URL('../../src/agent/probe-worker.js', import.meta.url));
  const events: WireProbeEvent[] = [];
  const counts: ProbeCounts[] = [];
  const logs: string[] = [];
  const states = new Map<number, ProcessProbeState>();
  let stopped = false;
  w.on('message', (m: ProbeThreadReply) => {
    if (m.op === 'batch') {
      events.push(...m.events);
      counts.push(...m.counts);
    } else if (m.op === 'status') for (const p of m.processes) states.set(p.pid, p);
    else if (m.op === 'log') logs.push(m.line);
    else if (m.op === 'stopped') stopped = true;
  });
  const post = (m: ProbeThreadRequest) => w.postMessage(m);
  post({
    op: 'setup',
    backend: 'bpf',
    tag: 'tt',
    trapNs: { emulated: 1000, stepped: 20_000 },
    limits: { maxEventBytes: 8192, maxEventsPerProcess: 1e6, defaultRatePerProbe: 1e6, ...limits },
  });
  const until = async (what: string, f: () => boolean, ms = 20_000) => {
    const deadline = performance.now() + ms;
    while (!f()) {
      if (performance.now() > deadline)
        throw new Error(`probe thread: no ${what} within ${ms} ms (log: ${logs.join(' | ')})`);
      await sleep(10);
    }
  };
  return {
    events,
    counts,
    logs,
    status: (pid) => states.get(pid),
    want: (pid, probes, spec = {}) =>
      post({ op: 'want', pid, key: `test:${pid}`, process: `test:${pid}`, probes, ...spec }),
    until,
    async close() {
      post({ op: 'stop' });
      await until('stop', () => stopped).finally(() => w.terminate());
    },
  };
}

/** Sums a counter of probe `name` over every interval reported. */
export function total(counts: readonly ProbeCounts[], name: string, k: keyof ProbeCounts & string): number {
  return counts.filter((c) => c.probe === name).reduce((a, c) => a + Number(c[k]), 0);
}

/** The agent's real probe runner, whose link keeps the events it sends and its log lines. */
export function collectingRunner(opts: ProbeRunnerOptions): {
  runner: ProbeRunner;
  events: WireProbeEvent[];
  logs: string[];
} {
  const events: WireProbeEvent[] = [];
  const logs: string[] = [];
  const runner = new ProbeRunner(
    {
      send(text) {
        const m = JSON.parse(text) as { type: string };
        if (m.type === 'probe-batch') events.push(...(m as ProbeBatchMessage).events);
        return true;
      },
      buffered: () => 0,
      log: (line) => logs.push(line),
    },
    opts,
  );
  return { runner, events, logs };
}
