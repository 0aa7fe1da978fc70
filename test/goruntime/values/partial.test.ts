/**
 * Variables only part of which their location gives at a PC, as optimized Go code leaves
 * them, read through a snapshot with a spec (the path users run), for every toolchain. The
 * cases are real compiler output on parked frames, checked against the DWARF and against the
 * values the programs hold:
 * - testdata/hello main.main parked in time.Sleep: p (main.Point) has pieces for Name only,
 *   X and Y are optimized out there;
 * - testdata/values main.parkedPartial: pieces for b's pointer and length (its cap optimized
 *   out), for err's type word (its data word optimized out);
 * - testdata/values main.parkedShort: b's location has two pieces, 16 of its 24 bytes.
 * A redaction rule (a spec's `redaction.names`) marks a field of a value decoded piece by piece.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { locationAt } from '../../../src/dwarf/functions.js';
import { describeLocation } from '../../../src/dwarf/location-expr.js';
import { GoBinary } from '../../../src/gobinary/go-binary.js';
import type { ProcessSnapshot } from '../../../src/snapshot/snapshot-types.js';
import { snapshotProcess } from '../../../src/snapshot/take-snapshot.js';
import { effectiveSpec } from '../../../src/spec/effective-spec.js';
import { parseSpec } from '../../../src/spec/spec-parse.js';
import { buildFixture, GO_TOOLCHAINS, toolchainUnavailable } from '../../../support/go-fixtures.js';
import { TEST_PAUSE_CAP_MS } from '../../../support/pause-cap.js';
import { startTarget } from '../../../support/target.js';

const OUT = { '…': 'unreadable', error: 'optimized out at this PC' };

/** Snapshots until `fn` has a frame whose next callee is `callee` (the goroutine reached its park). */
async function parkedIn(pid: number, spec: string, fn: string, callee: RegExp): Promise<ProcessSnapshot> {
  for (let i = 0; ; i++) {
    const s = snapshotProcess(pid, {
      pauseCapMs: TEST_PAUSE_CAP_MS,
      spec: effectiveSpec(parseSpec(spec, 'partial.yaml'), { defaults: false }),
    });
    const ok = s.goroutines.some((g) =>
      g.stack.frames.some(
        (f, d) => f.function === fn && d > 0 && callee.test(g.stack.frames[d - 1]!.function),
      ),
    );
    if (ok) return s;
    if (i === 50) throw new Error(`${fn} never parked in ${callee}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The captured values of the first frame of `fn`, by column. */
function captured(s: ProcessSnapshot, fn: string): Record<string, { value: unknown; error?: string }> {
  const c = s.goroutines.flatMap((g) => g.captures).find((x) => x.function === fn);
  assert.ok(c, `a capture on ${fn}`);
  return Object.fromEntries(c.values.map((v) => [v.column, { value: v.value, error: v.error }]));
}

/** The static pieces of `fn`'s variable `name` at the frame's pc (a return address: pc-1). */
function piecesAt(bin: GoBinary, s: ProcessSnapshot, fn: string, name: string): string[] {
  const frame = s.goroutines.flatMap((g) => g.stack.frames).find((f) => f.function === fn)!;
  const v = bin
    .requireDwarf('test')
    .findFunction(fn)!
    .variables.find((x) => x.name === name)!;
  const expr = locationAt(v, frame.pc - 1);
  return expr ? describeLocation(expr).map((p) => `${p.kind}:${p.size}`) : [];
}

for (const tc of GO_TOOLCHAINS) {
  test(`partly optimized-out variables (${tc})`, { timeout: 300_000 }, async (t) => {
    const why = await toolchainUnavailable(tc);
    if (why) return t.skip(why);
    const [hello, values] = await Promise.all([
      buildFixture('hello', { toolchain: tc }),
      buildFixture('values', { toolchain: tc }),
    ]);

    await t.test('a struct with some fields in pieces: those decode, the others are marked', async () => {
      const proc = await startTarget(hello.path, ['wait'], {}, /^distance/);
      try {
        const spec = `functions:\n  - function: main.main\n    capture: {p: p, name: p.Name, x: p.X}\n`;
        const s = await parkedIn(proc.pid, spec, 'main.main', /^time\.Sleep$/);
        const bin = await GoBinary.open(hello.path);
        assert.deepEqual(
          piecesAt(bin, s, 'main.main', 'p').map((p) => p.split(':')[0] === 'empty'),
          [true, true, false, false],
          'the real case: X and Y have no location at this PC, Name does',
        );
        const v = captured(s, 'main.main');
        assert.deepEqual(v.p?.value, {
          X: { ...OUT, type: 'int' },
          Y: { ...OUT, type: 'int' },
          Name: hello.path,
        });
        assert.equal(v.name?.value, hello.path);
        assert.equal(v.x?.value, null);
        assert.match(v.x?.error ?? '', /optimized out at this PC/);
        // Redaction reaches the fields of a value decoded piece by piece.
        const r = await parkedIn(
          proc.pid,
          `${spec}redaction:\n  names: [Name]\n`,
          'main.main',
          /^time\.Sleep$/,
        );
        assert.deepEqual(captured(r, 'main.main').p?.value, {
          X: { ...OUT, type: 'int' },
          Y: { ...OUT, type: 'int' },
          Name: { '…': 'redacted', rule: 'Name', type: 'string' },
        });
      } finally {
        await proc.kill();
      }
    });

    await t.test('a slice without its cap, an interface without its data word', async () => {
      const proc = await startTarget(values.path);
      try {
        const spec =
          'functions:\n' +
          '  - function: main.parkedPartial\n    capture: {b: b, err: err}\n' +
          '  - function: main.parkedShort\n    capture: {b: b, cap: cap(b)}\n';
        let s = await parkedIn(proc.pid, spec, 'main.parkedPartial', /^runtime\.chanrecv1$/);
        s = await parkedIn(proc.pid, spec, 'main.parkedShort', /^runtime\.chanrecv1$/);
        const bin = await GoBinary.open(values.path);
        assert.deepEqual(piecesAt(bin, s, 'main.parkedPartial', 'b').at(-1), 'empty:8');
        assert.deepEqual(piecesAt(bin, s, 'main.parkedPartial', 'err').at(-1), 'empty:8');
        assert.equal(piecesAt(bin, s, 'main.parkedShort', 'b').length, 2, 'two pieces for 24 bytes');
        const partial = captured(s, 'main.parkedPartial');
        assert.deepEqual(partial.b?.value, [0, 0, 0]);
        assert.deepEqual(partial.err?.value, {
          type: '*errors.errorString',
          value: { ...OUT, type: '*errors.errorString' },
        });
        const short = captured(s, 'main.parkedShort');
        assert.deepEqual(short.b?.value, [...Buffer.from('"short"')]);
        assert.equal(short.cap?.value, null);
        assert.match(short.cap?.error ?? '', /location covers 16 of 24 bytes/);
      } finally {
        await proc.kill();
      }
    });
  });
}
