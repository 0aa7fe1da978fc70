/**
 * Which goroutines can have a frame of a given function, decided from copied stack bytes
 * without unwinding: a frame of F on a stack means a pc inside a function that hosts F (F
 * itself, or a function F was inlined into) — the goroutine's start pc, or a return address
 * on its stack. Used during a pause to find the goroutines whose values a spec captures, so
 * that only those are unwound before the process runs again.
 */
import { addr, type LinkAddress, type LoadBias, linkAddr } from '../../common/address.js';
import { wordScanner } from '../../common/word-scan.js';
import type { GoBinary } from '../../gobinary/go-binary.js';
import { FUNCDATA_INL_TREE, PCDATA_INL_TREE_INDEX } from '../../gobinary/pclntab-func.js';

/** Link-time pc ranges [start, end] (end inclusive: a return address may equal a function's end), sorted. */
export interface HostRanges {
  readonly starts: Float64Array;
  readonly ends: Float64Array;
}

/** Inline trees read per binary are bounded, so a corrupt index cannot make us read without end. */
const MAX_INLINE_ENTRIES = 1 << 16;

/**
 * Host ranges per binary (as long as it lives) and set of names (the spec's functions): a
 * few sets per binary, the oldest dropped, so that a long-lived agent whose spec changes
 * does not keep every earlier version's.
 */
const cache = new WeakMap<GoBinary, Map<string, HostRanges>>();
export const MAX_FRAME_HOST_SETS = 8;

/**
 * The pc ranges of every function that hosts a frame whose name, passed through `normalize`,
 * is in `names`: the functions themselves and those they were inlined into. Walks every
 * function's inline tree once per binary and name set (cached; call it outside a pause).
 */
export function frameHostRanges(
  bin: GoBinary,
  names: ReadonlySet<string>,
  normalize: (name: string) => string,
): HostRanges {
  const key = [...names].sort().join('\n');
  let perBin = cache.get(bin);
  if (!perBin) {
    perBin = new Map();
    cache.set(bin, perBin);
  }
  const hit = perBin.get(key);
  if (hit) return hit;
  const pcln = bin.symtab.pcln;
  const inline = bin.symtab.inline;
  const byNameOff = new Map<number, boolean>();
  const wanted = (nameOff: number): boolean => {
    let w = byNameOff.get(nameOff);
    if (w === undefined) {
      w = names.has(normalize(pcln.funcName(nameOff)));
      byNameOff.set(nameOff, w);
    }
    return w;
  };
  const starts: number[] = [];
  const ends: number[] = [];
  // Fields are read from each record in place: decoding 300,000 records into objects made
  // this scan the largest source of garbage of a prepare.
  const base = bin.symtab.funcdataBase;
  for (let i = 0; i < pcln.nfunc; i++) {
    let hosts = names.has(normalize(pcln.funcName(pcln.nameOffAt(i))));
    const tree = hosts || base === undefined ? undefined : pcln.funcdataOf(i, FUNCDATA_INL_TREE);
    if (tree !== undefined) {
      const max = pcln.maxPcdataValue(i, PCDATA_INL_TREE_INDEX);
      for (let ix = 0; ix <= Math.min(max, MAX_INLINE_ENTRIES) && !hosts; ix++) {
        try {
          hosts = wanted(inline.inlinedNameOff(tree, ix));
        } catch {
          hosts = true; // an inline tree we cannot read: keep the function, to be safe
        }
      }
    }
    if (hosts) {
      starts.push(pcln.entryOf(i));
      ends.push(pcln.endOf(i));
    }
  }
  // pclntab lists functions in address order, so the ranges are sorted already.
  const out = { starts: Float64Array.from(starts), ends: Float64Array.from(ends) };
  perBin.set(key, out);
  if (perBin.size > MAX_FRAME_HOST_SETS) perBin.delete(perBin.keys().next().value as string);
  return out;
}

/** The host ranges computed for a binary so far, by name set (a key frameHostRanges made), to store. */
export function frameHostsOf(bin: GoBinary): [string, HostRanges][] {
  return [...(cache.get(bin) ?? [])];
}

/**
 * Host ranges computed earlier for a binary with the same bytes (stored by frameHostsOf):
 * frameHostRanges then answers that name set without walking the inline trees.
 */
export function seedFrameHosts(bin: GoBinary, key: string, ranges: HostRanges): void {
  let perBin = cache.get(bin);
  if (!perBin) {
    perBin = new Map();
    cache.set(bin, perBin);
  }
  if (perBin.size < MAX_FRAME_HOST_SETS) perBin.set(key, ranges);
}

/** Whether link-time pc `pc` lies in one of the ranges (binary search). */
export function inHost(ranges: HostRanges, pc: LinkAddress): boolean {
  const { starts, ends } = ranges;
  let lo = 0;
  let hi = starts.length - 1;
  if (hi < 0 || pc < starts[0]! || pc > ends[hi]!) return false;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (starts[mid]! <= pc) lo = mid;
    else hi = mid - 1;
  }
  return pc <= ends[lo]!;
}

const TWO32 = 0x1_0000_0000;

/** Whether every stack's size is a multiple of 8 (so one pass over them all sees each one's words). */
function eightByteSizes(sizes: Float64Array): boolean {
  for (let j = 0; j < sizes.length; j++) if (sizes[j]! % 8 !== 0) return false;
  return true;
}

/** The little-endian 8-byte word at `at` (below 2^53: a pc). */
function wordAt(buf: Uint8Array, at: number): number {
  const low = (buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16) | (buf[at + 3]! << 24)) >>> 0;
  const high = (buf[at + 4]! | (buf[at + 5]! << 8) | (buf[at + 6]! << 16) | (buf[at + 7]! << 24)) >>> 0;
  return high * TWO32 + low;
}

/** The copied stacks of a capture, back to back (see GoroutineCapture.packedStacks). */
export interface PackedStacks {
  readonly buf: Uint8Array;
  readonly sizes: Float64Array;
  readonly ok: Uint8Array;
  /** Index (into the capture's g list) of the goroutine each stack belongs to. */
  readonly owner: Int32Array;
}

/**
 * Marks the goroutines that may have a frame in `ranges`: a start pc, or any word of the
 * copied stack, inside a host function (`bias` is the executable's load bias). Never misses
 * one (every frame above the innermost is a return address on the stack); may include some
 * that have none (a stale word that looks like a pc), which only costs an unwind.
 */
export function mayHaveFrames(
  startPc: Float64Array,
  stacks: PackedStacks,
  count: number,
  ranges: HostRanges,
  bias: LoadBias,
): Uint8Array {
  const mask = new Uint8Array(count);
  const last = ranges.starts.length - 1;
  if (last < 0) return mask;
  const lo = bias.toRuntime(linkAddr(ranges.starts[0]!));
  const hi = bias.toRuntime(linkAddr(ranges.ends[last]!));
  for (let i = 0; i < count; i++) {
    const pc = startPc[i]!;
    if (pc >= lo && pc <= hi && inHost(ranges, bias.toLink(addr(pc)))) mask[i] = 1;
  }
  const { buf, sizes, ok, owner } = stacks;
  const scan = wordScanner(buf);
  if (scan && eightByteSizes(sizes)) {
    // Copied into memory the SIMD loop reads: one pass over all the stacks back to back for
    // a word in [lo, hi] (10,000 calls, one per stack, cost more than the scan itself); a
    // word found is then looked up in the ranges (between two hosts it is not one), and the
    // pass goes on past its stack when it marks it, or past the word when not. Every stack
    // starts 8-aligned (its size a multiple of 8, as sp is), so the pass's words are theirs.
    const total = buf.byteLength;
    let j = 0;
    let stackEnd = owner.length > 0 ? sizes[0]! : 0;
    for (let at = scan(0, total, lo, hi); at >= 0; ) {
      while (j < owner.length && at >= stackEnd) {
        j++;
        stackEnd += j < owner.length ? sizes[j]! : 0;
      }
      if (j >= owner.length) break;
      const i = owner[j]!;
      if (!ok[j] || mask[i]) at = scan(stackEnd, total, lo, hi);
      else if (inHost(ranges, bias.toLink(addr(wordAt(buf, at))))) {
        mask[i] = 1;
        at = scan(stackEnd, total, lo, hi);
      } else at = scan(at + 8, total, lo, hi);
    }
    return mask;
  }
  // Words are compared as two u32 halves: when every host lies in one 4 GiB window (the
  // usual case), a word whose high half differs is rejected with one integer compare.
  const hiWord = Math.floor(lo / TWO32);
  const oneWindow = Math.floor(hi / TWO32) === hiWord && buf.byteOffset % 4 === 0;
  const loLow = lo - hiWord * TWO32;
  const hiLow = hi - hiWord * TWO32;
  const words = oneWindow ? new Uint32Array(buf.buffer, buf.byteOffset, buf.byteLength >> 2) : undefined;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  for (let j = 0; j < owner.length; j++) {
    const size = sizes[j]!;
    const i = owner[j]!;
    if (ok[j] && !mask[i]) {
      if (words && off % 4 === 0) {
        for (let k = off >> 2, end = (off + size) >> 2; k + 1 < end; k += 2) {
          if (words[k + 1] !== hiWord) continue;
          const low = words[k]!;
          if (low >= loLow && low <= hiLow && inHost(ranges, bias.toLink(addr(hiWord * TWO32 + low)))) {
            mask[i] = 1;
            break;
          }
        }
      } else {
        for (let at = off; at + 8 <= off + size; at += 8) {
          const v = view.getUint32(at + 4, true) * TWO32 + view.getUint32(at, true);
          if (v >= lo && v <= hi && inHost(ranges, bias.toLink(addr(v)))) {
            mask[i] = 1;
            break;
          }
        }
      }
    }
    off += size;
  }
  return mask;
}
