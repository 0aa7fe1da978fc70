/**
 * Request traces on the agent (docs/traces.md): the events of a trace's probes put together
 * into requests, keyed by goroutine — a request starts at its function's entry on a
 * goroutine, follows the goroutines that goroutine starts (`spawn` events: parent and child
 * ids, from the probe every trace on the process shares, as `panic` events are), and ends at the function's return on the first goroutine — in bounded buffers; at the
 * end the keep rule decides, and a trace is kept (to be sent) or only counted. Requests in
 * flight past `slower_than` are reported once each. No I/O: trace-runner.ts sends.
 */

import type {
  SlowRequestRecord,
  TraceCountsRecord,
  TraceEventRecord,
  TraceRecord,
} from '../probes/trace-records.js';
import type { WireProbeEvent } from '../protocol/messages.js';
import type { CaptureSpec } from '../spec/spec-types.js';
import { parseTraceCondition, type TraceCondition } from '../spec/trace-condition.js';
import { isSharedTraceProbe, PANIC_CAPTURES, SPAWN_CAPTURES, traceProbeOf } from '../spec/trace-probes.js';
import type { TraceEntry } from '../spec/trace-types.js';
import { keepOutcome, pidOf, textOf } from './trace-keep.js';

/** A request whose end was not seen is given up after this long (µs). */
const MAX_REQUEST_US = 600e6;
/** A request that panicked and did not return within this long (µs) of its last event ends as a panic. */
const PANIC_END_US = 1e6;
/** A new request is not recorded while a trace holds more than this share of its memory (the rest is for requests in flight). */
const NEW_REQUEST_SHARE = 7 / 8;
/** Bookkeeping bytes per held event besides its values' JSON. */
const EVENT_OVERHEAD = 96;

interface Request {
  readonly id: string;
  readonly goroutine: number;
  readonly startUs: number;
  readonly start: Record<string, unknown>;
  depth: number;
  readonly events: TraceEventRecord[];
  eventsDropped: number;
  bytes: number;
  readonly goroutines: Set<number>;
  panic?: string;
  /** The last values of each path probe (held or not), for the keep condition. */
  readonly last: Map<string, Record<string, unknown>>;
  lastUs: number;
  slowSent: boolean;
}

type Counts = { -readonly [K in keyof Omit<TraceCountsRecord, 'trace' | 'process' | 'endUs'>]: number };

/** One trace's state on one process. */
interface Book {
  readonly trace: Compiled;
  readonly process: string;
  /** Requests by the goroutine they started on. */
  readonly active: Map<number, Request>;
  /** Every goroutine of a request in flight. */
  readonly owner: Map<number, Request>;
  bytes: number;
  tokens: number;
  tokensAt: number;
  counts: Counts;
}

interface Compiled {
  readonly entry: TraceEntry;
  readonly condition?: TraceCondition;
  /** Column of each expression, per probe role (start, end, path probe names). */
  readonly columns: Map<string, readonly CaptureSpec[]>;
}

const zero = (startUs: number): Counts => ({
  startUs,
  requests: 0,
  kept: 0,
  dropped: 0,
  overRate: 0,
  overMemory: 0,
  eventsDropped: 0,
  unfinished: 0,
});

/** An event's values by column. */
function valuesOf(e: WireProbeEvent, cols: readonly CaptureSpec[]): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const c of cols) values[c.column] = e.values[c.expr] ?? null;
  return values;
}

/** The agent's request traces: fed probe events, giving kept traces, counts and slow notices. */
export class TraceAssembler {
  private traces = new Map<string, Compiled>();
  private books = new Map<string, Book>();
  private kept: TraceRecord[] = [];
  /** `trace\0pid` of traces whose start or end the breaker switched off on a process. */
  private readonly off = new Set<string>();

  /** The traces in effect (from the server's `probes` message); state of traces no longer there goes. */
  setTraces(list: readonly TraceEntry[]): void {
    const next = new Map<string, Compiled>();
    for (const t of list) {
      const before = this.traces.get(t.name);
      if (before && JSON.stringify(before.entry) === JSON.stringify(t)) {
        next.set(t.name, before);
        continue;
      }
      let condition: TraceCondition | undefined;
      try {
        condition = t.keep.condition ? parseTraceCondition(t.keep.condition.expr) : undefined;
      } catch {
        continue; // the server parsed it; a message that does not is ignored
      }
      const columns = new Map<string, readonly CaptureSpec[]>([
        ['start', t.start],
        ['end', [...t.end, ...(t.error ? [{ column: 'error', expr: t.error.expr }] : [])]],
        ...t.probes.map((p) => [p.name, p.capture] as const),
      ]);
      next.set(t.name, { entry: t, ...(condition ? { condition } : {}), columns });
    }
    for (const k of [...this.off])
      if (this.traces.get(k.split('\u0000')[0]!) !== next.get(k.split('\u0000')[0]!)) this.off.delete(k);
    this.traces = next;
    for (const [k, b] of this.books)
      if (this.traces.get(b.trace.entry.name) !== b.trace) this.books.delete(k);
  }

  /** Records one event of a trace's probe. */
  event(e: WireProbeEvent): void {
    const of = traceProbeOf(e.probe);
    if (of && isSharedTraceProbe(of.trace)) {
      this.sharedEvent(of.role, e);
      return;
    }
    const t = of && this.traces.get(of.trace);
    if (!of || !t) return;
    const cols = t.columns.get(of.role);
    if (!cols) return;
    const values = valuesOf(e, cols);
    const b = this.book(t, e.process, e.timeUs);
    switch (of.role) {
      case 'start': {
        if (this.off.size > 0 && this.off.has(`${of.trace}\u0000${pidOf(e.process)}`)) {
          b.counts.unfinished++;
          return;
        }
        const open = b.active.get(e.goroutine);
        if (open && open.panic === undefined) {
          open.depth++;
          return;
        }
        if (open) this.finish(b, open, open.lastUs, {});
        if (b.bytes > t.entry.limits.memoryBytes * NEW_REQUEST_SHARE) {
          b.counts.overMemory++;
          return;
        }
        const r: Request = {
          id: `${e.process}:${e.goroutine}:${e.timeUs}`,
          goroutine: e.goroutine,
          startUs: e.timeUs,
          start: values,
          depth: 1,
          events: [],
          eventsDropped: 0,
          bytes: 0,
          goroutines: new Set([e.goroutine]),
          last: new Map(),
          lastUs: e.timeUs,
          slowSent: false,
        };
        b.active.set(e.goroutine, r);
        b.owner.set(e.goroutine, r);
        this.hold(b, r, 'start', e, e.goroutine, values);
        return;
      }
      case 'end': {
        const r = b.active.get(e.goroutine);
        if (!r || --r.depth > 0) return;
        this.hold(b, r, 'end', e, e.goroutine, values);
        this.finish(b, r, e.timeUs, values);
        return;
      }
      default: {
        const r = b.owner.get(e.goroutine);
        if (r) this.hold(b, r, of.role, e, e.goroutine, values);
      }
    }
  }

  /**
   * An event of a probe shared by the traces on some programs (spawn, panic): it goes to
   * every trace recording requests on its process. A process two such pairs cover (two
   * selectors matching it) sends each event twice: the second changes nothing.
   */
  private sharedEvent(role: string, e: WireProbeEvent): void {
    const cols = role === 'spawn' ? SPAWN_CAPTURES : role === 'panic' ? PANIC_CAPTURES : undefined;
    if (!cols) return;
    const values = valuesOf(e, cols);
    for (const b of this.books.values()) {
      if (b.process !== e.process) continue;
      if (role === 'spawn') {
        // The spawn site runs on the system stack: the event's goroutine is g0; the parent is in the values.
        const parent = Number(values.parent);
        const child = Number(values.child);
        const r = b.owner.get(parent);
        if (!r || !Number.isFinite(child) || b.owner.get(child) === r) continue;
        b.owner.set(child, r);
        r.goroutines.add(child);
        this.hold(b, r, 'spawn', e, parent, { child });
      } else {
        const r = b.owner.get(e.goroutine);
        const last = r?.events.at(-1);
        if (!r || (r.panic !== undefined && last?.probe === 'panic' && last.timeUs === e.timeUs)) continue;
        r.panic = textOf(values.value) ?? 'panic';
        this.hold(b, r, 'panic', e, e.goroutine, values);
      }
    }
  }

  /**
   * Requests in flight past their trace's `slower_than` at `nowUs` (each once), and the ends
   * of requests that will not return: a panic that went past the function, or too old.
   */
  sweep(nowUs: number): SlowRequestRecord[] {
    const slow: SlowRequestRecord[] = [];
    for (const b of this.books.values()) {
      const limit = b.trace.entry.keep.slowerThanMs;
      for (const r of [...b.active.values()]) {
        if (r.panic !== undefined && nowUs - r.lastUs > PANIC_END_US) {
          b.counts.unfinished++;
          this.finish(b, r, r.lastUs, {});
          continue;
        }
        if (nowUs - r.startUs > MAX_REQUEST_US) {
          b.counts.unfinished++;
          this.forget(b, r);
          continue;
        }
        const elapsedMs = (nowUs - r.startUs) / 1000;
        if (limit !== undefined && !r.slowSent && elapsedMs > limit) {
          r.slowSent = true;
          slow.push({
            trace: b.trace.entry.name,
            requestId: r.id,
            process: b.process,
            pid: pidOf(b.process),
            goroutine: r.goroutine,
            elapsedMs: Math.round(elapsedMs),
          });
        }
      }
    }
    return slow;
  }

  /**
   * A probe of `trace` was switched off on process `pid` (the CPU circuit breaker): without
   * its start or end the trace can record nothing whole there, so its requests in flight end
   * as `unfinished` now, not after MAX_REQUEST_US, and its new requests there are only
   * counted (`unfinished`) until the trace changes.
   */
  abandon(trace: string, pid: number): void {
    this.off.add(`${trace}\u0000${pid}`);
    for (const b of this.books.values()) {
      if (b.trace.entry.name !== trace || !b.process.endsWith(`:${pid}`)) continue;
      for (const r of [...b.active.values()]) {
        b.counts.unfinished++;
        this.forget(b, r);
      }
    }
  }

  /** The traces kept and the counts since the last call. */
  take(nowUs: number): { traces: TraceRecord[]; counts: TraceCountsRecord[] } {
    const traces = this.kept;
    this.kept = [];
    const counts: TraceCountsRecord[] = [];
    for (const [k, b] of this.books) {
      const c = b.counts;
      if (c.requests + c.overMemory + c.unfinished > 0)
        counts.push({ trace: b.trace.entry.name, process: b.process, ...c, endUs: nowUs });
      b.counts = zero(nowUs);
      if (b.active.size === 0 && c.requests + c.overMemory + c.unfinished === 0) this.books.delete(k);
    }
    return { traces, counts };
  }

  /** Requests in flight, over all traces and processes. */
  inFlight(): number {
    let n = 0;
    for (const b of this.books.values()) n += b.active.size;
    return n;
  }

  private book(t: Compiled, process: string, nowUs: number): Book {
    const k = `${t.entry.name}\u0000${process}`;
    let b = this.books.get(k);
    if (!b) {
      b = {
        trace: t,
        process,
        active: new Map(),
        owner: new Map(),
        bytes: 0,
        tokens: t.entry.limits.keptPerSecond,
        tokensAt: nowUs,
        counts: zero(nowUs),
      };
      this.books.set(k, b);
    }
    return b;
  }

  private hold(
    b: Book,
    r: Request,
    probe: string,
    e: WireProbeEvent,
    goroutine: number,
    values: Record<string, unknown>,
  ): void {
    r.lastUs = Math.max(r.lastUs, e.timeUs);
    r.last.set(probe, values);
    const size = EVENT_OVERHEAD + JSON.stringify(values).length;
    if (
      r.events.length >= b.trace.entry.limits.eventsPerTrace ||
      b.bytes + size > b.trace.entry.limits.memoryBytes
    ) {
      r.eventsDropped++;
      return;
    }
    r.bytes += size;
    b.bytes += size;
    r.events.push({ probe, timeUs: e.timeUs, goroutine, function: e.site.function, values });
  }

  private forget(b: Book, r: Request): void {
    b.active.delete(r.goroutine);
    for (const g of r.goroutines) if (b.owner.get(g) === r) b.owner.delete(g);
    b.bytes -= r.bytes;
  }

  private finish(b: Book, r: Request, endUs: number, end: Record<string, unknown>): void {
    this.forget(b, r);
    const t = b.trace;
    const keep = t.entry.keep;
    const c = b.counts;
    c.requests++;
    c.eventsDropped += r.eventsDropped;
    const durationNs = Math.max(0, endUs - r.startUs) * 1000;
    const err = end.error;
    const get = (name: string): unknown => {
      const dot = name.indexOf('.');
      if (dot < 0) return Object.hasOwn(r.start, name) ? r.start[name] : end[name];
      return r.last.get(name.slice(0, dot))?.[name.slice(dot + 1)];
    };
    const outcome = keepOutcome(keep, t.condition, { error: err, panic: r.panic, durationNs, get });
    if (!outcome) {
      c.dropped++;
      return;
    }
    const rate = t.entry.limits.keptPerSecond;
    b.tokens = Math.min(rate, b.tokens + ((endUs - b.tokensAt) / 1e6) * rate);
    b.tokensAt = Math.max(b.tokensAt, endUs);
    if (b.tokens < 1) {
      c.overRate++;
      return;
    }
    b.tokens--;
    c.kept++;
    const events = r.events.slice().sort((x, y) => x.timeUs - y.timeUs);
    const error = err !== null && err !== undefined ? textOf(err) : r.panic;
    this.kept.push({
      trace: t.entry.name,
      requestId: r.id,
      process: b.process,
      goroutine: r.goroutine,
      startUs: r.startUs,
      endUs,
      durationNs,
      outcome,
      ...(error !== undefined ? { error } : {}),
      start: r.start,
      end,
      goroutines: [...r.goroutines],
      events,
      eventsDropped: r.eventsDropped,
    });
  }
}
