/** Messages between the agent's main thread and its capture thread (capture-worker.ts). */

/** Load the binary of `pid` and compile the spec for it, keeping the result under `slot`. */
export interface WorkerPrepare {
  readonly op: 'prepare';
  readonly id: number;
  readonly slot: string;
  readonly pid: number;
  readonly specVersion: number;
  readonly spec: string;
}

/** Capture the process prepared under `slot`; deflate the JSON when longer than `deflateOver`. */
export interface WorkerCapture {
  readonly op: 'capture';
  readonly id: number;
  readonly slot: string;
  readonly pid: number;
  readonly noPause: boolean;
  readonly deflateOver: number;
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
}

/** Forget prepared slots. */
export interface WorkerDrop {
  readonly op: 'drop';
  readonly id: number;
  readonly slots: readonly string[];
}

/** A request to the capture thread. */
export type WorkerRequest = WorkerPrepare | WorkerCopy | WorkerCapture | WorkerDrop;

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
