/**
 * A snapshot of one process as plain, JSON-ready data: every goroutine with its stack, the
 * values captured on the frames the spec names, and what the snapshot cost the process.
 */
import type { Goroutine } from '../goruntime/goroutines/index.js';
import type { GoValue } from '../goruntime/values/index.js';
import type { SpecPosition } from '../spec/spec-types.js';

/**
 * A spec entry this binary cannot capture, and why. It costs only that entry: every other
 * entry and every stack of the process is still captured.
 */
export interface CaptureError {
  readonly function: string;
  readonly table: string;
  /** The capture's column and expression (absent when the function itself could not be looked up). */
  readonly column?: string;
  readonly expr?: string;
  /** Where in the spec file (1-based): the problem's own column when the expression is on one line. */
  readonly at?: SpecPosition;
  /** Why, without the position (e.g. `srv has no field Nmae; fields: Name, …`). */
  readonly message: string;
}

/**
 * A link that cannot resolve (fully) in one process, said once per process rather than in
 * every row: the connection of one of its tables leads to no socket identity there.
 */
export interface LinkNote {
  readonly link: string;
  /** The link's table (an end) whose rows lack an identity here, and its socket capture's column. */
  readonly table: string;
  readonly column: string;
  /** Frames of that table without an identity, for this reason (absent: none was read, see message). */
  readonly frames?: number;
  /** Frames of that table in this process. */
  readonly of?: number;
  /** Why (the same for each of `frames`). */
  readonly message: string;
}

/** One captured expression on one frame. `value` is null when it could not be read, with why. */
export interface CapturedValue {
  readonly column: string;
  readonly expr: string;
  readonly value: GoValue | null;
  /** Why the value is null: not available at this PC, a failed lookup, unreadable memory. */
  readonly error?: string;
}

/** The values captured on one frame of a spec'd function. */
export interface FrameCapture {
  /** Index of the (logical) frame in the goroutine's stack, 0 = innermost. */
  readonly depth: number;
  readonly function: string;
  /** The function table of the spec this frame feeds. */
  readonly table: string;
  readonly values: readonly CapturedValue[];
  /**
   * The values were read after the process resumed (the pause's budget for values was spent
   * before this frame, or while reading it: then its first values are from the pause and the
   * rest from after): the stack is the paused one, but what the expressions reached may have
   * changed since.
   */
  readonly afterPause?: boolean;
}

/** A goroutine in a snapshot: the decoded goroutine plus its captured frames. */
export interface SnapshotGoroutine extends Goroutine {
  readonly captures: readonly FrameCapture[];
  /** --no-pause only: status or stack pointer changed while it was read; its stack may be wrong. */
  readonly inconsistent?: boolean;
}

/** How a process was read. */
export type SnapshotMode = 'paused' | 'no-pause';

/** One process's snapshot. */
export interface ProcessSnapshot {
  readonly pid: number;
  readonly executable: string;
  readonly buildId: string | undefined;
  readonly goVersion: string | undefined;
  /** When the capture started (wall clock, ISO 8601). */
  readonly takenAt: string;
  readonly mode: SnapshotMode;
  /** How long the process was stopped, in ns (0 in no-pause mode). */
  readonly pauseNs: number;
  /** Stopping all threads, copying, capturing values, resuming: ns each. */
  readonly phasesNs: {
    readonly stop: number;
    readonly copy: number;
    readonly values: number;
    readonly resume: number;
  };
  /** Bytes read from the process. */
  readonly bytesRead: number;
  /** Time to decode after the process was resumed, in ns. */
  readonly decodeNs: number;
  readonly threads: number;
  readonly goroutines: readonly SnapshotGoroutine[];
  /** runtime.allglen; more than goroutines.length when dead ones were skipped. */
  readonly allglen: number;
  /** More goroutines existed than the limit; the rest were not read. */
  readonly truncated: boolean;
  /** Spec functions this binary does not have (the spec may serve other programs too). */
  readonly specFunctionsAbsent: readonly string[];
  /** Spec entries that do not fit this binary (not captured; everything else was). */
  readonly captureErrors?: readonly CaptureError[];
  /** Frames whose values were read after the pause, its budget for values spent (see FrameCapture.afterPause). */
  readonly valuesAfterPause?: number;
  /** Links that cannot resolve here, or not for every row: once per link, table and reason. */
  readonly linkNotes?: readonly LinkNote[];
  /**
   * A first pause of this snapshot was cut short by its cap while the threads were still
   * stopping (a busy machine) and discarded: how long it held the process, ns.
   */
  readonly discardedPauseNs?: number;
  /** The pause reached its hard cap and the process was resumed before everything was read. */
  readonly partial?: PartialSnapshot;
}

/** What a pause cut short by its cap left out (SnapshotOptions.pauseCapMs). */
export interface PartialSnapshot {
  /** The cap, ms. */
  readonly capMs: number;
  /** Goroutines whose stacks were not copied (reported with their headers, no frames). */
  readonly stacksNotCopied: number;
  /** The pause had no time left for the spec's values: they were read after the resume (afterPause). */
  readonly valuesAfterCap: boolean;
  /** One line for people: what was left and why. */
  readonly reason: string;
}
