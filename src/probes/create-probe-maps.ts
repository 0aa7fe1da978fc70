/**
 * Creating the maps a set of probes on one process shares (their layout is in
 * compile/probe-maps.ts): the hot ring and the overflow ring buffer, per-CPU counters and histograms, the entry times,
 * the rate limiter's state, the stacks.
 */
import { hotRingSpec } from './bpf/hot-ring.js';
import { type BpfMap, createMap } from './bpf/maps.js';
import {
  HISTOGRAM_BUCKETS,
  MAX_IN_FLIGHT,
  type ProbeMapFds,
  START_KEY_BYTES,
  STATS_PER_PROBE,
} from './compile/probe-maps.js';

/** Distinct stacks kept per probe set. */
const MAX_STACKS = 16384;

/**
 * The maps of a probe set with counters for `slots` probes and stacks of `frames` return
 * addresses and ring buffers of `ringBytes.hot` and `.overflow` bytes (powers of 2, at least
 * 4096), each also pushed on `into` (so a failure can close what was made).
 */
export function createProbeMaps(
  slots: number,
  frames: number,
  tag: string,
  ringBytes: { readonly hot: number; readonly overflow: number },
  into: BpfMap[],
): ProbeMapFds & {
  ring: BpfMap;
  overflow: BpfMap;
  stats: BpfMap;
  histogram: BpfMap;
  stacks: BpfMap;
  rate: BpfMap;
  starts: BpfMap;
} {
  const name = (s: string) => `periscope_${tag}${s}`;
  const make = (...a: Parameters<typeof createMap>) => {
    const m = createMap(...a);
    into.push(m);
    return m;
  };
  const n = slots;
  return {
    ring: make(hotRingSpec(name('r'), ringBytes.hot)),
    hotBytes: ringBytes.hot,
    overflow: make({
      name: name('o'),
      type: 'ringbuf',
      keySize: 0,
      valueSize: 0,
      maxEntries: ringBytes.overflow,
    }),
    stats: make({
      name: name('s'),
      type: 'percpuArray',
      keySize: 4,
      valueSize: 8,
      maxEntries: n * STATS_PER_PROBE,
    }),
    histogram: make({
      name: name('h'),
      type: 'percpuArray',
      keySize: 4,
      valueSize: 8,
      maxEntries: n * HISTOGRAM_BUCKETS,
    }),
    starts: make({
      name: name('t'),
      type: 'lruHash',
      keySize: START_KEY_BYTES,
      valueSize: 8,
      maxEntries: MAX_IN_FLIGHT,
    }),
    rate: make({ name: name('l'), type: 'array', keySize: 4, valueSize: 8, maxEntries: n }),
    stacks: make({
      name: name('k'),
      type: 'hash',
      keySize: 8,
      valueSize: 8 * frames,
      maxEntries: MAX_STACKS,
    }),
    stackFrames: frames,
  };
}
