/**
 * The program side of a value plan (value-plan.ts): each region's header is written first
 * (skipped), then, if its guards hold (its parent region read with enough bytes, its dynamic
 * type the expected one) and its pointer is not nil, the length is computed (fixed, or a
 * count word clamped to the plan's maximum times the element size) and probe_read_user
 * copies that much target memory into the record. A failed read leaves the helper's errno
 * in the header; the decoder then shows the value as unreadable, never as wrong bytes.
 * A region no other region reads from (a leaf: string bytes, slice elements, a pointee
 * without pointers followed) that lies wholly in the binary's read-only data (a string
 * literal) is not copied: its header says REGION_IN_FILE and the decoder takes the same
 * bytes from the file, which saves the read (~23 ns a region, bench/probe-profile.ts).
 */
import { PF_W, PF_X, PT_LOAD } from '../../elf/elf-constants.js';
import type { ElfFile } from '../../elf/elf-file.js';
import { R0, R1, R2, R3, R8, R9 } from '../bpf/isa.js';
import { type Emitter, REC } from './emitter.js';
import { REGION, REGION_IN_FILE, REGION_SKIPPED } from './record-layout.js';
import type { RegionPlan } from './value-plan.js';

/** A link-time address range [lo, hi). */
export interface LinkRange {
  readonly lo: number;
  readonly hi: number;
}

/**
 * The binary's read-only data: file-backed bytes of its segments that are neither writable
 * nor executable (the kernel writes breakpoints into code pages, never into these).
 */
export function readOnlyData(elf: ElfFile): LinkRange[] {
  return elf.segments
    .filter((s) => s.type === PT_LOAD && (s.flags & (PF_W | PF_X)) === 0 && s.filesz > 0)
    .map((s) => ({ lo: Number(s.vaddr), hi: Number(s.vaddr) + s.filesz }));
}

/** Whether no other region of `regions` reads its pointer, count, type word or guard from `r`. */
function isLeaf(r: RegionPlan, regions: readonly RegionPlan[]): boolean {
  const inside = (word: number | undefined) =>
    word !== undefined && word >= r.off + REGION.bytes && word < r.off + REGION.bytes + r.max;
  return !regions.some(
    (o) =>
      o !== r &&
      (o.after?.region === r.off ||
        o.type?.wordRegion === r.off ||
        inside(o.ptrWord) ||
        inside(o.type?.word) ||
        ('countWord' in o.length && inside(o.length.countWord))),
  );
}

/** Emits the reads of `regions` (in plan order) into the record at r7; leaves in `readOnly` (link-time) are not copied. */
export function emitRegions(
  e: Emitter,
  regions: readonly RegionPlan[],
  typesBase: number,
  readOnly: readonly LinkRange[] = [],
): void {
  const a = e.a;
  for (const r of regions) {
    const skip = e.label('skip');
    const read = e.label('read');
    a.st('dw', REC, r.off + REGION.address, 0);
    a.st('w', REC, r.off + REGION.length, 0);
    a.st('w', REC, r.off + REGION.status, REGION_SKIPPED);
    if (r.after) {
      a.ldx('w', R1, REC, r.after.region + REGION.status).jmp('jne', R1, 0, skip);
      a.ldx('w', R1, REC, r.after.region + REGION.length).jmp('jlt', R1, r.after.minLength, skip);
    }
    const g = r.type;
    if (g) {
      if (g.wordRegion !== undefined)
        a.ldx('w', R1, REC, g.wordRegion + REGION.status).jmp('jne', R1, 0, skip);
      a.ldx('dw', R1, REC, g.word);
      if (g.is !== undefined) {
        a.ldImm64(R2, BigInt(typesBase + e.bias + g.is));
        a.jmp('jne', R1, R2, skip);
      } else {
        a.jmp('jeq', R1, 0, skip);
        for (const d of g.isNot ?? []) {
          a.ldImm64(R2, BigInt(typesBase + e.bias + d));
          a.jmp('jeq', R1, R2, skip);
        }
      }
    }
    a.ldx('dw', R8, REC, r.ptrWord);
    a.jmp('jeq', R8, 0, skip);
    if (r.add !== 0) a.alu64('add', R8, r.add);
    const len = r.length;
    if ('fixed' in len) a.mov64(R9, len.fixed);
    else {
      const clamped = e.label('clamped');
      a.ldx('dw', R9, REC, len.countWord);
      a.jmp('jle', R9, len.maxCount, clamped);
      a.mov64(R9, len.maxCount);
      a.label(clamped);
      if (len.elemSize !== 1) a.alu64('mul', R9, len.elemSize);
    }
    a.stx('dw', REC, r.off + REGION.address, R8);
    a.stx('w', REC, r.off + REGION.length, R9);
    if (readOnly.length > 0 && isLeaf(r, regions)) {
      a.mov64(R1, R8).alu64('add', R1, R9);
      for (const [i, ro] of readOnly.entries()) {
        const next = i + 1 < readOnly.length ? e.label('ro') : read;
        a.ldImm64(R2, BigInt(ro.lo + e.bias)).jmp('jlt', R8, R2, next);
        a.ldImm64(R2, BigInt(ro.hi + e.bias)).jmp('jgt', R1, R2, next);
        a.st('w', REC, r.off + REGION.status, REGION_IN_FILE).ja(skip);
        if (next !== read) a.label(next);
      }
    }
    a.label(read);
    a.mov64(R1, REC).alu64('add', R1, r.off + REGION.bytes);
    a.mov64(R2, R9).mov64(R3, R8);
    a.call('probe_read_user');
    a.stx('w', REC, r.off + REGION.status, R0);
    a.label(skip);
  }
}
