import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProcessSnapshot } from '../../src/snapshot/snapshot-types.js';
import { snapshotProcess } from '../../src/snapshot/take-snapshot.js';
import { effectiveSpec } from '../../src/spec/effective-spec.js';
import { EMPTY_SPEC } from '../../src/spec/spec-types.js';
import { GO_TOOLCHAINS, toolchainUnavailable } from '../../support/go-fixtures.js';
import { TEST_PAUSE_CAP_MS } from '../../support/pause-cap.js';
import type { Target } from '../../support/target.js';
import { describePairs, gkey, goroutineIn, joinLinks } from './link-join.js';
import { buildHttpChain, startChain } from './variants.js';

/** Waits until C's handler goroutine is parked on the mutex (it prints before it locks). */
async function lockedInC(pid: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const s = snapshotProcess(pid, { pauseCapMs: TEST_PAUSE_CAP_MS });
    if (
      s.goroutines.some(
        (g) =>
          g.waitReason === 'sync.Mutex.Lock' && g.stack.frames.some((f) => f.function === 'main.handleC'),
      )
    )
      return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('C never blocked on the mutex');
}

for (const tc of GO_TOOLCHAINS) {
  test(`net/http, ${tc}: A's waiting goroutine links to B's handler, whose call links to C's handler stuck on the lock`, async (t) => {
    const why = await toolchainUnavailable(tc);
    if (why) return t.skip(why);
    const { path, goVersion } = await buildHttpChain(tc);
    t.diagnostic(`built with ${goVersion}`);
    const targets: Target[] = [];
    try {
      const { a, b, c } = await startChain(path, targets);
      const spec = effectiveSpec(EMPTY_SPEC);
      await lockedInC(c.pid);
      const snaps = [a, b, c].map((p) => snapshotProcess(p.pid, { pauseCapMs: TEST_PAUSE_CAP_MS, spec }));
      const [sa, sb, sc] = snaps as [ProcessSnapshot, ProcessSnapshot, ProcessSnapshot];
      const gA = goroutineIn(sa, 'main.callB');
      const gB = goroutineIn(sb, 'main.handleB');
      const gC = goroutineIn(sc, 'main.handleC');
      assert.equal(gC.waitReason, 'sync.Mutex.Lock');

      const pairs = joinLinks(spec, snaps);
      assert.deepEqual(
        pairs
          .map((p) => `${p.link}: ${gkey(p.from.pid, p.from.goroutine)} -> ${gkey(p.to.pid, p.to.goroutine)}`)
          .sort(),
        [
          `http_call: ${gkey(sa.pid, gA.id)} -> ${gkey(sb.pid, gB.id)}`,
          `http_call: ${gkey(sb.pid, gB.id)} -> ${gkey(sc.pid, gC.id)}`,
        ].sort(),
        describePairs(pairs),
      );
      const ab = pairs.find((p) => p.from.pid === sa.pid)!;
      const bc = pairs.find((p) => p.from.pid === sb.pid)!;
      assert.deepEqual([ab.from.values.method, ab.from.values.path], ['GET', '/b']);
      assert.deepEqual([bc.from.values.method, bc.from.values.path], ['GET', '/c']);
      // The server's own string for the peer agrees with the captured IP and port.
      assert.equal(ab.to.values.remote_addr, ab.from.values.local);
      for (const p of pairs) assert.deepEqual({ ...p.from.errors, ...p.to.errors }, {});
    } finally {
      for (const x of targets.reverse()) await x.kill();
    }
  });
}
