import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FormatError } from '../../src/common/errors.js';
import { describeLocation } from '../../src/dwarf/location-expr.js';
import { evaluateLocation, type LocationContext } from '../../src/dwarf/location-expr-eval.js';

const b = (...xs: number[]) => Uint8Array.from(xs);

/** A fake target: registers rax=0x1000, rbx=-1 (all ones), rsp=0x7ff0; 64 bytes of memory at 0x2000 holding i*3. */
const memory = Uint8Array.from({ length: 64 }, (_, i) => i * 3);
const ctx: LocationContext = {
  register: (r) => ({ 0: 0x1000n, 3: 0xffff_ffff_ffff_ffffn, 7: 0x7ff0 })[r],
  cfa: 0x8000,
  frameBase: 0x8000,
  readMemory: (address, size) =>
    address >= 0x2000 && address + size <= 0x2040
      ? memory.subarray(address - 0x2000, address - 0x2000 + size)
      : undefined,
  addrx: (i) => (i === 2 ? 0x2008 : undefined),
};

test('evaluateLocation: simple locations', () => {
  assert.deepEqual(evaluateLocation(b(0x9c), ctx), [{ kind: 'memory', address: 0x8000 }]);
  assert.deepEqual(evaluateLocation(b(0x91, 0x68), ctx), [{ kind: 'memory', address: 0x8000 - 24 }]); // fbreg -24
  assert.deepEqual(evaluateLocation(b(0x50), { ...ctx, size: 8 }), [{ kind: 'register', reg: 0, size: 8 }]);
  assert.deepEqual(evaluateLocation(b(0x90, 17), ctx), [{ kind: 'register', reg: 17 }]); // regx xmm0
  assert.deepEqual(evaluateLocation(b(0x77, 0x10), ctx), [{ kind: 'memory', address: 0x8000 }]); // breg7 +16
  assert.deepEqual(evaluateLocation(b(0x03, 0x08, 0x20, 0, 0, 0, 0, 0, 0), ctx), [
    { kind: 'memory', address: 0x2008 },
  ]);
  assert.deepEqual(evaluateLocation(b(0xa1, 2), ctx), [{ kind: 'memory', address: 0x2008 }]); // addrx 2
  assert.deepEqual(evaluateLocation(b(), ctx), [{ kind: 'unavailable', reason: 'optimized out' }]);
});

test('evaluateLocation: memory reads, arithmetic, 64-bit wrap-around, stack values', () => {
  // addr 0x2000; deref -> little-endian bytes 0,3,6,...,21
  const deref = evaluateLocation(b(0x0a, 0x00, 0x20, 0x06, 0x9f), { ...ctx, size: 8 });
  assert.deepEqual(deref, [{ kind: 'value', bytes: b(0, 3, 6, 9, 12, 15, 18, 21), size: 8 }]);
  // const2u 0x2000; deref_size 2 -> 0x0300; lit4; mul -> 0xc00; stack_value
  assert.deepEqual(evaluateLocation(b(0x0a, 0x00, 0x20, 0x94, 2, 0x34, 0x1e, 0x9f), { ...ctx, size: 2 }), [
    { kind: 'value', bytes: b(0x00, 0x0c), size: 2 },
  ]);
  // rbx (all ones) + 2 wraps to 1; breg3 0; plus_uconst 2; stack_value
  assert.deepEqual(evaluateLocation(b(0x73, 0, 0x23, 2, 0x9f), ctx), [
    { kind: 'value', bytes: b(1, 0, 0, 0, 0, 0, 0, 0) },
  ]);
  // signed: lit1 neg (= -1) lit2 div -> 0 (truncation toward zero); consts -7 lit2 shra -> -2 (arithmetic shift floors)
  assert.deepEqual(evaluateLocation(b(0x31, 0x1f, 0x32, 0x1b, 0x9f), { ...ctx, size: 1 }), [
    { kind: 'value', bytes: b(0), size: 1 },
  ]);
  assert.deepEqual(evaluateLocation(b(0x11, 0x79, 0x32, 0x26, 0x9f), { ...ctx, size: 1 }), [
    { kind: 'value', bytes: b(0xfe), size: 1 },
  ]);
  // dup/over/swap/rot/pick/drop: lit1 lit2 lit3 rot -> 3 1 2; swap -> 3 2 1; over -> 3 2 1 2; pick 3 -> ... 3; drop; minus -> 1-2 = -1
  assert.deepEqual(
    evaluateLocation(b(0x31, 0x32, 0x33, 0x17, 0x16, 0x14, 0x15, 3, 0x13, 0x1c, 0x9f), { ...ctx, size: 1 }),
    [{ kind: 'value', bytes: b(0xff), size: 1 }],
  );
  // comparisons and a bounded loop: count down from lit5 to 0 with bra (lit5; dup; bra +? ...)
  // 0: lit5   1: lit1  2: minus  3: dup  4: bra -6 (to offset 1: relative to the end of the bra)   7: stack_value
  assert.deepEqual(evaluateLocation(b(0x35, 0x31, 0x1c, 0x12, 0x28, 0xfa, 0xff, 0x9f), { ...ctx, size: 1 }), [
    { kind: 'value', bytes: b(0), size: 1 },
  ]);
  assert.deepEqual(evaluateLocation(b(0x9e, 3, 7, 8, 9), ctx), [{ kind: 'value', bytes: b(7, 8, 9) }]);
});

test('evaluateLocation: composite pieces, and unavailable pieces that do not spoil the others', () => {
  // reg0 piece 8; fbreg 8 piece 8; (empty) piece 8; entry_value(reg5) stack_value piece 8
  const expr = b(0x50, 0x93, 8, 0x91, 8, 0x93, 8, 0x93, 8, 0xa3, 1, 0x55, 0x9f, 0x93, 8);
  assert.deepEqual(evaluateLocation(expr, ctx), [
    { kind: 'register', reg: 0, size: 8 },
    { kind: 'memory', address: 0x8008, size: 8 },
    { kind: 'unavailable', reason: 'optimized out', size: 8 },
    {
      kind: 'unavailable',
      reason: 'the value at function entry (DW_OP_entry_value) is not available',
      size: 8,
    },
  ]);
  // Without a frame base, only the fbreg piece is unavailable.
  const noFb = evaluateLocation(expr, { ...ctx, frameBase: undefined });
  assert.equal(noFb[1]!.kind, 'unavailable');
  assert.equal(noFb[0]!.kind, 'register');
  // Unreadable memory and unknown registers are unavailable, not errors.
  assert.equal(evaluateLocation(b(0x0a, 0x00, 0x30, 0x06, 0x9f), ctx)[0]!.kind, 'unavailable');
  assert.equal(evaluateLocation(b(0x75, 0), ctx)[0]!.kind, 'unavailable');
  assert.deepEqual(evaluateLocation(b(0x50, 0x9d, 12, 0), ctx)[0], {
    kind: 'unavailable',
    reason: 'DW_OP_bit_piece that is not byte aligned is not supported',
    size: 2,
  });
});

test('evaluateLocation: malformed input fails with a FormatError and never hangs', () => {
  const bad: [string, Uint8Array][] = [
    ['truncated const4u', b(0x0c, 1, 2)],
    ['truncated LEB', b(0x91, 0x80)],
    ['truncated implicit_value block', b(0x9e, 5, 1)],
    ['stack underflow', b(0x22)],
    ['pick beyond the stack', b(0x30, 0x15, 4)],
    ['infinite loop', b(0x2f, 0xfd, 0xff)], // skip -3: to itself
    ['bra into the middle of an instruction', b(0x31, 0x28, 0xfe, 0xff)],
    ['division by zero', b(0x31, 0x30, 0x1b)],
    ['unknown opcode', b(0x01)],
    ['register followed by more ops', b(0x50, 0x31)],
  ];
  for (const [name, expr] of bad) {
    assert.throws(() => evaluateLocation(expr, ctx), FormatError, name);
  }
  const start = performance.now();
  assert.throws(() => evaluateLocation(b(0x2f, 0xfd, 0xff), { ...ctx, maxSteps: 1_000_000 }), FormatError);
  assert.ok(performance.now() - start < 2000, 'a million-step loop is cut off quickly');
});

test('describeLocation: static kinds Go and gcc emit', () => {
  const kinds = (e: Uint8Array) => describeLocation(e).map(({ text: _t, ...rest }) => rest);
  assert.deepEqual(kinds(b(0x9c)), [{ kind: 'cfa', offset: 0 }]);
  assert.deepEqual(kinds(b(0x9c, 0x23, 16)), [{ kind: 'cfa', offset: 16 }]);
  assert.deepEqual(kinds(b(0x91, 0x68)), [{ kind: 'frame-base', offset: -24 }]);
  assert.deepEqual(kinds(b(0x77, 8)), [{ kind: 'register-relative', reg: 7, name: 'rsp', offset: 8 }]);
  assert.deepEqual(kinds(b(0x03, 0x38, 0x7f, 0x5a, 0, 0, 0, 0, 0)), [{ kind: 'address', address: 0x5a7f38 }]);
  assert.deepEqual(kinds(b()), [{ kind: 'empty' }]);
  assert.deepEqual(kinds(b(0x35, 0x9f)), [{ kind: 'implicit-value', bytes: b(5, 0, 0, 0, 0, 0, 0, 0) }]);
  // Go's split struct: rax; (optimized out); fbreg 8 — each 8 bytes.
  const pieces = describeLocation(b(0x50, 0x93, 8, 0x93, 8, 0x91, 8, 0x93, 8));
  assert.deepEqual(
    pieces.map((p) => [p.kind, p.size, p.text]),
    [
      ['register', 8, 'DW_OP_reg0 (rax); DW_OP_piece: 8'],
      ['empty', 8, 'DW_OP_piece: 8'],
      ['frame-base', 8, 'DW_OP_fbreg: 8; DW_OP_piece: 8'],
    ],
  );
  const computed = describeLocation(b(0x75, 0, 0x34, 0x1e, 0x9f));
  assert.deepEqual(
    computed.map((p) => [p.kind, p.text]),
    [['stack-value', 'DW_OP_breg5 (rdi): 0; DW_OP_lit4; DW_OP_mul; DW_OP_stack_value']],
  );
  assert.equal(describeLocation(b(0x75, 0, 0x06))[0]!.kind, 'computed');
  assert.throws(() => describeLocation(b(0x91)), FormatError);
});
