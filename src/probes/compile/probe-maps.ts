/**
 * The BPF maps a set of probes on one process shares, and the layout of its counters: two
 * rings for events (a small hot ring, an mmap-able array that stays in the CPU's cache and is
 * written without helper calls, and a large BPF ring buffer taken only when the small one is
 * full); per-CPU counters per probe (hits, matched, events, drops by
 * cause, durations); a per-CPU log2 histogram of durations per probe; entry times by
 * goroutine and frame (LRU hash); the rate limiter's state per probe; stacks by hash.
 * Counters are per-CPU and added atomically (uprobe_multi programs can be preempted).
 */
import type { HasFd } from '../bpf/assembler.js';

/** The maps a probe program refers to (by fd). */
export interface ProbeMapFds {
  /** The hot ring events go to (bpf/hot-ring.ts): small enough (HOT_RING_BYTES) to stay in cache between drains. */
  readonly ring: HasFd;
  /** Bytes of the hot ring's data (a power of 2). */
  readonly hotBytes: number;
  /** The ring events go to when `ring` is full: large, for bursts the drain has not caught up with. */
  readonly overflow: HasFd;
  readonly stats: HasFd;
  readonly histogram: HasFd;
  readonly starts: HasFd;
  readonly rate: HasFd;
  readonly stacks: HasFd;
  /** Return addresses per entry of the stacks map (its value size / 8). */
  readonly stackFrames: number;
}

/**
 * Bytes of the small ring. An event written to memory that is not in the CPU's cache cost the
 * probed call ~100 ns more than one written to cached memory (bench/probe-paths.ts: 424 bytes
 * into an 8 MiB ring or array +104–134 ns; a 1 MiB ring, drained as events come, +16 ns; a
 * 2 MiB one, the L2 size here, +31 ns).
 */
export const HOT_RING_BYTES = 1 << 20;

/**
 * Counters per probe, in the stats map at probe * STATS_PER_PROBE + stat. One is added per
 * hit, by outcome; `hits` (all outcomes) and, for probes that emit, `matched` (events plus
 * ring-full drops) are sums made in user space, which saves the program two map updates.
 */
export const STAT = {
  /** Every time a main site of the probe ran (derived). */
  hits: 0,
  /** Hits whose condition held and that the rate limit let through (counted only by probes that do not emit). */
  matched: 1,
  /** Events written to the ring buffer. */
  events: 2,
  /** Hits whose condition was false. */
  rejected: 3,
  /** Hits whose condition could not be evaluated (nil, unreadable memory): not matched. */
  conditionErrors: 4,
  /** Matched hits the rate limit dropped. */
  rateLimited: 5,
  /** Events dropped because both ring buffers were full. */
  ringFull: 6,
  /** Returns paired with their entry (durations measured). */
  durations: 7,
  /** Sum of the measured durations, ns. */
  durationSumNs: 8,
  /** Returns with no entry time (the entry came before the probe, or was evicted). */
  unpaired: 9,
} as const;

/** A counter's name. */
export type StatName = keyof typeof STAT;

/** Counters per probe. */
export const STATS_PER_PROBE = 10;

/** Buckets of the duration histogram per probe: bucket b counts durations in [2^(b-1), 2^b) ns (b = 0: 0 ns). */
export const HISTOGRAM_BUCKETS = 65;

/** Key of the entry-times map: goroutine id, the frame's distance from the stack's top, the probe. */
export const START_KEY_BYTES = 16;
/** Offset of the probe's slot (u32) in an entry-times key (after the goroutine id, u64, and the distance, u32). */
export const START_KEY_PROBE = 12;

/** Entries of the entry-times map (in-flight calls across all goroutines). */
export const MAX_IN_FLIGHT = 65536;
