/**
 * A spec stored through another server reaches this server's agents (scaled-out store): the
 * server that stores a spec version NOTIFYs `spec:VERSION` (pg-index.ts, at commit); on that
 * notification, and every second in case one was lost, this server asks the orchestrator for
 * the current spec, which sends it and its probe orders to this server's agents when it is
 * not the version they were last sent (Orchestrator.syncedSpec, the same step a snapshot
 * request takes first).
 */
import type { PgFleet } from '../store/shared/shared-store.js';
import type { Orchestrator } from './orchestrator.js';

/** How often PostgreSQL is looked at without a notification, ms. */
const LOOK_MS = 1000;

/** Keeps this server's agents on the fleet's current spec. */
export class FleetSpecFollower {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private again = false;
  private lastError = 0;

  constructor(
    private readonly fleet: PgFleet,
    private readonly orchestrator: Orchestrator,
    private readonly log: (line: string) => void,
  ) {}

  /** Listens for new spec versions (NOTIFY, and a look every second). */
  start(): void {
    this.fleet.listen((payload) => {
      if (payload.startsWith('spec:')) this.sync();
    });
    this.timer = setInterval(() => this.sync(), LOOK_MS);
    this.timer.unref();
  }

  /** Stops looking. */
  stop(): void {
    clearInterval(this.timer);
  }

  /** One look; a look asked for while one runs runs once after it. */
  private sync(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.orchestrator
      .syncedSpec()
      .catch((e: unknown) => {
        if (Date.now() - this.lastError < 60_000) return;
        this.lastError = Date.now();
        this.log(
          `cannot read the current spec from PostgreSQL: ${(e as Error).message}; this server's agents keep the spec they have until it answers`,
        );
      })
      .finally(() => {
        this.running = false;
        if (this.again) {
          this.again = false;
          this.sync();
        }
      });
  }
}
