/**
 * Value decoding against Delve, for every toolchain: each package-level variable of
 * testdata/values is read by Periscope as a spec would (the expression checker and the
 * evaluator, plain forms) and by Delve (ListPackageVars with the same string and element
 * limits) and compared field by field (see compare.ts for the normalisations). Pretty forms are checked against what the program itself printed
 * (Go's String(), Format and Error output).
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NO_BIAS } from '../../../src/common/address.js';
import { GoBinary } from '../../../src/gobinary/go-binary.js';
import { globalIndex } from '../../../src/goruntime/expr/globals.js';
import { makeValueContext, withoutPretty } from '../../../src/goruntime/values/context.js';
import type { GoValue } from '../../../src/goruntime/values/decode.js';
import { ProcMemFile } from '../../../src/proc/memory.js';
import { Delve, type DlvLoadConfig, type DlvVariable, delvePath } from '../../../support/delve.js';
import { buildFixture, GO_TOOLCHAINS, toolchainUnavailable } from '../../../support/go-fixtures.js';
import { startTarget } from '../../../support/target.js';
import { type Comparison, compareWithDelve } from './compare.js';
import { evaluateGlobal } from './read-global.js';

const DELVE_CFG: DlvLoadConfig = {
  FollowPointers: true,
  MaxVariableRecurse: 3,
  MaxStringLen: 512,
  MaxArrayValues: 64,
  MaxStructFields: -1,
};

for (const tc of GO_TOOLCHAINS) {
  test(`values match Delve (${tc})`, { timeout: 600_000 }, async (t) => {
    const why = await toolchainUnavailable(tc);
    if (why) return t.skip(why);
    const dlvPath = await delvePath(); // built into .cache/tools on first use
    const fx = await buildFixture('values', { toolchain: tc });
    const proc = await startTarget(fx.path);
    const mem = new ProcMemFile(proc.pid);
    try {
      const bin = await GoBinary.open(fx.path);
      const ctx = withoutPretty(
        makeValueContext(bin, mem, NO_BIAS, { maxString: 512, maxElements: 64, maxDepth: 10 }),
      );
      const names = (globalIndex(ctx.dwarf).byPackage.get('main') ?? [])
        .filter((n) => n.startsWith('v'))
        .map((n) => `main.${n}`);
      assert.ok(names.length > 100, `expected the fixture's globals, found ${names.length}`);
      const ours = new Map<string, GoValue>();
      for (const n of names) {
        const r = evaluateGlobal(ctx, n);
        ours.set(n, r.ok ? r.value : { evaluationFailed: r.error });
      }
      const dlv = await Delve.attach(dlvPath, proc.pid);
      let vars: DlvVariable[];
      try {
        vars = await dlv.packageVars('^main\\.v', DELVE_CFG);
      } finally {
        await dlv.close();
      }
      const result: Comparison = { problems: [], compared: 0, skipped: [] };
      const seen = new Set<string>();
      for (const v of vars) {
        const mine = ours.get(v.name);
        if (mine === undefined) {
          result.problems.push(`${v.name}: Delve lists it, the expression checker does not know it`);
          continue;
        }
        seen.add(v.name);
        compareWithDelve(mine, v, v.name, result);
      }
      for (const n of names) if (!seen.has(n)) result.problems.push(`${n}: not listed by Delve`);
      t.diagnostic(
        `${fx.goVersion}: ${vars.length} globals, ${result.compared} values compared, ${result.skipped.length} skipped`,
      );
      for (const s of result.skipped) t.diagnostic(`skipped ${s}`);
      assert.deepEqual(result.problems, []);
    } finally {
      mem.close();
      await proc.kill();
    }
  });
}
