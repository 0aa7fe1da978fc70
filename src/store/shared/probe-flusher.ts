/**
 * What one server's agents send of probes and request traces, buffered and written to the
 * shared store about every second (or sooner past FLUSH_EVENTS events): the buffered batches
 * as Parquet objects (probe-objects.ts), then one index row in PostgreSQL that gives them
 * their batch number and event seqs (pg-probes.ts), then loaded into this server's cache (so a
 * caller that awaited its batch finds it in every read here). A failed flush leaves nothing
 * visible (its objects are deleted) and is tried again with the next one; batches that could
 * not be stored for GIVE_UP_MS are refused with the reason (the server logs it).
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { PeriscopeError } from '../../common/errors.js';
import type { ObjectStore } from '../object-store.js';
import type { ProbeBatchInput, ProbeProcessInput } from '../probe-store.js';
import type { TraceBatchInput } from '../trace-store.js';
import { indexProbeBatch } from './pg-probes.js';
import { flushPrefix, putProbeObjects } from './probe-objects.js';

/** How often buffered batches are written, ms. */
export const FLUSH_MS = 1000;
/** Buffered events that start a flush before the interval ends. */
const FLUSH_EVENTS = 20_000;
/** How long a batch is tried again before it is refused, ms. */
const GIVE_UP_MS = 30_000;

interface Pending {
  readonly probe?: ProbeBatchInput;
  readonly trace?: TraceBatchInput;
  readonly since: number;
  readonly resolve: (lastSeq: number) => void;
  readonly reject: (e: Error) => void;
}

/** Options (tests shorten them). */
export interface FlusherOptions {
  readonly intervalMs?: number;
  readonly giveUpMs?: number;
}

/** Buffers and writes one server's probe and trace batches. */
export class ProbeFlusher {
  /** Names this server's objects (`probes/<day>/<writer>-<n>/`). */
  readonly writer = randomBytes(6).toString('hex');
  private buffer: Pending[] = [];
  private bufferedEvents = 0;
  private n = 0;
  private flushing: Promise<void> | undefined;
  /** Batches of the flush under way. */
  private inFlight = 0;
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  private readonly giveUpMs: number;
  /** Flushes indexed, and flushes that failed (tests, logs). */
  readonly counters = { flushes: 0, failures: 0 };

  /** `afterIndex`: brings what was just indexed into this server's cache. */
  constructor(
    private readonly pool: pg.Pool,
    private readonly objects: ObjectStore,
    private readonly afterIndex: () => Promise<unknown>,
    opts: FlusherOptions = {},
  ) {
    this.giveUpMs = opts.giveUpMs ?? GIVE_UP_MS;
    this.timer = setInterval(() => this.kick(), opts.intervalMs ?? FLUSH_MS);
    this.timer.unref();
  }

  /** Buffers a probe batch; resolves with its last event seq once every server can read it. */
  addProbe(batch: ProbeBatchInput): Promise<number> {
    const empty =
      batch.events.length + batch.counts.length + batch.histograms.length + batch.notices.length === 0;
    const out = this.push({ probe: batch });
    this.bufferedEvents += batch.events.length;
    if (this.bufferedEvents >= FLUSH_EVENTS) this.kick();
    // Only processes' facts: they go out with the next flush, before anything buffered after them.
    if (empty) {
      out.catch(() => undefined);
      return Promise.resolve(0);
    }
    return out;
  }

  /** Buffers a trace batch; resolves once every server can read it. */
  async addTrace(batch: TraceBatchInput): Promise<void> {
    await this.push({ trace: batch });
  }

  private push(item: { probe?: ProbeBatchInput; trace?: TraceBatchInput }): Promise<number> {
    if (this.closed)
      return Promise.reject(
        new PeriscopeError(
          'unsupported',
          'this server is stopping: probe data it receives now is not stored (its agents reconnect to another server)',
        ),
      );
    return new Promise((resolve, reject) =>
      this.buffer.push({ ...item, since: Date.now(), resolve, reject }),
    );
  }

  /** Starts a flush unless one runs (the next tick takes what is left). */
  private kick(): void {
    if (this.flushing || this.buffer.length === 0) return;
    this.flushing = this.flush(true).finally(() => {
      this.flushing = undefined;
    });
  }

  /** Takes what is buffered and writes it as one flush (counted in flight meanwhile). */
  private async flush(load: boolean): Promise<void> {
    const items = this.buffer;
    this.buffer = [];
    this.bufferedEvents = 0;
    this.inFlight = items.length;
    try {
      await this.write(items, load);
    } finally {
      this.inFlight = 0;
    }
  }

  /** Writes batches as one flush: objects, their index row, then (with `load`) into this server's cache. */
  private async write(items: Pending[], load: boolean): Promise<void> {
    const probes = items.flatMap((p) => (p.probe ? [p.probe] : []));
    const traces = items.flatMap((p) => (p.trace ? [p.trace] : []));
    const facts = new Map<string, ProbeProcessInput & { agentId: string }>();
    for (const b of probes)
      for (const p of b.processes ?? []) facts.set(p.processId, { ...p, agentId: b.agentId });
    const now = new Date();
    const prefix = flushPrefix(now.toISOString().slice(0, 10), this.writer, ++this.n);
    let seqFirst: number;
    try {
      const written = await putProbeObjects(this.objects, prefix, { probes, traces });
      try {
        ({ seqFirst } = await indexProbeBatch(this.pool, this.writer, written, [...facts.values()]));
      } catch (e) {
        await this.objects.delete(written.objects.map((o) => o.key)).catch(() => undefined);
        throw e;
      }
    } catch (e) {
      this.counters.failures++;
      // Objects put before a failure in putProbeObjects itself: nothing indexes them; delete.
      await this.objects
        .list(prefix)
        .then((l) => (l.length > 0 ? this.objects.delete(l.map((o) => o.key)) : undefined))
        .catch(() => undefined);
      const now2 = Date.now();
      const keep = items.filter((p) => now2 - p.since < this.giveUpMs && !this.closed);
      const refuse = items.filter((p) => !keep.includes(p));
      for (const p of refuse)
        p.reject(
          new PeriscopeError(
            'timeout',
            `probe data could not be stored in the shared store (tried for ${Math.round((now2 - p.since) / 1000)} s): ${(e as Error).message.split('\n')[0]}; check PostgreSQL and the object store`,
          ),
        );
      this.buffer = [...keep, ...this.buffer];
      this.bufferedEvents += keep.reduce((n, p) => n + (p.probe?.events.length ?? 0), 0);
      return;
    }
    this.counters.flushes++;
    if (load) await this.afterIndex().catch(() => undefined); // a failed load: reads sync again and report it
    let seq = seqFirst - 1;
    for (const p of items) {
      seq += p.probe?.events.length ?? 0;
      p.resolve(seq);
    }
  }

  /** Batches not stored yet: buffered, or in the flush under way (a stopping server's log names them). */
  get unstored(): number {
    return this.buffer.length + this.inFlight;
  }

  /** Writes what is buffered (without loading it here), then takes no more. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    while (this.flushing) await this.flushing;
    this.closed = true; // a last flush that fails refuses its batches (they are not tried again)
    if (this.buffer.length > 0) await this.flush(false);
  }
}
