/**
 * The pieces of probe programs that do not need a uprobe, run in the kernel with
 * BPF_PROG_TEST_RUN (as socket filters, which it supports; uprobe programs it does not):
 * the rate limiter's token bucket against a clock the test sets, the duration histogram's
 * bucket (the bit length of a 64-bit value), signed division and compare-and-exchange as
 * the assembler encodes them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HasFd } from '../../src/probes/bpf/assembler.js';
import { disassemble } from '../../src/probes/bpf/disassemble.js';
import { R0, R1, R2, R8, R9, R10 } from '../../src/probes/bpf/isa.js';
import { type BpfMap, createMap } from '../../src/probes/bpf/maps.js';
import { loadProgram, PROG_TYPE_SOCKET_FILTER } from '../../src/probes/bpf/program.js';
import { addressOf, syscalls } from '../../src/probes/bpf/syscalls.js';
import { emitBitLength, emitRateLimit } from '../../src/probes/compile/emit-extras.js';
import { Emitter } from '../../src/probes/compile/emitter.js';
import type { ProbeMapFds } from '../../src/probes/compile/probe-maps.js';

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

const key = (n: number) => Buffer.from(Uint32Array.of(n).buffer);
const u64 = (n: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, n));
  return b;
};

/** An array map of u64 words, its program, and helpers; closed at the end of `body`. */
function withWords(
  words: number,
  build: (e: Emitter, m: BpfMap) => void,
  body: (fd: number, m: BpfMap) => void,
): void {
  const m = createMap({ name: 'periscope_t_w', type: 'array', keySize: 4, valueSize: 8, maxEntries: words });
  try {
    const e = new Emitter(0);
    build(e, m);
    const prog = loadProgram({ name: 'periscope_t_p', insns: e.a.assemble(), type: PROG_TYPE_SOCKET_FILTER });
    try {
      body(prog.fd, m);
    } finally {
      prog.close();
    }
  } finally {
    m.close();
  }
}

/** r0 = &word[i] of map m (the program exits when the lookup fails). */
function word(e: Emitter, m: HasFd, i: number, dst = R0): void {
  const a = e.a;
  const k = e.alloc(8);
  a.st('w', R10, k, i).ldMap(R1, m).mov64(R2, R10).alu64('add', R2, k).call('map_lookup_elem');
  const ok = e.label('w');
  a.jmp('jne', R0, 0, ok).mov64(R0, 0).exit().label(ok);
  if (dst !== R0) a.mov64(dst, R0);
}

test('the rate limit lets a burst through, then one event per interval of the clock', () => {
  // Words: 0 the clock (ns), 1 passed, 2 limited; the limiter's state in its own map.
  const state = createMap({ name: 'periscope_t_r', type: 'array', keySize: 4, valueSize: 8, maxEntries: 1 });
  try {
    withWords(
      3,
      (e, m) => {
        const a = e.a;
        const now = e.alloc(8);
        word(e, m, 0);
        a.ldx('dw', R1, R0, 0).stx('dw', R10, now, R1);
        const maps = { rate: state } as unknown as ProbeMapFds;
        emitRateLimit(e, 0, { intervalNs: 1000, burst: 3 }, maps, now, () => {
          word(e, m, 2);
          a.mov64(R1, 1).atomicAdd('dw', R0, 0, R1);
        });
        word(e, m, 1);
        a.mov64(R1, 1).atomicAdd('dw', R0, 0, R1).mov64(R0, 0).exit();
      },
      (fd, m) => {
        const at = (ns: bigint, times: number) => {
          m.update(key(0), u64(ns));
          run(fd, times);
        };
        const count = (i: number) => Number(m.lookup(key(i))!.readBigUInt64LE());
        at(1_000_000n, 10);
        assert.equal(count(1), 3, 'a burst of 3 at once');
        assert.equal(count(2), 7);
        at(1_000_500n, 5);
        assert.equal(count(1), 3, 'half an interval later: nothing');
        at(1_001_000n, 5);
        assert.equal(count(1), 4, 'one interval later: one more');
        at(1_010_000n, 10);
        assert.equal(count(1), 7, 'a long pause refills the bucket to its burst, not beyond');
        assert.equal(count(1) + count(2), 30, 'every event passed or counted as limited');
      },
    );
  } finally {
    state.close();
  }
});

test('the histogram bucket is the bit length of the duration', () => {
  const cases: [bigint, number][] = [
    [0n, 0],
    [1n, 1],
    [2n, 2],
    [3n, 2],
    [4n, 3],
    [1023n, 10],
    [1024n, 11],
    [10_000_000n, 24],
    [(1n << 63n) - 1n, 63],
    [1n << 63n, 64],
    [(1n << 64n) - 1n, 64],
  ];
  withWords(
    2,
    (e, m) => {
      word(e, m, 0, R9);
      e.a.ldx('dw', R8, R9, 0);
      emitBitLength(e, R8, R9);
      word(e, m, 1);
      e.a.stx('dw', R0, 0, R9).mov64(R0, 0).exit();
    },
    (fd, m) => {
      for (const [v, bits] of cases) {
        m.update(key(0), u64(v));
        run(fd);
        assert.equal(m.lookup(key(1))!.readBigUInt64LE(), BigInt(bits), `bit length of ${v}`);
      }
    },
  );
});

test('signed division and compare-and-exchange, as encoded, in the kernel', () => {
  // One value of four words: w0 the input, w1 = w0 s/ 2, w2 = w0 s% 2, w3 = 77 if it equalled w0.
  const m = createMap({ name: 'periscope_t_d', type: 'array', keySize: 4, valueSize: 32, maxEntries: 1 });
  try {
    const e = new Emitter(0);
    const a = e.a;
    word(e, m, 0, R9);
    a.ldx('dw', R8, R9, 0).mov64(R1, 2);
    a.mov64(R2, R8).signed64('div', R2, R1).stx('dw', R9, 8, R2);
    a.mov64(R2, R8).signed64('mod', R2, R1).stx('dw', R9, 16, R2);
    a.mov64(R0, R8).mov64(R1, 77).atomicCmpxchg(R9, 24, R1);
    a.mov64(R0, 0).exit();
    const prog = loadProgram({ name: 'periscope_t_p', insns: a.assemble(), type: PROG_TYPE_SOCKET_FILTER });
    try {
      const words = (...w: bigint[]) => Buffer.concat(w.map(u64));
      const read = () => {
        const v = m.lookup(key(0))!;
        return [0, 8, 16, 24].map((o) => BigInt.asIntN(64, v.readBigUInt64LE(o)));
      };
      m.update(key(0), words(-7n, 0n, 0n, -7n));
      run(prog.fd);
      assert.deepEqual(read(), [-7n, -3n, -1n, 77n], 'Go rounds toward zero; the exchange happened');
      m.update(key(0), words(9n, 0n, 0n, 5n));
      run(prog.fd);
      assert.deepEqual(read(), [9n, 4n, 1n, 5n], 'no exchange when the word differs');
    } finally {
      prog.close();
    }
  } finally {
    m.close();
  }
  const lines = disassemble(new Emitter(0).a.signed64('div', R1, R2).atomicCmpxchg(R9, 8, R1).assemble());
  assert.deepEqual(lines, ['0: r1 s/= r2', '1: r0 = cmpxchg_64(r9 +8, r0, r1)']);
});
