/**
 * Request traces on the agent's main thread: the trace probes' events handed to the
 * assembler (trace-assembler.ts) as the probe thread delivers them, a timer that notices
 * requests in flight past their slowness threshold (sent at once, `trace-slow`), and the
 * kept traces and counts sent in `trace-batch` messages.
 */
import type { TraceBatchMessage, TraceSlowMessage, WireProbeEvent } from '../protocol/messages.js';
import { isTraceProbe, traceProbeOf } from '../spec/trace-probes.js';
import type { TraceEntry } from '../spec/trace-types.js';
import { TraceAssembler } from './trace-assembler.js';

/** What the trace runner needs of the agent. */
export interface TraceRunnerHost {
  send(text: string): boolean;
  log(line: string): void;
}

/** How often in-flight requests are checked for slowness, ms (the probe thread drains every 20 ms). */
const SWEEP_MS = 20;
/** How often kept traces and counts are sent, ms. */
const SEND_MS = 250;

/** The agent's request traces. */
export class TraceRunner {
  private readonly assembler = new TraceAssembler();
  private timers: NodeJS.Timeout[] = [];
  private unsent = 0;

  constructor(private readonly host: TraceRunnerHost) {}

  /** Starts the slowness check and the sending. */
  start(): void {
    this.timers.push(setInterval(() => this.sweep(), SWEEP_MS));
    this.timers.push(setInterval(() => this.send(), SEND_MS));
    for (const t of this.timers) t.unref();
  }

  /** The traces in effect. */
  setTraces(list: readonly TraceEntry[]): void {
    this.assembler.setTraces(list);
  }

  /** Takes the events of trace probes out of a probe batch; returns the others. */
  split(events: readonly WireProbeEvent[]): WireProbeEvent[] {
    const rest: WireProbeEvent[] = [];
    for (const e of events) {
      if (!isTraceProbe(e.probe)) rest.push(e);
      else
        try {
          this.assembler.event(e);
        } catch (err) {
          this.host.log(`traces: an event of ${e.probe} could not be recorded: ${(err as Error).message}`);
        }
    }
    // Slowness is checked as soon as the events that show a request in flight arrive.
    if (rest.length !== events.length) this.sweep();
    return rest;
  }

  /** A probe was switched off on a process: a trace that lost its start or end there drops its requests in flight. */
  switchedOff(probe: string, pid: number): void {
    const of = traceProbeOf(probe);
    if (of && (of.role === 'start' || of.role === 'end')) this.assembler.abandon(of.trace, pid);
  }

  /** Stops the timers and sends what is kept. */
  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.send();
  }

  private sweep(): void {
    const slow = this.assembler.sweep(Date.now() * 1000);
    if (slow.length > 0)
      this.host.send(JSON.stringify({ type: 'trace-slow', slow } satisfies TraceSlowMessage));
  }

  private send(): void {
    const { traces, counts } = this.assembler.take(Date.now() * 1000);
    if (traces.length + counts.length === 0) return;
    if (
      !this.host.send(JSON.stringify({ type: 'trace-batch', traces, counts } satisfies TraceBatchMessage))
    ) {
      this.unsent += traces.length;
      if (this.unsent % 100 === traces.length % 100)
        this.host.log(`traces: ${this.unsent} kept traces could not be sent (no connection)`);
    }
  }
}
