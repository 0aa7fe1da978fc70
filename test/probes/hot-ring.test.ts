/**
 * The hot ring (bpf/hot-ring.ts) with the reservation and commit probe programs emit
 * (compile/emit-ring.ts), run in the kernel with BPF_PROG_TEST_RUN as socket filters: records
 * of several sizes, which start near the end of the ring and run on into its slack, each read
 * once, whole and in order; a full hot ring sends records to the overflow ring buffer, and
 * both full takes the program's `full` path; the doorbell (an empty record discarded in the
 * overflow ring) only when the consumer waits at the record; a record reserved and never
 * committed stops the reader; and the emitted pattern itself: no helper call on the hot path.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { disassemble } from '../../src/probes/bpf/disassemble.js';
import { HotRingReader, hotRecordBytes, hotRingSpec } from '../../src/probes/bpf/hot-ring.js';
import { R0, R1, R2, R10 } from '../../src/probes/bpf/isa.js';
import { type BpfMap, createMap } from '../../src/probes/bpf/maps.js';
import { loadProgram, PROG_TYPE_SOCKET_FILTER } from '../../src/probes/bpf/program.js';
import { RingBufferReader } from '../../src/probes/bpf/ringbuf.js';
import { addressOf, syscalls } from '../../src/probes/bpf/syscalls.js';
import { emitCommit, emitReserve } from '../../src/probes/compile/emit-ring.js';
import { Emitter, REC } from '../../src/probes/compile/emitter.js';

const HOT = 4096;

/** Runs a socket-filter program `repeat` times (BPF_PROG_TEST_RUN). */
function run(fd: number, repeat = 1): void {
  const sys = syscalls();
  const data = Buffer.alloc(64);
  const attr = Buffer.alloc(168);
  attr.writeUInt32LE(fd, 0);
  attr.writeUInt32LE(data.length, 8);
  attr.writeBigUInt64LE(addressOf(data), 16);
  attr.writeUInt32LE(repeat, 32);
  assert.equal(sys.bpf(10, attr), 0, `BPF_PROG_TEST_RUN: errno ${sys.errno()}`);
}

/**
 * A program that writes one record of `bytes` bytes: the sequence number (u64, counted in word
 * 0 of `words`), then `bytes & 0xff` in every other byte; `full` counted in word 1. With
 * `commit` false the record is reserved and left uncommitted.
 */
function recordProgram(
  maps: { ring: BpfMap; overflow: BpfMap; words: BpfMap },
  bytes: number,
  commit = true,
): { insns: Uint8Array; fd: number; close(): void } {
  const e = new Emitter(0);
  const a = e.a;
  const full = e.label('full');
  const r = emitReserve(e, { ring: maps.ring, overflow: maps.overflow, hotBytes: HOT }, bytes, full);
  a.ldMapValue(R1, maps.words, 0).ldx('dw', R2, R1, 0).alu64('add', R2, 1).stx('dw', R1, 0, R2);
  a.stx('dw', REC, 0, R2);
  for (let i = 8; i < bytes; i++) a.st('b', REC, i, bytes & 0xff);
  // Left uncommitted in the hot ring only: a record of the overflow ring must be submitted.
  const done = e.label('done');
  if (!commit) a.ldx('dw', R1, R10, r.inHot).jmp('jne', R1, 0, done);
  emitCommit(e, { ring: maps.ring, overflow: maps.overflow, hotBytes: HOT }, bytes, r);
  a.label(done).mov64(R0, 0).exit();
  a.label(full);
  a.ldMapValue(R1, maps.words, 0).ldx('dw', R2, R1, 8).alu64('add', R2, 1).stx('dw', R1, 8, R2);
  a.mov64(R0, 0).exit();
  const insns = a.assemble();
  const prog = loadProgram({ name: 'periscope_t_h', insns, type: PROG_TYPE_SOCKET_FILTER });
  return { insns, fd: prog.fd, close: () => prog.close() };
}

/** The maps, readers and programs of one test, closed after `body`. */
function withRing(
  body: (t: {
    hot: HotRingReader;
    overflow: RingBufferReader;
    words: BpfMap;
    program(bytes: number, commit?: boolean): { insns: Uint8Array; fd: number };
  }) => void,
): void {
  const made: { close(): void }[] = [];
  try {
    const ring = createMap(hotRingSpec('periscope_t_hr', HOT));
    made.push(ring);
    const overflow = createMap({
      name: 'periscope_t_ho',
      type: 'ringbuf',
      keySize: 0,
      valueSize: 0,
      maxEntries: 4096,
    });
    made.push(overflow);
    const words = createMap({
      name: 'periscope_t_hw',
      type: 'array',
      keySize: 4,
      valueSize: 16,
      maxEntries: 1,
    });
    made.push(words);
    const hot = new HotRingReader(ring);
    made.push(hot);
    const ov = new RingBufferReader(overflow);
    made.push(ov);
    body({
      hot,
      overflow: ov,
      words,
      program(bytes, commit = true) {
        const p = recordProgram({ ring, overflow, words }, bytes, commit);
        made.push(p);
        return p;
      },
    });
  } finally {
    for (const m of made.reverse()) m.close();
  }
}

/** Checks a record of the program that writes `bytes`: returns its sequence number. */
function check(rec: Uint8Array, bytes: number): number {
  assert.equal(rec.length, bytes);
  const seq = Number(Buffer.from(rec).readBigUInt64LE(0));
  for (let i = 8; i < bytes; i++) assert.equal(rec[i], bytes & 0xff, `byte ${i} of a ${bytes}-byte record`);
  return seq;
}

test('records of several sizes cross the end of the hot ring whole, each read once and in order', () => {
  withRing(({ hot, overflow, program }) => {
    const sizes = [20, 424, 1000, 8, 333];
    const programs = new Map(sizes.map((s) => [s, program(s)]));
    const seen: number[] = [];
    let lengths = 0;
    // Several laps of a 4 KiB ring, draining every few records: starts land all over it.
    for (let i = 0; i < 200; i++) {
      const bytes = sizes[(i * 7) % sizes.length]!;
      run(programs.get(bytes)!.fd);
      lengths += hotRecordBytes(bytes);
      if (i % 3 === 2) hot.poll((r) => seen.push(check(r, r.length)));
    }
    hot.poll((r) => seen.push(check(r, r.length)));
    assert.ok(lengths > 10 * HOT, 'the test went round the ring many times');
    assert.deepEqual(
      seen,
      Array.from({ length: 200 }, (_, i) => i + 1),
    );
    assert.equal(hot.pending(), 0);
    // Only doorbells (discarded, skipped by the reader) went to the overflow ring.
    assert.equal(
      overflow.poll(() => assert.fail('a record in the overflow ring')),
      0,
    );
  });
});

test('a full hot ring sends records to the overflow ring buffer; both full is counted, not lost', () => {
  withRing(({ hot, overflow, words, program }) => {
    const p = program(424);
    const perHot = Math.floor(HOT / hotRecordBytes(424)); // 9
    run(p.fd, 30);
    const inHot: number[] = [];
    const inOverflow: number[] = [];
    hot.poll((r) => inHot.push(check(r, 424)));
    overflow.poll((r) => inOverflow.push(check(r, 424)));
    assert.equal(inHot.length, perHot);
    assert.deepEqual(
      inHot,
      Array.from({ length: perHot }, (_, i) => i + 1),
    );
    // The overflow ring (4 KiB) holds 9 records of 424 bytes and their 8-byte headers, and took the
    // first doorbell; every other run took the full path.
    const full = Number(words.lookup(Buffer.alloc(4))!.readBigUInt64LE(8));
    assert.equal(inHot.length + inOverflow.length + full, 30);
    assert.ok(inOverflow.length > 0 && full > 0, `${inOverflow.length} in the overflow ring, ${full} full`);
    assert.deepEqual(
      inOverflow,
      inOverflow.map((_, i) => perHot + 1 + i),
    );
  });
});

test('the doorbell rings when the consumer waits at the record, not while records wait unread', () => {
  withRing(({ hot, overflow, program }) => {
    const p = program(64);
    run(p.fd);
    assert.ok(
      overflow.pending() > 0,
      'a first record into the empty hot ring discards a record in the overflow ring',
    );
    assert.equal(
      overflow.poll(() => assert.fail('the doorbell is not a record')),
      0,
    );
    assert.equal(overflow.pending(), 0);
    run(p.fd, 3);
    assert.equal(overflow.pending(), 0, 'no doorbell while the consumer has not read the first record');
    assert.equal(
      hot.poll(() => {}),
      4,
    );
    run(p.fd);
    assert.ok(overflow.pending() > 0, 'the consumer caught up: the next record rings again');
  });
});

test('a record reserved and not yet committed stops the reader, and the records after it wait', () => {
  withRing(({ hot, program }) => {
    run(program(64).fd);
    run(program(64, false).fd);
    run(program(64).fd);
    const seen: number[] = [];
    hot.poll((r) => seen.push(check(r, 64)));
    assert.deepEqual(seen, [1]);
    assert.equal(hot.ready(), false);
    assert.equal(hot.pending(), 2 * hotRecordBytes(64));
  });
});

test('the hot path makes no helper call: one compare-and-exchange to reserve, one exchange to commit', () => {
  withRing(({ program }) => {
    const text = disassemble(program(424).insns).join('\n');
    const reserve = text.slice(0, text.indexOf('bpf_ringbuf_reserve'));
    assert.equal(reserve.match(/cmpxchg_64/g)?.length, 2, text); // a second attempt under contention
    assert.match(reserve, /map\[fd:\d+\]\[0\]\+0 ll/);
    assert.match(text, /xchg_64\(r7 -8, r1\)/);
  });
});
