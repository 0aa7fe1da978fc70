/**
 * Test support shared by the copy helper's tests: ranges over a live target's mappings, a
 * readInto of them, and the comparison of two such reads.
 */
import assert from 'node:assert/strict';
import type { Mapping } from '../../src/proc/maps.js';
import type { ReadStats, VmReader } from '../../src/proc/vm-reader.js';
import { prng } from '../../support/prng.js';

export const JOIN_GAP = 4096;

/** Ranges to read: addresses[i], sizes[i], in ascending address order. */
export interface Ranges {
  readonly addresses: Float64Array;
  readonly sizes: Float64Array;
}

/**
 * Ranges in ascending address order over the target's readable mappings, with ones that run
 * into unmapped memory; sizes up to `maxSize` bytes, mostly small.
 */
export function ascendingRanges(maps: Mapping[], n: number, seed: number, maxSize = 8192): Ranges {
  const rand = prng(seed);
  const sorted = [...maps].sort((a, b) => a.start - b.start);
  const regions = sorted.filter(
    (m) => m.perms[0] === 'r' && !/^\[(vvar|vsyscall|vvar_vclock)\]$/.test(m.path),
  );
  const list: [number, number][] = [[0x1000, 16]]; // unmapped
  for (let i = 0; i < n; i++) {
    const m = regions[Math.floor(rand() * regions.length)]!;
    const span = m.end - m.start;
    const size = Math.min(span, 1 + Math.floor(rand() ** 3 * maxSize));
    if (rand() < 0.05) {
      // Across the end of the mapping (unreadable when nothing is mapped right after it),
      // and a range just past the end: joined with the one before over an unmapped gap.
      list.push([m.end - 100, 200]);
      list.push([m.end + 64, 32]);
      continue;
    }
    list.push([m.start + Math.floor(rand() * (span - size + 1)), size]);
  }
  list.sort((a, b) => a[0] - b[0]);
  return { addresses: Float64Array.from(list, (r) => r[0]), sizes: Float64Array.from(list, (r) => r[1]) };
}

/** One readInto of some ranges: the bytes (unreadable ranges blanked), the flags, the reader's counters after it. */
export interface Read {
  dest: Buffer;
  ok: Uint8Array;
  bad: number;
  stats: ReadStats;
}

/** Reads `r` with readInto (from offset 8 of a fresh buffer, neighbours joined over JOIN_GAP). */
export function readAll(reader: VmReader, r: Ranges): Read {
  const total = r.sizes.reduce((a, b) => a + b, 0);
  const dest = Buffer.alloc(total + 8);
  const ok = new Uint8Array(r.addresses.length);
  const bad = reader.readInto(r.addresses, r.sizes, r.addresses.length, dest, 8, ok, JOIN_GAP);
  // An unreadable range may hold part of its bytes (the copy stopped inside it): blank it.
  let off = 8;
  for (let i = 0; i < ok.length; i++) {
    if (!ok[i]) dest.fill(0, off, off + r.sizes[i]!);
    off += r.sizes[i]!;
  }
  return { dest, ok, bad, stats: reader.stats() };
}

/** Asserts two reads of the same ranges (each by a fresh reader) agree in bytes, flags and counts. */
export function assertSame(got: Read, want: Read, what: string): void {
  assert.deepEqual(got.ok, want.ok, `${what}: ok flags`);
  assert.equal(got.bad, want.bad, `${what}: unreadable count`);
  assert.ok(got.dest.equals(want.dest), `${what}: bytes`);
  assert.equal(got.stats.bytesRead, want.stats.bytesRead, `${what}: bytesRead`);
  assert.equal(got.stats.unreadable, want.stats.unreadable, `${what}: unreadable`);
  assert.equal(got.stats.ranges, want.stats.ranges, `${what}: ranges`);
}
