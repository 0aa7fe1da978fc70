/**
 * Redaction of probe events (testdata/probe-values, main.handle at entry): decoded with a
 * user's rules (names `user`, type `main.Point`), the `user` argument, the `req.User`
 * expression, the User field inside `req`, the *Point inside it and `*req.Where` are marks,
 * while the other values decode as usual; attached without rules, the same captures show
 * the values (so the marks come from the rules).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redactor } from '../../src/goruntime/values/index.js';
import type { ProbeEvent } from '../../src/probes/decode/record-decode.js';
import { captured, withProbes } from './probe-run.js';

const USERS = ['alice', 'bob', 'carol'];
const spec = {
  name: 'handle',
  at: { kind: 'entry', function: 'main.handle' },
  captures: ['user', 'n', 'req', 'req.User', 'req.ID', '*req.Where'],
  limits: { maxDepth: 6 },
} as const;

async function events(redaction: Redactor | undefined): Promise<ProbeEvent[]> {
  let out: ProbeEvent[] = [];
  await withProbes(
    [spec],
    async (run) => {
      await run.command('handle 6');
      await run.drain(() => run.events.length >= 6);
      out = [...run.events];
    },
    redaction ? { redaction } : {},
  );
  assert.equal(out.length, 6);
  return out;
}

test('probe events: names and types of the rules are marks, the rest decodes; without rules the values show', async () => {
  const redacted = await events(new Redactor({ names: ['user'], types: ['main.Point'] }));
  redacted.forEach((e, i) => {
    assert.deepEqual(captured(e, 'user'), { '…': 'redacted', rule: 'user', type: 'string' });
    assert.deepEqual(captured(e, 'req.User'), { '…': 'redacted', rule: 'user', type: 'string' });
    assert.equal(captured(e, 'n'), i);
    assert.equal(captured(e, 'req.ID'), i * 7);
    const req = (captured(e, 'req') as { value: Record<string, unknown> }).value;
    assert.deepEqual(req.User, { '…': 'redacted', rule: 'user', type: 'string' });
    assert.equal(req.ID, i * 7);
    if (i % 5 === 0) assert.equal(req.Where, null);
    else {
      assert.deepEqual((req.Where as { value: unknown }).value, {
        '…': 'redacted',
        rule: 'main.Point',
        type: 'main.Point',
      });
      assert.deepEqual(captured(e, '*req.Where'), {
        '…': 'redacted',
        rule: 'main.Point',
        type: 'main.Point',
      });
    }
  });
  const plain = await events(undefined);
  plain.forEach((e, i) => {
    assert.equal(captured(e, 'user'), USERS[i % 3]);
    assert.equal(captured(e, 'req.User'), USERS[i % 3]);
    if (i % 5 !== 0) assert.deepEqual(captured(e, '*req.Where'), { X: i, Y: -i });
  });
});
