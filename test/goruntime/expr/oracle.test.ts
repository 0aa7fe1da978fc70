/**
 * The expression language against Go itself. testdata/exprs-oracle compiles a table of
 * expressions over the locals of main.park and prints Go's result of each (its static type and
 * value, or the run-time panic); the test evaluates the same sources on main.park's paused
 * frame and compares value by value. go/types (testdata/tools/exproracle) is the oracle of the
 * checker: every expression Go accepts must check (with the type Go gives it), and every one
 * Go rejects must be rejected with Go's message at Go's column. Built with -N -l so that
 * every local is readable; on every toolchain (the builds are cached).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addr } from '../../../src/common/address.js';
import { GoBinary } from '../../../src/gobinary/go-binary.js';
import { checkExpression } from '../../../src/goruntime/expr/check.js';
import { evaluate } from '../../../src/goruntime/expr/eval.js';
import type { FrameContext } from '../../../src/goruntime/expr/frame-context.js';
import { frameCfa } from '../../../src/goruntime/goroutines/unwind.js';
import { makeValueContext } from '../../../src/goruntime/values/context.js';
import { ProcMemFile } from '../../../src/proc/memory.js';
import { snapshotProcess } from '../../../src/snapshot/take-snapshot.js';
import { buildFixture, GO_TOOLCHAINS, toolchainUnavailable } from '../../../support/go-fixtures.js';
import { TEST_PAUSE_CAP_MS } from '../../../support/pause-cap.js';
import { startTarget } from '../../../support/target.js';
import { type GoReport, goTypes, normalizeTypes, sortMapEntries } from './go-oracle.js';
import { CHECKS, EXTENSIONS, REFUSED } from './oracle-checks.js';

let report: Promise<GoReport> | undefined;

/** Go's verdicts (go/types of the local toolchain; computed once for every toolchain's run). */
function oracle(cases: readonly string[]): Promise<GoReport> {
  report ??= goTypes([...cases, ...CHECKS, ...EXTENSIONS]);
  return report;
}

interface GoCase {
  readonly src: string;
  readonly type?: string;
  readonly value?: unknown;
  readonly panic?: string;
}

/**
 * A checker message in the spelling shared with go/types. Why a type does not implement an
 * interface is left out: go/types names the missing method, DWARF lists no methods.
 */
const message = (m: string): string =>
  normalizeTypes(m.replace(/^in main\.park: /, '').replace(/: \S+ does not implement .*$/, ''));

for (const tc of GO_TOOLCHAINS) {
  test(`expressions agree with Go on a live process (${tc})`, async (t) => {
    const why = await toolchainUnavailable(tc);
    if (why) return t.skip(why);
    const fx = await buildFixture('exprs-oracle', { toolchain: tc, flags: ['-gcflags=all=-N -l'] });
    const bin = await GoBinary.open(fx.path);
    const child = await startTarget(fx.path);
    const mem = new ProcMemFile(child.pid);
    try {
      const cases: GoCase[] = child.lines
        .filter((l) => l.text.startsWith('CASE '))
        .map((l) => JSON.parse(l.text.slice(5)) as GoCase);
      const go = await oracle(cases.map((c) => c.src));
      assert.deepEqual(go.dishonest, [], 'each case names the expression compiled beside it');
      assert.deepEqual(
        go.cases,
        cases.map((c) => c.src),
        'the program printed every case',
      );
      assert.ok(cases.length > 300, `${cases.length} cases`);
      const verdict = new Map(go.checks.map((v) => [v.src, v]));

      const ctx = makeValueContext(bin, mem);
      const snap = snapshotProcess(child.pid, { pauseCapMs: TEST_PAUSE_CAP_MS });
      const g = snap.goroutines.find((x) => x.stack.frames.some((f) => f.function === 'main.park'));
      assert.ok(g, 'a goroutine parked in main.park');
      const frame = g.stack.frames.find((f) => f.function === 'main.park')!;
      const fc: FrameContext = { ctx, pc: addr(frame.pc - 1), cfa: frameCfa(g.stack, frame) };

      const wrong: string[] = [];
      for (const c of cases) {
        const chk = checkExpression(bin, 'main.park', c.src);
        if (!chk.ok) {
          wrong.push(`${c.src}: Go compiles it, we reject it: ${chk.errors[0]!.message}`);
          continue;
        }
        const goType = verdict.get(c.src)?.type ?? '?';
        if (normalizeTypes(chk.plan.resultType) !== normalizeTypes(goType))
          wrong.push(`${c.src}: static type ${chk.plan.resultType}, go/types says ${goType}`);
        const r = evaluate(chk.plan, fc);
        if (c.panic !== undefined) {
          const want = c.panic.replace(/^runtime error: /, '');
          if (r.ok) wrong.push(`${c.src}: Go panics (${c.panic}), we give ${JSON.stringify(r.value)}`);
          else if (!r.error.startsWith(want))
            wrong.push(`${c.src}: Go panics "${want}", our error is "${r.error}"`);
          continue;
        }
        if (!r.ok) {
          wrong.push(`${c.src}: Go gives ${JSON.stringify(c.value)}, we fail: ${r.error}`);
          continue;
        }
        if (r.type !== c.type) wrong.push(`${c.src}: type ${r.type}, Go's is ${c.type}`);
        try {
          assert.deepStrictEqual(sortMapEntries(r.value), sortMapEntries(c.value));
        } catch {
          wrong.push(`${c.src}: ours ${JSON.stringify(r.value)}, Go's ${JSON.stringify(c.value)}`);
        }
      }
      assert.deepEqual(wrong, [], `${wrong.length} of ${cases.length} cases differ from Go`);

      // The checker against go/types.
      const disagree: string[] = [];
      let rejected = 0;
      for (const src of CHECKS) {
        const v = verdict.get(src)!;
        const chk = checkExpression(bin, 'main.park', src);
        const refused = REFUSED.get(src);
        if (refused) {
          assert.ok(v.ok && !chk.ok && refused.test(chk.errors[0]!.message), `${src}: refused on purpose`);
          continue;
        }
        if (v.ok) {
          if (!chk.ok) disagree.push(`${src}: Go accepts (${v.type}), we reject: ${chk.errors[0]!.message}`);
          else if (normalizeTypes(chk.plan.resultType) !== normalizeTypes(v.type!))
            disagree.push(`${src}: type ${chk.plan.resultType}, go/types says ${v.type}`);
          continue;
        }
        rejected++;
        if (chk.ok) {
          disagree.push(`${src}: Go rejects (${v.error}), we accept (${chk.plan.resultType})`);
          continue;
        }
        const ours = chk.errors[0]!;
        if (message(ours.message) !== message(v.error!) || ours.column !== v.column)
          disagree.push(
            `${src}: ours column ${ours.column}: ${message(ours.message)}\n    Go's column ${v.column}: ${message(v.error!)}`,
          );
      }
      assert.deepEqual(
        disagree,
        [],
        `${disagree.length} of ${CHECKS.length} expressions: the checker and go/types disagree`,
      );
      assert.ok(rejected > 80, `go/types rejects ${rejected} of the checked expressions`);
      for (const src of EXTENSIONS) {
        assert.ok(!verdict.get(src)!.ok, `${src}: Go rejects it`);
        assert.ok(checkExpression(bin, 'main.park', src).ok, `${src}: Periscope accepts it`);
      }

      // Nothing was written: the program's digest of its locals is the same once it resumes.
      const since = performance.now();
      child.child.stdin?.end();
      const before = child.lines.find((l) => l.text.startsWith('digest'))!.text;
      const after = await child.waitFor(/^digest/, 10_000, since);
      assert.equal(after.text, before);
    } finally {
      mem.close();
      await child.kill();
    }
  });
}
