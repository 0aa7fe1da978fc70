/**
 * The agent's probe runner carries the spec's redaction to the probe thread (the real runner,
 * its thread and testdata/probe-values, main.handle at entry): under the spec's name rule the
 * `user` capture is a mark in what the agent sends; once the spec's `redaction.off` lists the
 * process's program, the probes are placed again and the same capture is the value.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fixtureBinary } from '../../support/probe-fixture.js';
import { startTarget } from '../../support/target.js';
import { collectingRunner, entryProbe } from './probe-thread.js';

const USER_MARK = { '…': 'redacted', rule: 'user', type: 'string' };

test('the runner applies the spec redaction to probe events, off for the process program too', async () => {
  const bin = await fixtureBinary();
  const target = await startTarget(bin.path);
  const dir = mkdtempSync(join(tmpdir(), 'periscope-runner-'));
  const { runner, events, logs } = collectingRunner({ runtimeDir: dir, backend: 'bpf', sendEveryMs: 50 });
  try {
    runner.start();
    const probe = { ...entryProbe('handle', 'main.handle', ['user', 'n']), program: 'api' };
    runner.setOrders({ type: 'probes', specVersion: 1, probes: [{ probe, expiresInMs: 600_000 }] });
    runner.setRedaction({ names: ['user'], types: [], off: [] });
    runner.setProcesses([
      {
        key: `test:${target.pid}:1`,
        hostname: 'test',
        pid: target.pid,
        executable: bin.path,
        cmdline: [bin.path],
        labels: {},
        programs: ['api'],
      },
    ]);
    /**
     * Calls `handle 3` until its 3 events all satisfy `ok` (the probes may still be being
     * placed, or placed again, when a round starts); fails after 20 s with the last events.
     */
    const until = async (what: string, ok: (user: unknown) => boolean): Promise<void> => {
      const deadline = performance.now() + 20_000;
      for (;;) {
        events.length = 0;
        const since = performance.now();
        target.child.stdin!.write('handle 3\n');
        await target.waitFor(/^done handle/, 60_000, since);
        const end = performance.now() + 1000;
        while (events.length < 3 && performance.now() < end) await sleep(20);
        if (events.length === 3 && events.every((e) => ok(e.values.user))) return;
        if (performance.now() > deadline)
          assert.fail(
            `${what}: ${JSON.stringify(events.map((e) => e.values.user))} (log: ${logs.join(' | ')})`,
          );
      }
    };
    await until('the spec name rule marks user', (u) => JSON.stringify(u) === JSON.stringify(USER_MARK));
    runner.setRedaction({ names: ['user'], types: [], off: ['api'] });
    await until('off for the process program shows user', (u) => typeof u === 'string');
  } finally {
    await runner.stop();
    await target.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});
