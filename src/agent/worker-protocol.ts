/** Messages between the agent's main thread and its capture thread (capture-worker.ts). */
import type { BinaryCheck } from '../protocol/messages.js';
import type { FunctionLines } from '../snapshot/function-lines.js';

/** Load the binary of `pid` and compile the spec for it, keeping the result under `slot`. */
export interface WorkerPrepare {
  readonly op: 'prepare';
  readonly id: number;
  readonly slot: string;
  readonly pid: number;
  readonly specVersion: number;
  readonly spec: string;
  /** The spec's program rules the process matches (where `redaction.off` may apply). */
  readonly programs: readonly string[];
}

/** Capture the process prepared under `slot`; deflate the JSON when longer than `deflateOver`. */
export interface WorkerCapture {
  readonly op: 'capture';
  readonly id: number;
  readonly slot: string;
  readonly pid: number;
  readonly noPause: boolean;
  readonly deflateOver: number;
  /** The pause's hard cap, ms (default: the snapshot's). */
  readonly pauseCapMs?: number;
}

/**
 * Pause and copy the processes prepared under `slots`, one after another, keeping what was
 * copied for their `capture` (which then only decodes): the pauses of an agent's processes
 * come close together instead of each waiting for the previous one's decoding and sending.
 */
export interface WorkerCopy {
  readonly op: 'copy';
  readonly id: number;
  readonly slots: readonly { readonly slot: string; readonly pid: number }[];
  /** The pause's hard cap, ms (default: the snapshot's). */
  readonly pauseCapMs?: number;
}

/** Forget prepared slots. */
export interface WorkerDrop {
  readonly op: 'drop';
  readonly id: number;
  readonly slots: readonly string[];
}

/** One binary to check a spec against: a running process's, or a file a stored snapshot's ran from. */
export interface CheckTarget {
  /** A process running it (its /proc/PID/exe is read). */
  readonly pid?: number;
  /** Else: where it was, and the build ID the file there must still have. */
  readonly path?: string;
  readonly buildId?: string;
  readonly executable: string;
  readonly goVersion?: string;
  /** Keys of the agent's processes running it. */
  readonly processes: readonly string[];
  /** The spec's probes whose program selector picks one of those processes (checked against it too). */
  readonly probes?: readonly string[];
}

/** Check a spec (YAML) against binaries, without keeping anything but the loaded binaries. */
export interface WorkerCheck {
  readonly op: 'check';
  readonly id: number;
  readonly spec: string;
  readonly source: string;
  readonly targets: readonly CheckTarget[];
}

/** Describe one function of a binary: its lines and the variables live at each. */
export interface WorkerDescribe {
  readonly op: 'describe';
  readonly id: number;
  /** The binary, as a spec check names it (a running process's, or a file with a build ID). */
  readonly target: CheckTarget;
  readonly function: string;
}

/** A request to the capture thread. */
export type WorkerRequest =
  | WorkerPrepare
  | WorkerCopy
  | WorkerCapture
  | WorkerDrop
  | WorkerCheck
  | WorkerDescribe;

/** A success; captures carry the encoded snapshot. */
export interface WorkerOk {
  readonly id: number;
  readonly ok: true;
  readonly elapsedMs: number;
  /** Binaries held by the thread's cache (the agent recycles the thread when it holds many). */
  readonly binaries: number;
  readonly startedAt?: number;
  readonly pauseNs?: number;
  readonly goroutines?: number;
  /** Spec entries the captured process's binary could not capture (they are in the snapshot). */
  readonly captureErrors?: number;
  readonly deflated?: boolean;
  /** The snapshot's JSON, deflated when `deflated`. */
  readonly bytes?: Uint8Array;
  /** For `copy`: the slots copied (the others will be captured whole, or fail, on `capture`). */
  readonly copied?: readonly string[];
  /** For `check`: one result per target, in order. */
  readonly checks?: readonly BinaryCheck[];
  /** For `describe`: the function's lines. */
  readonly lines?: FunctionLines;
}

/** A failure: the PeriscopeError kind ('internal' for anything else) and its message. */
export interface WorkerFailure {
  readonly id: number;
  readonly ok: false;
  readonly kind: string;
  readonly message: string;
  readonly binaries: number;
}

/** The capture thread's answer. */
export type WorkerReply = WorkerOk | WorkerFailure;

/**
 * Sent once by a capture thread when it has started (the budgets of calls count from it): its
 * kernel thread id (its CPU time is read by it), undefined where /proc/thread-self cannot say.
 */
export interface WorkerHello {
  readonly hello: true;
  readonly tid: number | undefined;
}

/** A line the capture thread's binary cache on disk tells (agent/binary-cache-log.ts filters it). */
export interface WorkerCacheLog {
  readonly cacheLog: string;
}

/** What the capture thread is started with (its workerData). */
export interface CaptureThreadData {
  /** The binary cache on disk, if one is used (agent --cache-dir). */
  readonly binaryCacheDir?: string;
}
