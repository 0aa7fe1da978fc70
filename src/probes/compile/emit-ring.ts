/**
 * Where an event is written: reserved in the hot ring (bpf/hot-ring.ts, an mmap-able array
 * written without helper calls: a compare-and-exchange of its producer position, at most
 * twice under contention), else in the overflow BPF ring buffer (both full: the caller's
 * `full` label); committed by exchanging the record's header with its length, or submitted.
 * A commit that finds the consumer waiting at its record rings the doorbell: an empty record
 * reserved and discarded in the overflow ring, which wakes the consumer's poll.
 */
import { HOT_CONSUMER, HOT_DATA, HOT_HEADER, HOT_PRODUCER, hotRecordBytes } from '../bpf/hot-ring.js';
import { R0, R1, R2, R3, R4, R5, R10 } from '../bpf/isa.js';
import { type Emitter, REC } from './emitter.js';
import type { ProbeMapFds } from './probe-maps.js';

/** The maps events are written to. */
export type RingMaps = Pick<ProbeMapFds, 'ring' | 'overflow' | 'hotBytes'>;

/** The stack slots a reservation leaves for its commit. */
export interface Reservation {
  /** The record's position in the hot ring (u64). */
  readonly pos: number;
  /** 1: in the hot ring; 0: in the overflow ring buffer. */
  readonly inHot: number;
}

/** Points REC at `recordBytes` of record memory, or jumps to `full`. */
export function emitReserve(e: Emitter, maps: RingMaps, recordBytes: number, full: string): Reservation {
  const a = e.a;
  const r = { pos: e.alloc(8), inHot: e.alloc(8) };
  const total = hotRecordBytes(recordBytes);
  const [got, overflow, done] = [e.label('hotgot'), e.label('hotfull'), e.label('reserved')];
  a.ldMapValue(R1, maps.ring, 0);
  for (let attempt = 0; attempt < 2; attempt++) {
    a.ldx('dw', R2, R1, HOT_PRODUCER).ldx('dw', R3, R1, HOT_CONSUMER);
    a.mov64(R4, R2).alu64('sub', R4, R3).alu64('add', R4, total);
    a.jmp('jgt', R4, maps.hotBytes, overflow);
    a.mov64(R0, R2).mov64(R5, R2).alu64('add', R5, total);
    a.atomicCmpxchg(R1, HOT_PRODUCER, R5);
    a.jmp('jeq', R0, R2, got);
  }
  a.label(overflow);
  a.ldMap(R1, maps.overflow).mov64(R2, recordBytes).mov64(R3, 0).call('ringbuf_reserve');
  a.jmp('jeq', R0, 0, full);
  a.mov64(REC, R0).st('dw', R10, r.inHot, 0).ja(done);
  a.label(got);
  a.stx('dw', R10, r.pos, R2);
  // Positions move in multiples of 8; the mask says so to the verifier (the header's exchange must be aligned).
  a.alu64('and', R2, maps.hotBytes - 8);
  a.mov64(REC, R1)
    .alu64('add', REC, R2)
    .alu64('add', REC, HOT_DATA + HOT_HEADER);
  a.st('dw', R10, r.inHot, 1);
  a.label(done);
  return r;
}

/** Commits the record at REC (hot ring) or submits it (overflow ring). */
export function emitCommit(e: Emitter, maps: RingMaps, recordBytes: number, r: Reservation): void {
  const a = e.a;
  const [submit, done] = [e.label('submit'), e.label('committed')];
  a.ldx('dw', R1, R10, r.inHot).jmp('jeq', R1, 0, submit);
  a.mov64(R1, recordBytes).atomicXchg(REC, -HOT_HEADER, R1);
  a.ldMapValue(R1, maps.ring, 0).ldx('dw', R1, R1, HOT_CONSUMER);
  a.ldx('dw', R2, R10, r.pos).jmp('jne', R1, R2, done);
  a.ldMap(R1, maps.overflow).mov64(R2, 8).mov64(R3, 0).call('ringbuf_reserve');
  a.jmp('jeq', R0, 0, done);
  a.mov64(R1, R0).mov64(R2, 0).call('ringbuf_discard').ja(done);
  a.label(submit);
  a.mov64(R1, REC).mov64(R2, 0).call('ringbuf_submit');
  a.label(done);
}
