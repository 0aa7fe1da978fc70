/**
 * pprof labels of a goroutine (g.labels), copied during the pause and decoded after it.
 * g.labels points at a runtime/pprof labelMap: since Go 1.24 a struct holding a sorted
 * list of {key, value string}; before, a map[string]string (a pointer to a classic hmap).
 * The map form is walked here with a minimal hmap reader for map[string]string (buckets of
 * 8 slots: tophash[8], keys[8], values[8], overflow pointer), old buckets included while
 * the map grows; the general map decoders (../values/maps.classic.ts / ../values/maps.swiss.ts) were not there
 * when this was written.
 */
import { type Address, addr } from '../../common/address.js';
import { decodeUtf8 } from '../../common/bytes.js';
import type { MapLayout, RuntimeLayout, StructLayout } from '../../gobinary/runtime-layout.js';
import type { CopiedMemory } from '../../proc/copied-memory.js';
import { u64At } from '../../proc/copied-memory.js';
import type { Memory } from '../../proc/memory.js';
import type { MemRange } from '../../proc/vm-reader.js';

/** At most this many labels per goroutine are read. */
export const MAX_LABELS = 64;
/** Longer label keys and values are cut to this many bytes. */
export const MAX_LABEL_BYTES = 4096;
/** At most this many bytes of label data are copied in one pause (label sets are shared and small). */
export const MAX_LABEL_COPY_BYTES = 1 << 20;

const STRING = 16;
const SLOTS = 8;
/** tophash values below this mark empty or evacuated slots (runtime.minTopHash). */
const MIN_TOP_HASH = 5;
/** Map buckets copied during the pause only for maps this small (1 << B buckets). */
const MAX_COPIED_B = 4;
/** Label maps with more than 2^this buckets are not label maps (pprof label sets are small). */
const MAX_WALKED_B = 8;
/** Overflow buckets followed per bucket chain. */
const MAX_OVERFLOW = 16;
const BUCKET = SLOTS + SLOTS * STRING * 2 + 8;

interface BatchReader {
  readBatch(ranges: readonly MemRange[]): (Uint8Array | undefined)[];
}

/** Copies the label sets at `ptrs` (values of g.labels) into `out`, in a few batched reads. */
export function captureLabels(
  layout: RuntimeLayout,
  mem: BatchReader,
  ptrs: number[],
  out: CopiedMemory,
): void {
  const l = layout.labels;
  const strings: MemRange[] = [];
  const copy = (ranges: MemRange[]): (Uint8Array | undefined)[] => {
    const got = mem.readBatch(ranges);
    for (let i = 0; i < ranges.length; i++) if (got[i]) out.add(ranges[i]!.address, got[i]!);
    return got;
  };
  let budget = MAX_LABEL_COPY_BYTES;
  const addString = (b: Uint8Array, off: number) => {
    const p = u64At(b, off);
    const n = Math.min(u64At(b, off + 8), MAX_LABEL_BYTES);
    if (p !== 0 && n > 0 && n <= budget) {
      strings.push({ address: addr(p), size: n });
      budget -= n;
    }
  };
  if (l.kind === 'list') {
    const heads = copy(ptrs.map((p) => ({ address: addr(p), size: l.listOffset + 24 })));
    const lists: MemRange[] = [];
    for (const h of heads) {
      if (!h) continue;
      const n = Math.min(u64At(h, l.listOffset + 8), MAX_LABELS);
      if (n > 0 && n * l.elemSize <= budget) {
        lists.push({ address: addr(u64At(h, l.listOffset)), size: n * l.elemSize });
        budget -= n * l.elemSize;
      }
    }
    for (const b of copy(lists)) {
      if (!b) continue;
      for (let off = 0; off + l.elemSize <= b.length; off += l.elemSize) {
        addString(b, off + l.keyOffset);
        addString(b, off + l.valueOffset);
      }
    }
  } else if (l.kind === 'map' && layout.maps.kind === 'classic') {
    const hmap = layout.maps.hmap;
    const f = hmapFields(hmap);
    const words = copy(ptrs.map((p) => ({ address: addr(p), size: 8 })));
    const hs = words.flatMap((w) => (w && u64At(w, 0) !== 0 ? [u64At(w, 0)] : []));
    const buckets: MemRange[] = [];
    for (const h of copy(hs.map((p) => ({ address: addr(p), size: hmap.size })))) {
      if (!h) continue;
      const b = h[f.B]!;
      if (b > MAX_COPIED_B || (1 << b) * BUCKET * 2 > budget) continue;
      budget -= (1 << b) * BUCKET * 2;
      const bk = u64At(h, f.buckets);
      const old = u64At(h, f.oldbuckets);
      if (bk !== 0) buckets.push({ address: addr(bk), size: (1 << b) * BUCKET });
      if (old !== 0 && b > 0) buckets.push({ address: addr(old), size: (1 << (b - 1)) * BUCKET });
    }
    for (const b of copy(buckets)) {
      if (!b) continue;
      for (let base = 0; base + BUCKET <= b.length; base += BUCKET) {
        for (let s = 0; s < SLOTS; s++) {
          if (b[base + s]! < MIN_TOP_HASH) continue;
          addString(b, base + SLOTS + s * STRING);
          addString(b, base + SLOTS + SLOTS * STRING + s * STRING);
        }
      }
    }
  }
  if (strings.length > 0) copy(strings);
}

/**
 * The labels at g.labels = `ptr`, as [key, value] pairs (sorted by key, as pprof keeps them).
 * Reads through `mem` (throws MemoryError when something was neither copied nor readable).
 */
export function decodeLabels(layout: RuntimeLayout, mem: Memory, ptr: Address): [string, string][] {
  const l = layout.labels;
  if (ptr === 0 || l.kind === 'absent') return [];
  const out: [string, string][] = [];
  if (l.kind === 'list') {
    const h = mem.read(ptr, l.listOffset + 24);
    const data = u64At(h, l.listOffset);
    const n = Math.min(u64At(h, l.listOffset + 8), MAX_LABELS);
    if (n === 0) return [];
    const b = mem.read(addr(data), n * l.elemSize);
    for (let i = 0; i < n; i++) {
      const off = i * l.elemSize;
      out.push([readString(mem, b, off + l.keyOffset), readString(mem, b, off + l.valueOffset)]);
    }
    return out;
  }
  const hp = u64At(mem.read(ptr, 8), 0);
  if (hp === 0) return [];
  walkClassicStringMap(layout.maps, mem, addr(hp), out);
  out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return out;
}

/** Reads every entry of a classic map[string]string (new and not-yet-evacuated old buckets). */
function walkClassicStringMap(maps: MapLayout, mem: Memory, hp: Address, out: [string, string][]): void {
  if (maps.kind !== 'classic') return;
  const f = hmapFields(maps.hmap);
  const h = mem.read(hp, maps.hmap.size);
  const B = h[f.B]!;
  if (B > MAX_WALKED_B) throw new RangeError(`map has 2^${B} buckets; not a label map`);
  const seen = new Set<string>();
  const walk = (bucketsAt: number, nb: number) => {
    for (let i = 0; i < nb && out.length < MAX_LABELS; i++) {
      let bp = bucketsAt + i * BUCKET;
      for (let chain = 0; bp !== 0 && chain <= MAX_OVERFLOW; chain++) {
        const b = mem.read(addr(bp), BUCKET);
        for (let s = 0; s < SLOTS && out.length < MAX_LABELS; s++) {
          if (b[s]! < MIN_TOP_HASH) continue;
          const key = readString(mem, b, SLOTS + s * STRING);
          if (seen.has(key)) continue;
          seen.add(key);
          out.push([key, readString(mem, b, SLOTS + SLOTS * STRING + s * STRING)]);
        }
        bp = u64At(b, BUCKET - 8);
      }
    }
  };
  const buckets = u64At(h, f.buckets);
  const old = u64At(h, f.oldbuckets);
  if (buckets !== 0) walk(buckets, 1 << B);
  if (old !== 0 && B > 0) walk(old, 1 << (B - 1));
}

function hmapFields(hmap: StructLayout): { B: number; buckets: number; oldbuckets: number } {
  const at = (n: string) => {
    const x = hmap.fields.find((fl) => fl.name === n);
    if (!x) throw new RangeError(`runtime.hmap has no field ${n}`);
    return x.offset;
  };
  return { B: at('B'), buckets: at('buckets'), oldbuckets: at('oldbuckets') };
}

/** The Go string whose header is at offset `off` of `b` (cut to MAX_LABEL_BYTES). */
function readString(mem: Memory, b: Uint8Array, off: number): string {
  const p = u64At(b, off);
  const n = Math.min(u64At(b, off + 8), MAX_LABEL_BYTES);
  if (n === 0) return '';
  return decodeUtf8(mem.read(addr(p), n));
}
