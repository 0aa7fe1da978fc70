/**
 * Signals around a pause: one that arrives while we stop the threads is delivered after the
 * resume, never swallowed; a process stopped by SIGSTOP stays stopped after our pause.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { PeriscopeError } from '../../src/common/errors.js';
import { type Paused, pauseProcess } from '../../src/proc/pause.js';
import { listThreads } from '../../src/proc/threads.js';
import { buildFixture } from '../../support/go-fixtures.js';
import { startTarget, type Target } from '../../support/target.js';

describe('signals around a pause', { timeout: 120_000 }, () => {
  const targets: Target[] = [];
  after(async () => {
    for (const t of targets) await t.kill();
  });

  it('a signal sent while paused, or just before, is delivered after the resume, never swallowed', async (t) => {
    const bin = await buildFixture('signalnotify');
    let held = 0;
    let tooLate = 0;
    for (let i = 0; i < 20; i++) {
      const target = await startTarget(bin.path);
      targets.push(target);
      const before = i % 2 === 1;
      if (before) process.kill(target.pid, 'SIGUSR1');
      let paused: Paused | undefined;
      try {
        paused = pauseProcess(target.pid);
      } catch (e) {
        // Sent before the pause, the signal may have ended the program before we got to it.
        assert.ok(before && e instanceof PeriscopeError && e.kind === 'not-found', String(e));
        tooLate++;
      }
      if (paused) {
        if (!before) process.kill(target.pid, 'SIGUSR1');
        held += paused.threads.filter((th) => th.stop === 'signal' && th.signal === 10).length;
        paused.resume();
      }
      await target.waitFor(/got signal user defined signal 1/, 2000);
      assert.equal(await target.exitStatus(), 42);
    }
    t.diagnostic(
      `20 signals: ${held} held in a signal-delivery-stop and re-injected, ${tooLate} acted on before the pause`,
    );
  });

  it('a process stopped by SIGSTOP is reported as group-stopped and stays stopped after resume', async () => {
    const target = await startTarget((await buildFixture('spinloop')).path);
    targets.push(target);
    process.kill(target.pid, 'SIGSTOP');
    for (let i = 0; i < 100 && !listThreads(target.pid).every((th) => th.state === 'T'); i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const paused = pauseProcess(target.pid);
    paused.resume();
    assert.ok(
      paused.threads.every((th) => th.stop === 'group-stop'),
      JSON.stringify(paused.threads.map((x) => x.stop)),
    );
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(
      listThreads(target.pid).every((th) => th.state === 'T'),
      'still stopped, as its sender wanted',
    );
    process.kill(target.pid, 'SIGCONT');
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(
      listThreads(target.pid).some((th) => th.state === 'R'),
      'runs again after SIGCONT',
    );
  });
});
