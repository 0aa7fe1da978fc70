/**
 * Pausing when things go wrong: no such process, a process killed mid-pause, a process traced
 * by someone else, pausing ourselves, and a deadline too short to stop every thread.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { PeriscopeError } from '../../src/common/errors.js';
import { PauseTimeoutError, pauseProcess } from '../../src/proc/pause.js';
import { lingeringThreads } from '../../src/proc/release.js';
import { listThreads, threadInfo } from '../../src/proc/threads.js';
import { buildFixture } from '../../support/go-fixtures.js';
import { signalLines, startTarget, type Target } from '../../support/target.js';

const HOLDER = join(import.meta.dirname, 'pause-holder.js');

function unusedPid(): number {
  for (let pid = 4_000_000; ; pid--) if (!existsSync(`/proc/${pid}`)) return pid;
}

function isKind(kind: string, re: RegExp) {
  return (e: unknown): boolean => e instanceof PeriscopeError && e.kind === kind && re.test(e.message);
}

const running = (pid: number): boolean =>
  listThreads(pid).every((th) => th.state !== 't' && th.state !== 'T');

describe('pause errors', { timeout: 120_000 }, () => {
  const targets: Target[] = [];
  const helpers: ChildProcess[] = [];
  after(async () => {
    for (const h of helpers) h.kill('SIGKILL');
    for (const t of targets) await t.kill();
  });
  const start = async (program = 'signalnotify', args: string[] = []): Promise<Target> => {
    const t = await startTarget((await buildFixture(program)).path, args);
    targets.push(t);
    return t;
  };

  it('a pid that does not exist is not-found', () => {
    const pid = unusedPid();
    assert.throws(() => pauseProcess(pid), isKind('not-found', new RegExp(`process ${pid} does not exist`)));
  });

  it('pausing this very process is refused', () => {
    assert.throws(() => pauseProcess(process.pid), isKind('bad-usage', /cannot pause this process itself/));
  });

  it('a process killed mid-pause: resume does not throw, its parent hears of its exit, a new pause is not-found', async () => {
    const target = await start();
    const paused = pauseProcess(target.pid);
    process.kill(target.pid, 'SIGKILL');
    const r = paused.resume();
    assert.equal(r.detached, 0);
    assert.equal(r.gone, paused.threads.length);
    const exited = await Promise.race([
      target.exitStatus().then(() => true),
      new Promise((res) => setTimeout(res, 2000, false)),
    ]);
    assert.equal(exited, true, 'the real parent (sh) saw the exit: we collected the traced threads');
    assert.equal(await target.exitStatus(), 'signal 9');
    assert.throws(() => pauseProcess(target.pid), isKind('not-found', /does not exist|exited/));
    assert.deepEqual(lingeringThreads(), []);
  });

  it('a pause of an already paused process says so', async () => {
    const target = await start();
    const paused = pauseProcess(target.pid);
    try {
      assert.throws(
        () => pauseProcess(target.pid),
        isKind('bad-usage', /already paused by this process; resume it first/),
      );
    } finally {
      paused.resume();
    }
  });

  it('a process traced by another process names the tracer', async () => {
    const target = await start();
    const holder = spawn(process.execPath, [HOLDER, String(target.pid), 'hold'], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    helpers.push(holder);
    let out = '';
    holder.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    while (!/^(paused|error)/m.test(out)) await new Promise((r) => setTimeout(r, 10));
    assert.match(out, /^paused/);
    assert.throws(
      () => pauseProcess(target.pid),
      isKind(
        'bad-usage',
        new RegExp(`being traced by PID ${holder.pid} \\(node\\), e\\.g\\. a debugger; detach it first`),
      ),
    );
    holder.stdin.write('resume\n');
    while (!/resumed/.test(out)) await new Promise((r) => setTimeout(r, 10));
    pauseProcess(target.pid).resume();
    await target.waitFor(/^tick/, 1000, performance.now());
    assert.deepEqual(signalLines(target), []);
  });

  it('a budget too short to stop every thread resumes everything and says so', async (t) => {
    const target = await start('manythreads');
    let timeouts = 0;
    for (let i = 0; i < 20; i++) {
      try {
        pauseProcess(target.pid, { budgetMs: 0 }).resume();
      } catch (e) {
        assert.ok(e instanceof PauseTimeoutError, String(e));
        assert.match(e.message, /took longer than 0 ms .* it was resumed/);
        timeouts++;
      }
      // The stop runs SCHED_FIFO (where permitted): given up, this thread is ordinary again.
      assert.equal(threadInfo(process.pid, process.pid)?.policy, 0, 'this thread is SCHED_OTHER again');
    }
    assert.ok(timeouts > 0, 'a 0 ms budget gave up at least once in 20 pauses');
    for (let i = 0; i < 100 && lingeringThreads().length > 0; i++)
      await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(lingeringThreads(), [], 'threads that stopped late were detached in the background');
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(running(target.pid), 'no thread left stopped');
    await target.waitFor(/^tick/, 1000, performance.now());
    t.diagnostic(`${timeouts}/20 pauses with a 0 ms budget timed out`);
  });
});
