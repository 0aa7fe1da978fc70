/**
 * The eBPF foundation against the real kernel: the assembler's encodings, the disassembler,
 * programs the verifier accepts and one it refuses (with its log), every map kind from user
 * space, and the ring buffer consumer fed by a program run with BPF_PROG_TEST_RUN (many
 * records of varying sizes, wrapping the ring several times, discarded records skipped).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Assembler } from '../../src/probes/bpf/assembler.js';
import { BpfError } from '../../src/probes/bpf/bpf-error.js';
import { disassemble } from '../../src/probes/bpf/disassemble.js';
import { R0, R1, R2, R3, R6, R7, R10 } from '../../src/probes/bpf/isa.js';
import { type BpfMap, createMap, possibleCpus } from '../../src/probes/bpf/maps.js';
import { loadProgram, PROG_TYPE_SOCKET_FILTER } from '../../src/probes/bpf/program.js';
import { RingBufferReader } from '../../src/probes/bpf/ringbuf.js';
import { addressOf, syscalls } from '../../src/probes/bpf/syscalls.js';
import { counterProgram, emptyProgram, eventProgram } from '../../src/probes/event-program.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('the assembler encodes instructions as the ISA defines them', () => {
  assert.equal(hex(new Assembler().mov64(R0, 0).exit().assemble()), 'b700000000000000' + '9500000000000000');
  assert.equal(hex(new Assembler().ldx('dw', R2, R6, 80).assemble()), '7962500000000000');
  assert.equal(hex(new Assembler().stx('w', R10, -4, R1).assemble()), '631afcff00000000');
  assert.equal(hex(new Assembler().st('dw', R7, 8, -1).assemble()), '7a070800ffffffff');
  assert.equal(hex(new Assembler().alu64('add', R1, R2).assemble()), '0f21000000000000');
  assert.equal(hex(new Assembler().alu32('xor', R3, 7).assemble()), 'a403000007000000');
  assert.equal(hex(new Assembler().call('ringbuf_reserve').assemble()), '8500000083000000');
  assert.equal(hex(new Assembler().atomicAdd('dw', R0, 0, R1).assemble()), 'db10000000000000');
  assert.equal(
    hex(new Assembler().ldImm64(R1, 0x1122334455667788n).assemble()),
    '1801000088776655' + '0000000044332211',
  );
  assert.equal(hex(new Assembler().ldMap(R1, { fd: 7 }).assemble()), '1811000007000000' + '0000000000000000');
  // Labels: forward and backward offsets count from the next instruction.
  const a = new Assembler().label('top').jmp('jeq', R0, 0, 'end').ja('top').label('end').exit();
  assert.deepEqual(disassemble(a.assemble()), ['0: if r0 == 0x0 goto pc+1', '1: goto pc-2', '2: exit']);
  assert.throws(() => new Assembler().ja('nowhere').assemble(), /undefined label 'nowhere'/);
  assert.throws(() => new Assembler().mov64(R10, 0), /read-only frame pointer/);
  assert.throws(() => new Assembler().ldx('w', R1, R2, 1 << 16), /16-bit/);
});

test('the disassembler reads our programs in the verifier log syntax', () => {
  const ring = { fd: 9 } as BpfMap;
  const lines = disassemble(eventProgram(ring, 160, { kind: 'constant', id: 3 }, { regs: ['ax'] }));
  assert.equal(lines[0], '0: r6 = r1');
  assert.equal(lines[1], '1: r1 = map[fd:9] ll');
  assert.ok(lines.includes('5: call bpf_ringbuf_reserve#131'), lines.join('\n'));
  assert.ok(
    lines.some((l) => l.endsWith('r3 = *(u64 *)(r6 +8)')),
    'g from r14',
  );
  assert.ok(
    lines.some((l) => l.endsWith('r3 += 160')),
    'goid offset',
  );
  assert.ok(
    lines.some((l) => l.endsWith('r1 = *(u64 *)(r6 +80)')),
    'ax',
  );
  assert.equal(lines.at(-1)?.endsWith('exit'), true);
});

test('the verifier accepts the probe programs and refuses a broken one with its log', () => {
  const ring = createMap({
    name: 'periscope_t_rb',
    type: 'ringbuf',
    keySize: 0,
    valueSize: 0,
    maxEntries: 1 << 16,
  });
  const counters = createMap({
    name: 'periscope_t_ct',
    type: 'percpuArray',
    keySize: 4,
    valueSize: 8,
    maxEntries: 4,
  });
  try {
    for (const [name, insns] of [
      ['periscope_empty', emptyProgram()],
      ['periscope_count', counterProgram(counters, { kind: 'constant', id: 1 })],
      ['periscope_event', eventProgram(ring, 160, { kind: 'constant', id: 0 }, { regs: ['ax', 'bx'] })],
    ] as const)
      loadProgram({ name, insns }).close();
    for (const [name, insns] of [
      ['periscope_ctm', counterProgram(counters, { kind: 'cookie' })],
      ['periscope_evm', eventProgram(ring, 160, { kind: 'cookie' }, { regs: ['ax'] })],
    ] as const)
      loadProgram({ name, insns, expectedAttachType: 48 }).close();
    const bad = new Assembler().mov64(R1, 5).exit().assemble(); // r0 never set
    assert.throws(
      () => loadProgram({ name: 'periscope_bad', insns: bad }),
      (e: unknown) =>
        e instanceof BpfError &&
        /refused by the kernel verifier/.test(e.message) &&
        /R0 !read_ok/.test(e.message) &&
        e.listing === '0: r1 = 5\n1: exit',
    );
    assert.throws(
      () => loadProgram({ name: 'not a valid name!', insns: emptyProgram() }),
      /must be 1-15 characters/,
    );
  } finally {
    ring.close();
    counters.close();
  }
});

test('maps: array, hash, LRU hash and per-CPU array from user space', () => {
  const key = (n: number): Buffer => Buffer.from(Uint32Array.of(n).buffer);
  const u64 = (n: bigint): Buffer => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(n);
    return b;
  };
  for (const type of ['array', 'hash', 'lruHash'] as const) {
    const m = createMap({
      name: `periscope_t${type.slice(0, 3)}`,
      type,
      keySize: 4,
      valueSize: 8,
      maxEntries: 8,
    });
    try {
      m.update(key(3), u64(42n));
      assert.equal(m.lookup(key(3))?.readBigUInt64LE(), 42n, type);
      if (type !== 'array') {
        assert.equal(m.lookup(key(5)), undefined, `${type}: absent key`);
        assert.equal(m.delete(key(3)), true);
        assert.equal(m.delete(key(3)), false);
      }
    } finally {
      m.close();
    }
  }
  const pc = createMap({
    name: 'periscope_t_pc',
    type: 'percpuArray',
    keySize: 4,
    valueSize: 8,
    maxEntries: 2,
  });
  try {
    assert.equal(pc.lookup(key(1))?.length, 8 * possibleCpus(), 'one slot per possible CPU');
  } finally {
    pc.close();
  }
});

/** Runs a socket-filter program `repeat` times on a small packet (BPF_PROG_TEST_RUN). */
function testRun(progFd: number, repeat: number): void {
  const sys = syscalls();
  const data = Buffer.alloc(64);
  const attr = Buffer.alloc(168);
  attr.writeUInt32LE(progFd, 0);
  attr.writeUInt32LE(data.length, 8);
  attr.writeBigUInt64LE(addressOf(data), 16);
  attr.writeUInt32LE(repeat, 32);
  assert.equal(sys.bpf(10, attr), 0, `BPF_PROG_TEST_RUN: errno ${sys.errno()}`);
}

test('the ring buffer consumer reads every record in order across many wrap-arounds', () => {
  const ringBytes = 1 << 14;
  const ring = createMap({
    name: 'periscope_t_rb2',
    type: 'ringbuf',
    keySize: 0,
    valueSize: 0,
    maxEntries: ringBytes,
  });
  const state = createMap({ name: 'periscope_t_st', type: 'array', keySize: 4, valueSize: 8, maxEntries: 1 });
  // Each run: n = ++state[0]; reserve 8 + 8*(n % 5) bytes; write n into each word; discard
  // every 7th record, submit the others.
  const a = new Assembler();
  a.st('w', R10, -4, 0);
  a.ldMap(R1, state).mov64(R2, R10).alu64('add', R2, -4).call('map_lookup_elem');
  a.jmp('jeq', R0, 0, 'out');
  a.ldx('dw', R6, R0, 0).alu64('add', R6, 1).stx('dw', R0, 0, R6);
  a.mov64(R7, R6).alu64('mod', R7, 5).alu64('lsh', R7, 3).alu64('add', R7, 8);
  // The verifier needs the size as a known constant per path: branch on n % 5.
  for (let k = 0; k < 5; k++) {
    a.jmp('jne', R7, 8 + 8 * k, `size${k + 1}`);
    a.ldMap(R1, ring)
      .mov64(R2, 8 + 8 * k)
      .mov64(R3, 0)
      .call('ringbuf_reserve');
    a.jmp('jeq', R0, 0, 'out');
    for (let w = 0; w <= k; w++) a.stx('dw', R0, 8 * w, R6);
    a.mov64(R1, R0).mov64(R2, 0);
    a.mov64(R3, R6).alu64('mod', R3, 7);
    a.jmp('jeq', R3, 0, `discard${k}`);
    a.call('ringbuf_submit').ja('out');
    a.label(`discard${k}`).call('ringbuf_discard').ja('out');
    a.label(`size${k + 1}`);
  }
  a.label('out').mov64(R0, 0).exit();
  const prog = loadProgram({ name: 'periscope_t_rp', insns: a.assemble(), type: PROG_TYPE_SOCKET_FILTER });
  const reader = new RingBufferReader(ring);
  try {
    let next = 1;
    let read = 0;
    const check = (rec: Uint8Array): void => {
      if (next % 7 === 0) next++; // discarded
      const dv = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
      assert.equal(rec.length, 8 + 8 * (next % 5), `record ${next}: length`);
      for (let w = 0; w < rec.length / 8; w++) assert.equal(dv.getBigUint64(8 * w, true), BigInt(next));
      next++;
      read++;
    };
    // 40 rounds of 100 records (~2.4 KB each round, ~6x the ring's size in total).
    for (let round = 0; round < 40; round++) {
      testRun(prog.fd, 100);
      reader.poll(check);
      assert.equal(reader.pending(), 0);
    }
    assert.equal(next, 4001);
    assert.equal(read, 4000 - Math.floor(4000 / 7));
  } finally {
    reader.close();
    prog.close();
    ring.close();
    state.close();
  }
});
