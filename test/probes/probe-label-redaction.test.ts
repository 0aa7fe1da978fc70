/**
 * pprof labels in probe events are redacted like values (the agent's probe thread,
 * testdata/probe-values `labeled`, main.small at entry with labels): the value of a label
 * whose key matches a default name (`session_token`) or a spec's name (`user`) is the mark's
 * text; the others, and every label where the spec turns redaction off for the process's
 * program, are as the program set them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { WireProbeEvent } from '../../src/protocol/messages.js';
import type { RedactionSpec } from '../../src/spec/spec-types.js';
import { fixtureBinary } from '../../support/probe-fixture.js';
import { startTarget } from '../../support/target.js';
import { entryProbe, startProbeThread } from './probe-thread.js';

const mark = (rule: string) => JSON.stringify({ '…': 'redacted', rule });

test('probe events carry pprof labels with secret-looking keys redacted, unless off for the program', async (t) => {
  const bin = await fixtureBinary();
  if (bin.runtimeLayout().labels.kind !== 'list') {
    t.skip('probes read labels from Go 1.24 on (a list); this toolchain keeps them in a map');
    return;
  }
  const target = await startTarget(bin.path);
  const thread = startProbeThread();
  try {
    const pid = target.pid;
    const probe = entryProbe('lab', 'main.small', ['a'], { labels: true, condition: { expr: 's == "l"' } });
    let ids = '';
    /** The 3 events of `labeled 3` with the probe placed under `redaction`. */
    const run = async (redaction: RedactionSpec): Promise<WireProbeEvent[]> => {
      thread.want(pid, [probe], { redaction, programs: ['api'] });
      await thread.until('probe placed again', () => {
        const s = thread.status(pid);
        return s?.attached.includes('lab') === true && s.programIds.join() !== ids;
      });
      ids = thread.status(pid)!.programIds.join();
      const from = thread.events.length;
      const since = performance.now();
      target.child.stdin!.write('labeled 3\n');
      await target.waitFor(/^done labeled/, 60_000, since);
      await thread.until('3 events', () => thread.events.length - from >= 3);
      return thread.events.slice(from);
    };
    const redacted = await run({ names: ['user'], types: [], off: [] });
    assert.equal(redacted.length, 3);
    for (const e of redacted)
      assert.deepEqual(e.labels, { user: mark('user'), calls: '3', session_token: mark('token') });
    const off = await run({ names: ['user'], types: [], off: ['api'] });
    for (const e of off) assert.deepEqual(e.labels, { user: 'alice', calls: '3', session_token: 'tok-3' });
  } finally {
    await thread.close();
    await target.kill();
  }
});
