/**
 * The shared memory between a thread reading ranges and its copy helper (copy-helper.ts and
 * copy-helper.worker.ts): which word of the control block means what, the job states, and
 * what the worker is given when it starts. Nothing but SharedArrayBuffers and Atomics
 * crosses between them while a job runs.
 */
import type { MessagePort } from 'node:worker_threads';

/** Indices into the control block (an Int32Array). */
export const Ctl = {
  /** Bumped (and notified) to wake the helper: a job was posted or it was armed. */
  WAKE: 0,
  /** JobState of the current job (notified when the helper sets it back to Idle). */
  STATE: 1,
  /** Next block to claim (Atomics.add by both threads). */
  NEXT_BLOCK: 2,
  /** Blocks in the current job. */
  BLOCKS: 3,
  PID: 4,
  JOIN_GAP: 5,
  /** Bumped to arm the helper: it then spins for ARM_MS instead of sleeping. */
  ARM_SEQ: 6,
  ARM_MS: 7,
  /** Generation of the shared range arrays (new ones arrive on the port). */
  ARRAYS_GEN: 8,
  /** 1 once the helper has bound libc and is waiting for jobs. */
  READY: 9,
  /** Number of the current job; blockDone[b] holds it once the helper has read block b. */
  JOB_SEQ: 10,
  /** 1 while the helper spins (a job starts within microseconds), 0 while it sleeps. */
  SPINNING: 11,
  /**
   * With SELF_PLACE: the CPU the poster ran on when it armed the helper (-1: unknown, or
   * disarmed): the helper moves off it once it runs.
   */
  POSTER_CPU: 12,
  /** The helper's thread id (0 until READY): the poster sets its CPUs before waking it. */
  HELPER_TID: 13,
  /**
   * 1: the helper moves itself off POSTER_CPU when it wakes, as before 2026-12-06 (kept for
   * comparisons, PERISCOPE_HELPER_PLACEMENT=self); 0: the poster has placed it already.
   */
  SELF_PLACE: 14,
} as const;

/** Words in the control block. */
export const CTL_WORDS = 16;

/** Indices into the numbers block (a Float64Array). */
export const Num = {
  /** Address of the destination buffer (our memory). */
  DEST: 0,
  /** The helper's counters for the blocks it completed in the current job. */
  BYTES_READ: 1,
  GAP_BYTES: 2,
  CALLS: 3,
} as const;

/** Slots in the numbers block. */
export const NUM_SLOTS = 8;

/** States of a job (Ctl.STATE). */
export const JobState = {
  /** No job, or the helper finished it (it writes nothing more). */
  Idle: 0,
  /** Posted, not yet taken by the helper. */
  Posted: 1,
  /** The helper is claiming and reading blocks. */
  Taken: 2,
  /** The poster wants the helper to stop after its current block. */
  Cancel: 3,
} as const;

/** Most blocks a job is cut into. */
export const MAX_BLOCKS = 64;

/** The range arrays of a job, shared, indexed like the caller's (the helper reads and writes only its blocks). */
export interface SharedRanges {
  readonly gen: number;
  readonly addresses: Float64Array;
  readonly sizes: Float64Array;
  readonly ok: Uint8Array;
}

/** What the worker is started with (workerData). */
export interface HelperInit {
  /** CTL_WORDS Int32 words. */
  readonly control: SharedArrayBuffer;
  /** NUM_SLOTS Float64 slots. */
  readonly numbers: SharedArrayBuffer;
  /** Float64 pairs (first range, dest offset) for blocks 0..MAX_BLOCKS (the last pair ends the job). */
  readonly blocks: SharedArrayBuffer;
  /** MAX_BLOCKS Int32 words: the JOB_SEQ of the job in which the helper read each block. */
  readonly blockDone: SharedArrayBuffer;
  /** Where new SharedRanges arrive (read with receiveMessageOnPort when ARRAYS_GEN changes). */
  readonly port: MessagePort;
}

/** SharedRanges as posted on the port (SharedArrayBuffers, rebuilt into views on arrival). */
export interface SharedRangesMessage {
  readonly gen: number;
  readonly addresses: SharedArrayBuffer;
  readonly sizes: SharedArrayBuffer;
  readonly ok: SharedArrayBuffer;
}
