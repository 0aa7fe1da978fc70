/**
 * The parts of a probe program around its captures: entry times and durations (an LRU hash
 * keyed by goroutine id and the frame's distance from the top of its goroutine stack, which
 * stays the same when Go copies the stack to grow it; a log2 histogram per probe), the rate
 * limit (GCRA, the token bucket's equivalent with one word of state: compare-and-exchange,
 * retried a few times under contention, then counted as limited), and the stack (a bounded
 * frame-pointer walk: Go keeps frame pointers on amd64), deduplicated by hash in a map.
 */
import { R0, R1, R2, R3, R4, R8, R9, R10 } from '../bpf/isa.js';
import { GO_G_REG, PT_REGS } from '../pt-regs.amd64.js';
import type { SiteProgramSpec } from './emit-program.js';
import { CTX, type Emitter } from './emitter.js';
import {
  HISTOGRAM_BUCKETS,
  type ProbeMapFds,
  START_KEY_BYTES,
  START_KEY_PROBE,
  STAT,
  STATS_PER_PROBE,
} from './probe-maps.js';
import { FLAG_DURATION } from './record-layout.js';

/** Where the return addresses start: the caller's frame (entry and RET sites: ret at [sp + delta]) or the function's own (bp). */
export type StackMode = 'caller' | 'own';

const BPF_ANY = 0;
const BPF_NOEXIST = 1;
const CMPXCHG_TRIES = 3;

/** Adds `reg` (or 1) atomically to the per-CPU u64 at `key` (a constant or a register) of `map`. */
function add(e: Emitter, map: { fd: number }, key: number | typeof R8, value: typeof R8 | 1): void {
  const a = e.a;
  const m = e.mark();
  const k = e.alloc(8);
  if (typeof key === 'number') a.st('w', R10, k, key);
  else a.stx('w', R10, k, key);
  a.ldMap(R1, map).mov64(R2, R10).alu64('add', R2, k).call('map_lookup_elem');
  const skip = e.label('add');
  a.jmp('jeq', R0, 0, skip);
  if (value === 1) a.mov64(R1, 1).atomicAdd('dw', R0, 0, R1);
  else a.atomicAdd('dw', R0, 0, value);
  a.label(skip);
  e.release(m);
}

/** Stores the entry time (spec.timestamp) and/or measures the duration since it (spec.duration). */
export function emitDuration(
  e: Emitter,
  spec: SiteProgramSpec,
  maps: ProbeMapFds,
  s: { now: number; dur: number; flags: number },
): void {
  const a = e.a;
  const key = e.alloc(START_KEY_BYTES);
  const hi = e.alloc(8);
  a.st('dw', R10, key, 0).st('dw', R10, hi, 0);
  const readG = (dst: number, off: number) => {
    a.mov64(R1, R10).alu64('add', R1, dst).mov64(R2, 8);
    a.ldx('dw', R3, CTX, PT_REGS[GO_G_REG]).alu64('add', R3, off).call('probe_read_user');
  };
  readG(key, spec.goidOffset);
  readG(hi, spec.stackHiOffset);
  a.ldx('dw', R1, R10, hi)
    .ldx('dw', R2, CTX, PT_REGS.sp)
    .alu64('add', R2, spec.env.frame.spDelta + 8);
  a.alu64('sub', R1, R2)
    .stx('w', R10, key + 8, R1)
    .st('w', R10, key + START_KEY_PROBE, spec.probe);
  if (spec.timestamp) {
    a.ldMap(R1, maps.starts).mov64(R2, R10).alu64('add', R2, key);
    a.mov64(R3, R10).alu64('add', R3, s.now).mov64(R4, BPF_ANY).call('map_update_elem');
  }
  if (!spec.duration) return;
  const [paired, done] = [e.label('paired'), e.label('timed')];
  a.ldMap(R1, maps.starts).mov64(R2, R10).alu64('add', R2, key).call('map_lookup_elem');
  a.jmp('jne', R0, 0, paired);
  add(e, maps.stats, spec.probe * STATS_PER_PROBE + STAT.unpaired, 1);
  a.ja(done);
  a.label(paired);
  a.ldx('dw', R8, R10, s.now).ldx('dw', R1, R0, 0).alu64('sub', R8, R1).stx('dw', R10, s.dur, R8);
  a.ldMap(R1, maps.starts).mov64(R2, R10).alu64('add', R2, key).call('map_delete_elem');
  a.ldx('dw', R1, R10, s.flags).alu64('or', R1, FLAG_DURATION).stx('dw', R10, s.flags, R1);
  emitBitLength(e, R8, R9);
  a.alu64('add', R9, spec.probe * HISTOGRAM_BUCKETS);
  add(e, maps.histogram, R9, 1);
  add(e, maps.stats, spec.probe * STATS_PER_PROBE + STAT.durations, 1);
  a.ldx('dw', R8, R10, s.dur);
  add(e, maps.stats, spec.probe * STATS_PER_PROBE + STAT.durationSumNs, R8);
  a.label(done);
}

/** dst = the number of significant bits of src (0 for 0, 64 for 2^63 and above): the histogram bucket. Uses r1, r2. */
export function emitBitLength(e: Emitter, src: typeof R8, dst: typeof R9): void {
  const a = e.a;
  a.mov64(dst, 0).mov64(R1, src);
  for (const bits of [32, 16, 8, 4, 2, 1]) {
    const next = e.label('bits');
    a.ldImm64(R2, 1n << BigInt(bits));
    a.jmp('jlt', R1, R2, next);
    a.alu64('rsh', R1, bits).alu64('add', dst, bits);
    a.label(next);
  }
  const zero = e.label('zero');
  a.jmp('jeq', R1, 0, zero).alu64('add', dst, 1).label(zero);
}

/**
 * The rate limit: tat = max(tat, now) + interval must stay within burst intervals of now;
 * `onLimited` emits the count and the program's exit.
 */
export function emitRateLimit(
  e: Emitter,
  probe: number,
  rate: { intervalNs: number; burst: number },
  maps: ProbeMapFds,
  now: number,
  onLimited: () => void,
): void {
  const a = e.a;
  const [pass, limited] = [e.label('allowed'), e.label('limited')];
  const k = e.alloc(8);
  a.st('w', R10, k, probe);
  a.ldMap(R1, maps.rate).mov64(R2, R10).alu64('add', R2, k).call('map_lookup_elem');
  a.jmp('jeq', R0, 0, pass).mov64(R9, R0);
  for (let i = 0; i < CMPXCHG_TRIES; i++) {
    const later = e.label('later');
    a.ldx('dw', R8, R9, 0).ldx('dw', R1, R10, now);
    a.mov64(R2, R1).jmp('jge', R1, R8, later).mov64(R2, R8).label(later);
    a.ldImm64(R3, BigInt(rate.intervalNs)).alu64('add', R2, R3);
    a.mov64(R3, R2).alu64('sub', R3, R1);
    a.ldImm64(R4, BigInt(rate.intervalNs) * BigInt(rate.burst)).jmp('jgt', R3, R4, limited);
    a.mov64(R0, R8).atomicCmpxchg(R9, 0, R2).jmp('jeq', R0, R8, pass);
  }
  a.label(limited);
  onLimited();
  a.mov64(R0, 0).exit();
  a.label(pass);
}

/** Walks `frames` return addresses by frame pointer into a stack map; returns the slot holding their hash. */
export function emitStack(
  e: Emitter,
  stack: { frames: number; mode: StackMode },
  spDelta: number,
  maps: ProbeMapFds,
): number {
  const a = e.a;
  const words = Math.max(stack.frames, maps.stackFrames);
  const buf = e.alloc(8 * words);
  const pair = e.alloc(16);
  const hash = e.alloc(8);
  for (let i = 0; i < words; i++) a.st('dw', R10, buf + 8 * i, 0);
  const done = e.label('walked');
  let first = 0;
  if (stack.mode === 'caller') {
    a.mov64(R1, R10).alu64('add', R1, buf).mov64(R2, 8);
    a.ldx('dw', R3, CTX, PT_REGS.sp).alu64('add', R3, spDelta).call('probe_read_user');
    first = 1;
  }
  a.ldx('dw', R8, CTX, PT_REGS.bp);
  for (let i = first; i < stack.frames; i++) {
    a.jmp('jeq', R8, 0, done);
    a.mov64(R1, R10).alu64('add', R1, pair).mov64(R2, 16).mov64(R3, R8).call('probe_read_user');
    a.jmp('jne', R0, 0, done);
    a.ldx('dw', R1, R10, pair + 8).stx('dw', R10, buf + 8 * i, R1);
    a.ldx('dw', R8, R10, pair);
  }
  a.label(done);
  // FNV-1a over the words.
  a.ldImm64(R8, 0xcbf29ce484222325n).ldImm64(R9, 0x100000001b3n);
  for (let i = 0; i < stack.frames; i++)
    a.ldx('dw', R1, R10, buf + 8 * i)
      .alu64('xor', R8, R1)
      .alu64('mul', R8, R9);
  a.stx('dw', R10, hash, R8);
  a.ldMap(R1, maps.stacks).mov64(R2, R10).alu64('add', R2, hash);
  a.mov64(R3, R10).alu64('add', R3, buf).mov64(R4, BPF_NOEXIST).call('map_update_elem');
  return hash;
}
