/**
 * Goroutines of a program with C code of its own (testdata/cgocalls, linked by the system
 * linker) against Go's own dump: blocked in a C call, spinning in C, parked in Go called back
 * from C, and parked on a thread C created. Go's traceback shows the Go frames of each (from
 * g.syscallpc/sp for a goroutine in C, through the cgo callback frames for the others), never
 * the C frames; so do we, without C call frame information.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type DumpGoroutine, parseGoroutineDump } from '../../../src/goruntime/goroutines/stack-dump.js';
import type { Goroutine } from '../../../src/goruntime/goroutines/types.js';
import { snapshotProcess } from '../../../src/snapshot/take-snapshot.js';
import { buildFixture, GO_TOOLCHAINS, toolchainUnavailable } from '../../../support/go-fixtures.js';
import { TEST_PAUSE_CAP_MS } from '../../../support/pause-cap.js';
import { startTarget, type Target } from '../../../support/target.js';

/** Asks the fixture for runtime.Stack(all) (it answers a line on stdin) and parses it. */
async function goDump(target: Target): Promise<DumpGoroutine[]> {
  const since = performance.now();
  target.child.stdin?.write('\n');
  await target.waitFor(/END-OF-DUMP/, 20_000, since);
  const out = target.lines
    .filter((l) => l.t >= since && !l.text.startsWith('stderr: '))
    .map((l) => `${l.text}\n`)
    .join('');
  return parseGoroutineDump(out);
}

const where = (f: { function: string; file: string; line: number }) => `${f.function} ${f.file}:${f.line}`;
const shown = (g: Goroutine) => g.stack.frames.filter((f) => !f.hidden).map(where);

const variants = [...GO_TOOLCHAINS.map((tc) => ({ tc, pie: false })), { tc: 'local' as const, pie: true }];
for (const { tc, pie } of variants) {
  test(`goroutines in and around C code match Go's own dump (${tc}${pie ? ', PIE' : ''})`, async (t) => {
    const why = await toolchainUnavailable(tc);
    if (why) return t.skip(why);
    const { path } = await buildFixture('cgocalls', {
      toolchain: tc,
      env: { CGO_ENABLED: '1' },
      flags: pie ? ['-buildmode=pie'] : [],
    });
    const target = await startTarget(path);
    try {
      const snap = snapshotProcess(target.pid, { pauseCapMs: TEST_PAUSE_CAP_MS });
      const dump = await goDump(target);
      const ours = new Map(snap.goroutines.map((g) => [g.id, g]));
      // Goroutine 1 writes the dump; the others stay where they were at our snapshot.
      const compared = dump.filter((d) => d.id !== 1 && d.state !== 'running' && d.state !== 'runnable');
      const mains = (d: DumpGoroutine) =>
        d.frames.map((f) => f.function).filter((f) => f.startsWith('main.'));
      for (const fn of ['main.blockedInC', 'main.spinningInC', 'main.callsC', 'main.goFromCThread'])
        assert.ok(
          compared.some((d) => mains(d).includes(fn)),
          `Go's dump shows a goroutine in ${fn}`,
        );
      for (const d of compared) {
        const g = ours.get(d.id);
        assert.ok(g, `goroutine ${d.id} (${d.state}) is in our snapshot`);
        assert.deepEqual(g.errors, [], `goroutine ${d.id}: no decode errors`);
        assert.equal(g.waitReason ?? g.status, d.state, `goroutine ${d.id}: state`);
        assert.deepEqual(shown(g), d.frames.map(where), `goroutine ${d.id}: frames`);
        assert.equal(g.lockedToThread, d.lockedToThread, `goroutine ${d.id}: locked to thread`);
      }
      t.diagnostic(`${compared.length} goroutines compared`);
    } finally {
      await target.kill();
    }
  });
}
