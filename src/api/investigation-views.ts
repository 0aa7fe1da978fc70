/**
 * Standing investigations in the API's answers (`/v1/investigations`): one investigation as
 * listed and shown, with its firings and the triggers that no longer hear anything (a probe
 * that does not attach, a trace or probe the current spec dropped). The definition and its
 * parser are in investigations.ts.
 */
import type { FiringRecord } from '../store/store.js';
import type { InvestigationBody } from './investigations.js';

/** A probe trigger whose probe does not attach to a binary where it used to (a new deployment). */
export interface Unresolved {
  readonly probe: string;
  readonly agentId: string;
  readonly executable: string;
  readonly buildId?: string;
  readonly error: string;
}

/** A slow/error trigger whose trace the current spec no longer has (the spec changed after it was added). */
export interface MissingTrace {
  readonly trigger: 'slow' | 'error';
  readonly trace: string;
  /** The current spec's version. */
  readonly specVersion: number;
  /** `trace checkout is not in the current spec (version 7)`. */
  readonly text: string;
}

/** A probe trigger whose probe the current spec no longer has (the spec changed after it was added). */
export interface MissingProbe {
  readonly probe: string;
  /** The current spec's version. */
  readonly specVersion: number;
  /** `probe cache_get is not in the current spec (version 7)`. */
  readonly text: string;
}

/** One investigation as listed and shown. */
export interface InvestigationView {
  readonly id: number;
  readonly name: string;
  readonly owner: string;
  readonly question: string;
  readonly notes: string;
  readonly state: 'open' | 'closed';
  readonly createdAt: string;
  readonly closedAt?: string;
  readonly closedBy?: string;
  readonly fires: number;
  readonly lastFiredAt?: string;
  /** The last thing that went wrong outside a firing (a scheduled snapshot, a condition, a probe filter). */
  readonly lastProblem?: string;
  /** The definition as sent. */
  readonly definition: InvestigationBody;
  /** Probe triggers that no longer resolve on some binary (`show` only). */
  readonly unresolved?: readonly Unresolved[];
  /** Slow/error triggers whose trace the current spec no longer has (`show` only); they wait until a spec has it again. */
  readonly missingTraces?: readonly MissingTrace[];
  /** Probe triggers whose probe the current spec no longer has (`show` only); they wait until a spec has it again. */
  readonly missingProbes?: readonly MissingProbe[];
  /** The latest firings, newest first (`show` only). */
  readonly firings?: readonly FiringView[];
}

/** One firing of an investigation, as the store lists it. */
export type FiringView = FiringRecord;

/** GET /v1/investigations. */
export interface InvestigationsResponse {
  readonly investigations: readonly InvestigationView[];
}
