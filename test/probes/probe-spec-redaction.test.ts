/**
 * The spec's redaction reaches probe events (the agent's probe thread, testdata/probe-values,
 * main.handle at entry): the spec's names and types are marks as in snapshots; `off` for the
 * process's program shows the values; `off` for another program changes nothing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { WireProbeEvent } from '../../src/protocol/messages.js';
import type { RedactionSpec } from '../../src/spec/spec-types.js';
import { fixtureBinary } from '../../support/probe-fixture.js';
import { startTarget } from '../../support/target.js';
import { entryProbe, startProbeThread } from './probe-thread.js';

const USERS = ['alice', 'bob', 'carol'];
const USER_MARK = { '…': 'redacted', rule: 'user', type: 'string' };
const POINT_MARK = { '…': 'redacted', rule: 'main.Point', type: 'main.Point' };

test('probe events follow the spec redaction: its names and types, and off only where it says', async () => {
  const bin = await fixtureBinary();
  const target = await startTarget(bin.path);
  const thread = startProbeThread();
  try {
    const pid = target.pid;
    const probe = entryProbe('handle', 'main.handle', ['user', 'n', '*req.Where'], {
      limits: { maxDepth: 4 },
    });
    let ids = '';
    /** The 6 events of `handle 6` with the probe placed under `redaction`. */
    const run = async (redaction: RedactionSpec): Promise<WireProbeEvent[]> => {
      thread.want(pid, [probe], { redaction, programs: ['api'] });
      await thread.until('probe placed again', () => {
        const s = thread.status(pid);
        return s?.attached.includes('handle') === true && s.programIds.join() !== ids;
      });
      ids = thread.status(pid)!.programIds.join();
      const from = thread.events.length;
      const since = performance.now();
      target.child.stdin!.write('handle 6\n');
      await target.waitFor(/^done handle/, 60_000, since);
      await thread.until('6 events', () => thread.events.length - from >= 6);
      return thread.events.slice(from);
    };
    const rules = { names: ['user'], types: ['main.Point'] };

    const redacted = await run({ ...rules, off: [] });
    redacted.forEach((e, i) => {
      assert.deepEqual(e.values.user, USER_MARK, 'the spec name rule marks user');
      assert.equal(e.values.n, i);
      if (i % 5 !== 0)
        assert.deepEqual(e.values['*req.Where'], POINT_MARK, 'the spec type rule marks main.Point');
    });

    const elsewhere = await run({ ...rules, off: ['web'] });
    for (const e of elsewhere) assert.deepEqual(e.values.user, USER_MARK, 'off for another program');

    const off = await run({ ...rules, off: ['api'] });
    off.forEach((e, i) => {
      assert.equal(e.values.user, USERS[i % 3], 'off for the process program: the value');
      if (i % 5 !== 0) assert.deepEqual(e.values['*req.Where'], { X: i, Y: -i });
    });
  } finally {
    await thread.close();
    await target.kill();
  }
});
