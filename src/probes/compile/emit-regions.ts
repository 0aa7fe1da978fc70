/**
 * The program side of a value plan (value-plan.ts): each region's header is written first
 * (skipped), then, if its guards hold (its parent region read with enough bytes, its dynamic
 * type the expected one) and its pointer is not nil, the length is computed (fixed, or a
 * count word clamped to the plan's maximum times the element size) and probe_read_user
 * copies that much target memory into the record. A failed read leaves the helper's errno
 * in the header; the decoder then shows the value as unreadable, never as wrong bytes.
 */
import { R0, R1, R2, R3, R8, R9 } from '../bpf/isa.js';
import { type Emitter, REC } from './emitter.js';
import { REGION, REGION_SKIPPED } from './record-layout.js';
import type { RegionPlan } from './value-plan.js';

/** Emits the reads of `regions` (in plan order) into the record at r7. */
export function emitRegions(e: Emitter, regions: readonly RegionPlan[], typesBase: number): void {
  const a = e.a;
  for (const r of regions) {
    const skip = e.label('skip');
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
    a.mov64(R1, REC).alu64('add', R1, r.off + REGION.bytes);
    a.mov64(R2, R9).mov64(R3, R8);
    a.call('probe_read_user');
    a.stx('w', REC, r.off + REGION.status, R0);
    a.label(skip);
  }
}
