/** What the HTTP routes and the agent endpoint share: the registry, the store, the tokens. */
import { PERISCOPE_VERSION } from '../common/version.js';
import type { AuditLog } from '../store/audit-log.js';
import type { Store } from '../store/store.js';
import type { TokenBook } from '../store/token-book.js';
import type { FleetView } from './fleet-view.js';
import type { FunctionDescriptions } from './function-describe.js';
import type { Orchestrator } from './orchestrator.js';
import type { ProbeBook } from './probe-book.js';
import type { ProbeOrders } from './probe-orders.js';
import type { Registry } from './registry.js';
import type { RequestSignals } from './request-signals.js';
import type { SnapshotMetaLog } from './snapshot-meta.js';
import type { SpecChecks } from './spec-check.js';
import type { TraceBook } from './trace-book.js';

/** The version the server reports (health, welcome). */
export const SERVER_VERSION = PERISCOPE_VERSION;

/** The parts of a running server. */
export interface ServerContext {
  readonly registry: Registry;
  readonly orchestrator: Orchestrator;
  /** Checks of a new spec against the agents' binaries. */
  readonly specChecks: SpecChecks;
  /** Agents asked for a function's lines and variables (the Spec view). */
  readonly functions: FunctionDescriptions;
  readonly store: Store;
  /** The probes of the current spec and their times to live. */
  readonly probeOrders: ProbeOrders;
  /** The agents' probe status, their batches stored, and the waiters for new events. */
  readonly probes: ProbeBook;
  /** What the server learns about requests (slow in flight, kept traces), for whoever reacts to it. */
  readonly requestSignals: RequestSignals;
  /** The agents' request traces checked and stored; emits into requestSignals. */
  readonly traces: TraceBook;
  readonly tokens: TokenBook;
  /** The append-only log of who did what (audit.ts writes it). */
  readonly audit: AuditLog;
  readonly meta: SnapshotMetaLog;
  readonly dataDir: string;
  readonly startedAt: Date;
  /** Scaled-out store: the agents of every server (set once the server listens). */
  fleet?: FleetView;
}
