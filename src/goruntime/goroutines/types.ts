/**
 * Goroutines as plain data: what a snapshot reports for each goroutine of a process (see
 * docs/goroutines.md for the meaning of every field), and the snapshot as a whole.
 */
import type { Address } from '../../common/address.js';
import type { Stack } from './unwind.js';

/** Where a goroutine's stack walk started: see StartSource in capture.ts. */
export type StackSource = 'none' | 'sched' | 'syscall' | 'thread' | 'vdso' | 'sched-stale' | 'signal';

/** The `go` statement that created a goroutine, as Go prints "created by F in goroutine N". */
export interface CreatedBy {
  /** Function containing the go statement (the physical function, as Go prints it). */
  readonly function: string;
  readonly file: string;
  readonly line: number;
  /** g.gopc: the pc of the go statement's call to newproc. */
  readonly pc: Address;
  /** Goroutine that ran the go statement (g.parentGoid; Go 1.21+), if known. */
  readonly parentId: number | undefined;
}

/** One goroutine, decoded after the pause from copied memory. */
export interface Goroutine {
  /** Address of the runtime.g. */
  readonly address: Address;
  /** g.goid. */
  readonly id: number;
  /** Status name without the _G prefix: idle, runnable, running, syscall, waiting, dead, copystack, preempted, ... */
  readonly status: string;
  /** g.atomicstatus without the _Gscan bit. */
  readonly statusCode: number;
  /** The _Gscan bit was set: the garbage collector was scanning this stack at that instant. */
  readonly scan: boolean;
  /** Why it waits (the binary's waitReasonStrings), only when status is waiting. */
  readonly waitReason: string | undefined;
  /** g.waitsince: runtime.nanotime() (CLOCK_MONOTONIC ns) when it blocked; undefined when not recorded. */
  readonly waitSinceNs: number | undefined;
  /** How long it had been blocked at capture time (ns); undefined when waitsince was not recorded. */
  readonly waitDurationNs: number | undefined;
  /** pprof labels as [key, value] pairs, sorted by key. */
  readonly labels: readonly (readonly [string, string])[];
  readonly createdBy: CreatedBy | undefined;
  /** The function the goroutine started in (g.startpc). */
  readonly startFunction: string | undefined;
  readonly startPc: Address;
  /** A runtime-internal goroutine (Go's isSystemGoroutine): runtime.Stack(all) leaves it out. */
  readonly system: boolean;
  /** OS thread id (m.procid) it runs on (running, in a system call) or is locked to. */
  readonly threadId: number | undefined;
  /** runtime.LockOSThread is in effect (g.lockedm set). */
  readonly lockedToThread: boolean;
  readonly stackLo: Address;
  readonly stackHi: Address;
  /** Where the stack walk started. */
  readonly stackSource: StackSource;
  /** Logical frames innermost first, and how the walk ended. */
  readonly stack: Stack;
  /** Problems decoding this goroutine (it is still reported with what could be read). */
  readonly errors: readonly string[];
}

/** Counters and timings of one goroutine snapshot. */
export interface GoroutineSnapshotStats {
  /** runtime.allglen at capture. */
  readonly allglen: number;
  /** Dead goroutines skipped (g's kept for reuse). */
  readonly dead: number;
  readonly captureMs: number;
  readonly decodeMs: number;
  readonly bytesCopied: number;
  readonly rangesCopied: number;
  /** Reads during decoding that had to go to the live process (0 when none was allowed). */
  readonly fallbackReads: number;
}

/** Every goroutine of a process at one instant (as `G`: decodeGoroutines' `make`). */
export interface GoroutineSnapshot<G extends Goroutine = Goroutine> {
  readonly goroutines: G[];
  /** More goroutines existed than the capture's limit; the rest were not read. */
  readonly truncated: boolean;
  readonly stats: GoroutineSnapshotStats;
}
