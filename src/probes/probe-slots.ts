/**
 * The probe slots of a set's shared maps: a probe's index in the counters, histogram and
 * rate maps and in the keys of entry times. A slot is taken when a probe is added and freed
 * when it is removed (its programs detached: nothing writes there any more), once what its
 * probe left is cleared — counters, histogram, rate state, and entry times, which a new
 * probe's returns would otherwise pair with.
 */
import type { BpfMap } from './bpf/maps.js';
import { HISTOGRAM_BUCKETS, START_KEY_PROBE, STATS_PER_PROBE } from './compile/probe-maps.js';

/** The maps a slot indexes. */
export interface SlotMaps {
  readonly stats: BpfMap;
  readonly histogram: BpfMap;
  readonly rate: BpfMap;
  readonly starts: BpfMap;
}

/** Slots of one probe set. */
export class ProbeSlots {
  private next = 0;
  /** Freed slots, cleared, to be taken again. */
  private readonly freed: number[] = [];

  constructor(private readonly m: SlotMaps) {}

  /** Slots not in use. */
  get left(): number {
    return this.m.stats.maxEntries / STATS_PER_PROBE - this.next + this.freed.length;
  }

  /** A free slot (the caller checked `left`). */
  take(): number {
    return this.freed.shift() ?? this.next++;
  }

  /** Clears what slot `slot`'s probe left in the maps and frees the slot. */
  free(slot: number): void {
    const zero = (map: BpfMap, key: number) => {
      const k = Buffer.from(Uint32Array.of(key).buffer);
      const v = map.lookup(k);
      if (v) map.update(k, v.fill(0));
    };
    for (let s = 0; s < STATS_PER_PROBE; s++) zero(this.m.stats, slot * STATS_PER_PROBE + s);
    for (let b = 0; b < HISTOGRAM_BUCKETS; b++) zero(this.m.histogram, slot * HISTOGRAM_BUCKETS + b);
    zero(this.m.rate, slot);
    for (const k of this.m.starts.keys())
      if (k.readUInt32LE(START_KEY_PROBE) === slot) this.m.starts.delete(k);
    this.freed.push(slot);
  }
}
