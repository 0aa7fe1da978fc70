/**
 * Between a GoBinary and its entry in the binary disk cache: what it learned, as stored
 * (StoredFacts), and a stored entry as the facts a GoBinary of the same bytes starts from.
 */
import { PERISCOPE_VERSION } from '../common/version.js';
import { LineIndex } from '../dwarf/line-index.js';
import type { NameIndex } from '../dwarf/name-index.js';
import { NameMap } from '../dwarf/name-map.js';
import type { DwarfSections } from '../dwarf/sections.js';
import { type ElfFile, MAX_REMEMBERED_SYMBOLS } from '../elf/elf-file.js';
import type { BinaryFacts } from '../gobinary/binary-facts.js';
import type { GoBinary } from '../gobinary/go-binary.js';
import { seedTypePackages, typePackagesOf } from '../goruntime/expr/index.js';
import {
  frameHostsOf,
  type HostRanges,
  MAX_FRAME_HOST_SETS,
  seedFrameHosts,
} from '../goruntime/goroutines/index.js';
import type { StoredFacts } from './binary-disk-cache.js';
import { inlinedOnlyOf, MAX_INLINED_ONLY, seedInlinedOnly } from './capture-plan.js';
import type { FactsKey } from './facts-file.js';

/** The key of a binary's entry: build ID (or path), file size, mtime and this Periscope's version; undefined when it has no file. */
export function factsKey(elf: ElfFile): FactsKey | undefined {
  const mtimeMs = elf.fileMtimeMs;
  if (mtimeMs === undefined) return undefined;
  return {
    buildId: elf.buildId() ?? `path:${elf.path}`,
    size: elf.fileSize,
    mtimeMs,
    periscope: PERISCOPE_VERSION,
  };
}

/** What `bin` has learned, as stored. */
export function storedFactsOf(bin: GoBinary): StoredFacts {
  const f = bin.facts();
  const idx = f.nameIndex;
  const typePackages = bin.dwarf && typePackagesOf(bin.dwarf);
  return {
    // An index built around malformed units would hide their errors from the next run.
    ...(idx && idx.errors.length === 0
      ? {
          nameIndex: {
            functions: idx.functions.data(),
            types: idx.types.data(),
            pcLow: idx.pcLow,
            pcHigh: idx.pcHigh,
            pcDie: idx.pcDie,
            runtimeTypeValues: idx.runtimeTypeValues,
            runtimeTypeDies: idx.runtimeTypeDies,
            unitCount: idx.unitCount,
            version: idx.version,
          },
        }
      : {}),
    ...(f.lines ? { lines: f.lines } : {}),
    ...(f.runtimeLayout ? { runtimeLayout: f.runtimeLayout } : {}),
    ...(f.waitReasons ? { waitReasons: f.waitReasons } : {}),
    symbols: f.symbols,
    frameHosts: frameHostsOf(bin),
    inlinedOnly: inlinedOnlyOf(bin),
    ...(typePackages ? { typePackages } : {}),
  };
}

/**
 * What to store when `mine` is what this writer learned and `onDisk` what the entry holds
 * (written by another thread or process, from the same bytes): each part of `mine`, else of
 * `onDisk`; of the parts learned a piece at a time (frame hosts by name set, inlined-only
 * answers, symbols looked up) both, `mine` first, within the bounds a GoBinary keeps them in
 * (so an entry grows no larger than one writer's could).
 */
export function mergeStoredFacts(mine: StoredFacts, onDisk: StoredFacts): StoredFacts {
  const nameIndex = mine.nameIndex ?? onDisk.nameIndex;
  const lines = mine.lines ?? onDisk.lines;
  const runtimeLayout = mine.runtimeLayout ?? onDisk.runtimeLayout;
  const waitReasons = mine.waitReasons ?? onDisk.waitReasons;
  const typePackages = mine.typePackages ?? onDisk.typePackages;
  // Frame hosts are kept oldest first and the newest stay (frame-hosts.ts): this writer's last.
  const hosts = new Map<string, HostRanges>();
  for (const e of onDisk.frameHosts ?? [])
    if (Array.isArray(e) && typeof e[0] === 'string' && isHostRanges(e[1])) hosts.set(e[0], e[1]);
  for (const [k] of mine.frameHosts ?? []) hosts.delete(k);
  const frameHosts = [...hosts, ...(mine.frameHosts ?? [])].slice(-MAX_FRAME_HOST_SETS);
  const inlinedOnly = new Map(mine.inlinedOnly ?? []);
  for (const [name, found] of onDisk.inlinedOnly ?? [])
    if (inlinedOnly.size < MAX_INLINED_ONLY && !inlinedOnly.has(name)) inlinedOnly.set(name, found);
  const symbols = new Map(mine.symbols ?? []);
  if (onDisk.symbols instanceof Map)
    for (const [name, sym] of onDisk.symbols)
      if (symbols.size < MAX_REMEMBERED_SYMBOLS && !symbols.has(name)) symbols.set(name, sym);
  return {
    ...(nameIndex ? { nameIndex } : {}),
    ...(lines ? { lines } : {}),
    ...(runtimeLayout ? { runtimeLayout } : {}),
    ...(waitReasons ? { waitReasons } : {}),
    symbols,
    frameHosts,
    inlinedOnly: [...inlinedOnly],
    ...(typePackages ? { typePackages } : {}),
  };
}

/**
 * The merge BinaryDiskCache.store applies for a writer that learned `mine`: the entry on disk
 * checked (a wrong shape throws: it is then replaced), then merged with mergeStoredFacts.
 */
export function mergeWithStored(mine: StoredFacts): (onDisk: unknown) => StoredFacts {
  return (onDisk) => {
    checkStoredFacts(onDisk);
    return mergeStoredFacts(mine, onDisk);
  };
}

/** A short account of what is stored, to tell whether a binary learned something since. */
export function factsSignature(s: StoredFacts): string {
  return [
    s.nameIndex ? 'n' : '',
    s.lines ? 'l' : '',
    s.runtimeLayout ? 'r' : '',
    s.waitReasons ? 'w' : '',
    `s${s.symbols?.size ?? 0}`,
    ...(s.frameHosts ?? []).map(([k]) => k).sort(),
    `i${s.inlinedOnly?.length ?? 0}`,
    s.typePackages ? 't' : '',
  ].join('\u0000');
}

/** The facts a GoBinary starts from, from a stored entry (checked: a wrong shape throws). */
export function factsOfStored(s: StoredFacts): BinaryFacts {
  const idx = s.nameIndex;
  return {
    ...(idx ? { nameIndex: (sections: DwarfSections) => nameIndexOf(idx, sections) } : {}),
    ...(s.lines ? { lines: s.lines } : {}),
    ...(s.runtimeLayout ? { runtimeLayout: s.runtimeLayout } : {}),
    ...(s.waitReasons ? { waitReasons: s.waitReasons } : {}),
    ...(s.symbols instanceof Map ? { symbols: s.symbols } : {}),
  };
}

/** Gives a binary the frame-host ranges, inlined-only answers and type packages stored with it. */
export function seedStoredFrameHosts(bin: GoBinary, s: StoredFacts): void {
  for (const [key, ranges] of s.frameHosts ?? []) if (isHostRanges(ranges)) seedFrameHosts(bin, key, ranges);
  if (s.inlinedOnly) seedInlinedOnly(bin, s.inlinedOnly);
  if (s.typePackages && bin.dwarf) seedTypePackages(bin.dwarf, s.typePackages);
}

/** Checks the shape of a stored entry (its arrays' kinds); throws RangeError when it is not one. */
export function checkStoredFacts(s: unknown): asserts s is StoredFacts {
  const o = s as StoredFacts;
  if (typeof o !== 'object' || o === null) throw new RangeError('not an entry');
  const idx = o.nameIndex;
  if (idx) {
    for (const a of [idx.pcLow, idx.pcHigh, idx.pcDie, idx.runtimeTypeValues, idx.runtimeTypeDies])
      if (!(a instanceof Float64Array)) throw new RangeError('name index arrays');
    if (idx.pcHigh.length !== idx.pcLow.length || idx.pcDie.length !== idx.pcLow.length)
      throw new RangeError('pc table lengths');
    if (!Number.isSafeInteger(idx.unitCount) || !Number.isSafeInteger(idx.version))
      throw new RangeError('unit summary');
  }
  if (idx) {
    const unread = (): never => {
      throw new RangeError('names read while checking');
    };
    NameMap.fromData(idx.functions, unread); // checks the arrays, reads no name
    NameMap.fromData(idx.types, unread);
  }
  if (o.lines) {
    const l = o.lines;
    if (
      !(
        l.programs instanceof Float64Array &&
        l.seqLo instanceof Float64Array &&
        l.seqHi instanceof Float64Array
      )
    )
      throw new RangeError('line index arrays');
    if (!(l.seqProgram instanceof Int32Array)) throw new RangeError('line index arrays');
    LineIndex.fromData(NO_LINES, {}, l); // checks the arrays, reads nothing
  }
  if (o.waitReasons && !o.waitReasons.every((w) => typeof w === 'string'))
    throw new RangeError('wait reasons');
  if (o.frameHosts && !Array.isArray(o.frameHosts)) throw new RangeError('frame hosts');
  if (
    o.inlinedOnly &&
    !(
      Array.isArray(o.inlinedOnly) &&
      o.inlinedOnly.every((e) => Array.isArray(e) && typeof e[0] === 'string' && typeof e[1] === 'boolean')
    )
  )
    throw new RangeError('inlined-only functions');
  if (
    o.typePackages &&
    !(Array.isArray(o.typePackages) && o.typePackages.every((p) => typeof p === 'string'))
  )
    throw new RangeError('type packages');
}

const NO_LINES = { line: new Uint8Array(), lineStr: new Uint8Array(), str: new Uint8Array() };

function nameIndexOf(idx: NonNullable<StoredFacts['nameIndex']>, sections: DwarfSections): NameIndex {
  const bytes = () => ({ info: sections.info, str: sections.str });
  return {
    functions: NameMap.fromData(idx.functions, bytes),
    types: NameMap.fromData(idx.types, bytes),
    pcLow: idx.pcLow,
    pcHigh: idx.pcHigh,
    pcDie: idx.pcDie,
    runtimeTypeValues: idx.runtimeTypeValues,
    runtimeTypeDies: idx.runtimeTypeDies,
    errors: [],
    unitCount: idx.unitCount,
    version: idx.version,
  };
}

function isHostRanges(r: unknown): r is HostRanges {
  const h = r as HostRanges;
  return (
    h?.starts instanceof Float64Array && h.ends instanceof Float64Array && h.starts.length === h.ends.length
  );
}
