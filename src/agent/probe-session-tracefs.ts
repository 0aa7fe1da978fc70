/** placeholder */
import { PeriscopeError } from '../common/errors.js';
import type { CompiledProbe } from '../probes/compile/compile-probe.js';
import type { ProbeSession, TrapCosts } from './probe-session.js';

/** Probes on tracefs uprobe_events. */
export class TracefsSession {
  /** Prepares the instance. */
  static prepare(_tag: string): void {}
  /** Attaches. */
  static async attach(
    _c: readonly CompiledProbe[],
    _o: { pid: number; path: string; process: string; bias: number; trapNs: TrapCosts },
  ): Promise<ProbeSession> {
    throw new PeriscopeError('unsupported', 'tracefs probes are not built yet');
  }
}
