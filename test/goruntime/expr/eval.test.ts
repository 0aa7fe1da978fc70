/**
 * Evaluating expressions on the live exprs fixture for every toolchain: package variables
 * (no frame needed) against the values the fixture was built with and against Delve's Eval;
 * then parameters and locals on the frame of main.park, parked on a channel receive, with
 * the frame's PC and CFA from our goroutine snapshot, against Delve's Eval in that frame.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addr } from '../../../src/common/address.js';
import { GoBinary } from '../../../src/gobinary/go-binary.js';
import { checkExpression } from '../../../src/goruntime/expr/check.js';
import { evaluate, evaluateCondition } from '../../../src/goruntime/expr/eval.js';
import type { FrameContext } from '../../../src/goruntime/expr/frame-context.js';
import { frameCfa } from '../../../src/goruntime/goroutines/unwind.js';
import { makeValueContext } from '../../../src/goruntime/values/context.js';
import { ProcMemFile } from '../../../src/proc/memory.js';
import { snapshotProcess } from '../../../src/snapshot/take-snapshot.js';
import { DEFAULT_LOAD, Delve, type DlvVariable, delvePath } from '../../../support/delve.js';
import { buildFixture, GO_TOOLCHAINS, toolchainUnavailable } from '../../../support/go-fixtures.js';
import { TEST_PAUSE_CAP_MS } from '../../../support/pause-cap.js';
import { startTarget } from '../../../support/target.js';
import { diffWithDelve } from './delve.js';

/** [expression, expected JSON value, or an error pattern]; `delve` marks those Delve can evaluate too. */
const GLOBALS: [string, unknown, boolean][] = [
  ['main.cfg.Servers[1].Name', 'beta', true],
  ['main.cfg.Servers[0].ID', 1, true],
  ['main.cfg.Servers[0].Tags[1]', 'b', true],
  ['main.cfg.Servers[0].Addr.Port', 80, true],
  ['main.cfgPtr.Owner.Email', 'root@example.com', true],
  ['main.cfg.Limits', [5, 10, 15], true],
  ['len(main.users)', 2, true],
  ['main.users["bob"].Age', 42, true],
  ['main.users["alice"]', { Name: 'Alice', Age: 31, Email: 'a@example.com' }, true],
  ['main.byID[42].Name', 'Forty-Two', true],
  ['main.flags[false]', 'no', true],
  ['main.counts[-1]', 100, true],
  ['main.counts[1099511627776]', 200, true],
  ['main.anyErr.(*main.MyErr).Code', 404, true],
  ['main.pathErr.(*fs.PathError).Path', '/nope', false],
  ['main.anyErr.Code', 404, false],
  ['main.anyErr.Code + 1', 405, false],
  ['main.anyErr.Code * 2 == 808', true, false],
  ['main.anyErr.Code + 1.5', /1\.5 \(untyped float constant\) truncated to int/, false],
  ['main.anyErr.Code + main.pi', /mismatched types int and float64/, false],
  ['main.arr[1:3]', [-2, 3], false],
  ['len(main.greet[1:])', 12, false],
  ['main.greet[:1] + "!"', 'h!', false],
  ['[]byte(main.greet)[1]', 0xc3, false],
  ['string(main.r)', 'ü', false],
  ['uint8(main.neg)', 0, false],
  ['main.cfg.Limits == main.cfg.Limits', true, false],
  ['main.users[main.users["bob"].Name] ', /key "Bob" not found in the map/, false],
  ['main.anyVal.(int) + 1', 43, false],
  ['main.anyUser.(main.User).Name', 'Boxed', true],
  ['main.shape.(main.Square).Side * 2', 6, false],
  ['len(main.ch)', 2, true],
  ['cap(main.ch)', 5, true],
  ['main.greet', 'héllo, world', true],
  ['main.greet[1]', 0xc3, true],
  ['main.nums[1] * 2 + 1', 41, true],
  ['main.arr[1]', -2, true],
  ['main.pair.Key', 'k', true],
  ['main.bigU', '9223372036854775813', true],
  ['main.neg', -9000000000, true],
  ['main.tiny - 1', 127, false],
  ['main.r', 252, true],
  ['main.pi', 3.25, true],
  ['util.Only[0]', 'x', false],
  ['"periscope.test/testdata/exprs/sub/a/util".Name', 'util-a', false],
  ['main.nilUser == nil', true, true],
  ['main.nilErr == nil && main.anyErr != nil', true, true],
  ['main.greet + "!" == "héllo, world!"', true, false],
  ['main.nums[3]', /index out of range \[3\] with length 3/, false],
  ['main.users["zed"]', /key "zed" not found in the map/, false],
  ['main.nilUser.Name', /nil pointer dereference/, false],
  ['main.anyErr.(*main.User)', /interface conversion: error is \*main\.MyErr, not \*main\.User/, false],
  ['main.nilErr.(*main.MyErr)', /interface conversion: error is nil, not \*main\.MyErr/, false],
  ['main.nums[0] / (main.nums[0] - 10)', /integer divide by zero/, false],
];

/** Expressions on main.park's frame, with the values the fixture passes in. */
const LOCALS: [string, unknown][] = [
  ['srv.Name', 'alpha'],
  ['srv.ID', 1],
  ['srv.Addr.Port', 80],
  ['n', 4],
  ['items[1]', 'q'],
  ['len(items)', 3],
  ['m["y"]', 2],
  ['err.(*main.MyErr).Code', 404],
  ['count', 7],
  ['total', 3],
  ['local', 'alpha!'],
  ['u.Age', 42],
  ['u.Name', 'Bob'],
  ['cfg.Servers[1].Name', 'beta'],
];

for (const tc of GO_TOOLCHAINS) {
  test(`expressions evaluate on a live process (${tc})`, async (t) => {
    const why = await toolchainUnavailable(tc);
    if (why) return t.skip(why);
    const dlvPath = await delvePath(); // built into .cache/tools on first use
    const fx = await buildFixture('exprs', { toolchain: tc });
    const bin = await GoBinary.open(fx.path);
    const child = await startTarget(fx.path);
    let dlv: Delve | undefined;
    const mem = new ProcMemFile(child.pid);
    try {
      const ctx = makeValueContext(bin, mem);
      for (const [src, want] of GLOBALS) {
        const c = checkExpression(bin, undefined, src);
        assert.ok(c.ok, `${src}: ${c.ok ? '' : JSON.stringify(c.errors)}`);
        const r = evaluate(c.plan, ctx);
        if (want instanceof RegExp) {
          assert.ok(!r.ok, `${src} should fail`);
          assert.match(r.error, want, src);
        } else assert.deepEqual(r.ok ? r.value : r.error, want, src);
      }
      const cond = checkExpression(bin, undefined, 'len(main.nums) == 3 && main.cfg.Servers[1].Weight < 1');
      assert.ok(cond.ok);
      assert.equal(evaluateCondition(cond.plan, ctx), true);
      const bad = checkExpression(bin, undefined, 'main.nums[9] > 0');
      assert.ok(bad.ok);
      assert.match((evaluateCondition(bad.plan, ctx) as { error: string }).error, /out of range/);

      // The frame of main.park, from our own snapshot (taken before Delve stops the process).
      const snap = snapshotProcess(child.pid, { pauseCapMs: TEST_PAUSE_CAP_MS });
      const g = snap.goroutines.find((x) => x.stack.frames.some((f) => f.function === 'main.park'));
      assert.ok(g, 'a goroutine parked in main.park');
      const frame = g.stack.frames.find((f) => f.function === 'main.park')!;
      const fc: FrameContext = { ctx, pc: addr(frame.pc - 1), cfa: frameCfa(g.stack, frame) };
      const ours = new Map<string, ReturnType<typeof evaluate>>();
      for (const [src] of LOCALS) {
        const c = checkExpression(bin, 'main.park', src);
        assert.ok(c.ok, `${src}: ${c.ok ? '' : JSON.stringify(c.errors)}`);
        ours.set(src, evaluate(c.plan, fc));
      }
      const nPlan = checkExpression(bin, 'main.park', 'n');
      assert.ok(nPlan.ok);
      const noCfa = evaluate(nPlan.plan, { ...fc, cfa: undefined });
      assert.ok(!noCfa.ok && noCfa.unavailable, 'without a CFA, stack variables are unavailable');
      // At park's entry srv is in a register (RAX): on a frame without registers it is unavailable.
      const entry = ctx.bias.toRuntime(bin.findFunction('main.park')!.lowPc);
      const srv = checkExpression(bin, 'main.park', 'srv');
      assert.ok(srv.ok);
      const atEntry = evaluate(srv.plan, { ...fc, pc: entry });
      assert.ok(!atEntry.ok && atEntry.unavailable);
      assert.match(atEntry.error, /in a register of an outer frame/);
      const outside = evaluate(srv.plan, {
        ...fc,
        pc: ctx.bias.toRuntime(bin.findFunction('main.main')!.lowPc),
      });
      assert.ok(!outside.ok && outside.unavailable);
      assert.match(outside.error, /srv is not in scope at line \d+ \(declared at line \d+\)/);

      dlv = await Delve.attach(dlvPath, child.pid);
      for (const [src, want] of GLOBALS) {
        if (!GLOBALS.find((x) => x[0] === src)?.[2] || want instanceof RegExp) continue;
        const c = checkExpression(bin, undefined, src);
        const r = c.ok ? evaluate(c.plan, ctx) : undefined;
        const dv: DlvVariable = await dlv.eval(src);
        assert.deepEqual(diffWithDelve(r?.ok ? r.value : null, dv), [], `${src} vs Delve`);
      }
      const st = await dlv.stacktrace(g.id, 30);
      const idx = st.findIndex((l) => l.function?.name === 'main.park');
      assert.ok(idx >= 0, 'Delve sees main.park on the goroutine');
      assert.equal(
        g.stackHi + st[idx]!.FrameOffset!,
        frameCfa(g.stack, frame),
        'our CFA is Delve frame offset + stack.hi',
      );
      let available = 0;
      for (const [src, want] of LOCALS) {
        const r = ours.get(src)!;
        let dv: DlvVariable | undefined;
        let dErr = '';
        try {
          dv = await dlv.eval(src, DEFAULT_LOAD, { goroutine: g.id, frame: idx });
        } catch (e) {
          dErr = String(e);
        }
        if (!dv || dv.unreadable) {
          assert.ok(
            !r.ok,
            `${src}: Delve cannot read it (${dErr || dv?.unreadable}), we said ${JSON.stringify(r)}`,
          );
          assert.ok(r.unavailable, `${src}: ${r.error}`);
          t.diagnostic(`${src}: unavailable for both (ours: ${r.error})`);
          continue;
        }
        assert.ok(r.ok, `${src}: Delve reads ${dv.value}, we said ${r.ok ? '' : r.error}`);
        assert.deepEqual(diffWithDelve(r.value, dv), [], `${src} vs Delve`);
        assert.deepEqual(r.value, want, src);
        available++;
      }
      assert.ok(available >= 6, `at least 6 of the frame's expressions are available (got ${available})`);
    } finally {
      await dlv?.close();
      mem.close();
      await child.kill();
    }
  });
}
