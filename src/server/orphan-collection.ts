/**
 * The scaled-out store's collection of objects nobody indexed (store/shared/orphan-objects.ts),
 * run by every server on a timer: one at a time collects (PostgreSQL's advisory lock), the
 * others pass. What was deleted is counted and logged.
 */
import type { OrphanPass } from '../store/shared/shared-store.js';

/** When and what to collect. */
export interface OrphanCollectionOptions {
  /** How often a server tries, ms. */
  readonly intervalMs: number;
  /** How long an unindexed snapshot id must have been seen so before its objects go, ms. */
  readonly ageMs: number;
}

/** The safe age: an hour, or ten times the longest a snapshot may take to capture and store. */
export function orphanAgeMs(prepareTimeoutMs: number, captureTimeoutMs: number): number {
  return Math.max(3_600_000, 10 * (prepareTimeoutMs + captureTimeoutMs));
}

/** Collects on a timer; `pass` runs one collection now (tests, the timer). */
export class OrphanCollection {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<OrphanPass | undefined> | undefined;
  /** Objects and snapshot ids deleted since start (for logs and tests). */
  readonly totals = { snapshots: 0, objects: 0, bytes: 0 };

  constructor(
    private readonly collect: (ageMs: number) => Promise<OrphanPass>,
    private readonly opts: OrphanCollectionOptions,
    private readonly log: (line: string) => void,
  ) {}

  /** Starts the timer. */
  start(): void {
    this.timer = setInterval(() => void this.pass(), this.opts.intervalMs);
    this.timer.unref();
  }

  /** One pass (none when one runs here already); undefined when it failed (logged). */
  pass(): Promise<OrphanPass | undefined> {
    this.running ??= this.collect(this.opts.ageMs)
      .then((p) => {
        if (p.collected.length + p.probePrefixes.length > 0) {
          this.totals.snapshots += p.collected.length;
          this.totals.objects += p.objects;
          this.totals.bytes += p.bytes;
          const what = [
            ...(p.collected.length > 0 ? [`snapshot ids ${p.collected.join(', ')}`] : []),
            ...(p.probePrefixes.length > 0 ? [`probe data under ${p.probePrefixes.join(', ')}`] : []),
          ];
          this.log(
            `object store: deleted ${p.objects} objects (${p.bytes} bytes) no index row names, unindexed for over ${Math.round(this.opts.ageMs / 1000)} s: ${what.join('; ')}`,
          );
        }
        return p;
      })
      .catch((e: unknown) => {
        this.log(`object store: the collection of unindexed objects failed: ${(e as Error).message}`);
        return undefined;
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  /** Stops the timer and waits for a pass under way. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
