/**
 * The guarantee that outlives us: when the process holding a pause dies by SIGKILL, the
 * kernel detaches its tracees and they run on, without ever having seen a signal.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { listThreads } from '../../src/proc/threads.js';
import { buildFixture } from '../../support/go-fixtures.js';
import { signalLines, startTarget, type Target } from '../../support/target.js';

const HOLDER = join(import.meta.dirname, 'pause-holder.js');

/** Runs pause-holder.js on a pid; resolves once it printed "paused", with the child and an exit promise. */
async function holdPause(pid: number, mode: 'hold' | 'die') {
  const child = spawn(process.execPath, [HOLDER, String(pid), mode], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exit = new Promise<string>((resolve) =>
    child.once('exit', (code, sig) => resolve(String(sig ?? code))),
  );
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (/^paused /m.test(out)) resolve();
      if (/^error /m.test(out)) reject(new Error(out));
    });
    child.once('exit', () => reject(new Error(`holder exited: ${out}`)));
  });
  return { child, exit, out };
}

describe('SIGKILL of the pausing process mid-pause', { timeout: 120_000 }, () => {
  let target: Target;
  const holders: ChildProcess[] = [];
  before(async () => {
    target = await startTarget((await buildFixture('signalnotify')).path);
  });
  after(async () => {
    for (const h of holders) h.kill('SIGKILL');
    await target?.kill();
  });

  for (const how of ['kills itself', 'is killed by another process'] as const) {
    it(`the target runs again within 1 s when the holder ${how}`, async (t) => {
      const holder = await holdPause(target.pid, how === 'kills itself' ? 'die' : 'hold');
      holders.push(holder.child);
      const pausedWall = Date.now();
      // The target may run again as soon as the holder dies: the window ends when the kill is sent
      // (for a holder that kills itself, right after it reports the pause: no window to check).
      let killSentWall = pausedWall;
      if (how === 'is killed by another process') {
        // While held, the target is stopped and prints nothing.
        assert.ok(
          listThreads(target.pid).every((th) => th.state === 't'),
          'all threads in a tracing stop',
        );
        await new Promise((r) => setTimeout(r, 150));
        killSentWall = Date.now();
        holder.child.kill('SIGKILL');
      }
      assert.equal(await holder.exit, 'SIGKILL');
      const killedAt = performance.now();
      const tick = await target.waitFor(/^tick/, 1000, killedAt);
      t.diagnostic(`first tick ${(tick.t - killedAt).toFixed(1)} ms after the holder died`);
      // Each tick carries the target's own clock, so pipe and event-loop delays do not matter.
      const ticksWhilePaused = target.lines.filter((l) => {
        const m = /^tick \d+ (\d+)/.exec(l.text);
        return m && Number(m[1]) > pausedWall + 2 && Number(m[1]) < killSentWall - 2;
      });
      assert.deepEqual(ticksWhilePaused, [], 'no ticks while paused');
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(target.exited(), false);
      assert.deepEqual(signalLines(target), []);
      for (const th of listThreads(target.pid)) assert.notEqual(th.state.toLowerCase(), 't');
    });
  }
});
