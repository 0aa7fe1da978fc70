/**
 * The probes traces share (spawn, panic: one pair per program) live as long as the last of
 * their traces: a trace added later, with the same settings, keeps the pair on after the
 * first trace's time to live ends, although the pair's own definition has not changed since
 * the first (src/server/probe-orders.ts). The stored versions are given as the store keeps them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProbeOrders } from '../../src/server/probe-orders.js';
import type { SpecVersion, Store } from '../../src/store/store.js';

const MIN = 60_000;
const trace = (name: string) =>
  `  - name: ${name}\n    program: api\n    function: main.${name}\n    keep: panic\n    ttl: 1h\n`;
const head = 'programs:\n  - name: api\n    match: { executable: "api$" }\ntraces:\n';

test("a trace's shared spawn and panic probes live until the last of its program's traces ends", async () => {
  const now = Date.now();
  const versions: SpecVersion[] = [
    {
      version: 1,
      createdAt: new Date(now - 70 * MIN).toISOString(),
      author: 't',
      diff: '',
      yaml: head + trace('a'),
    },
    {
      version: 2,
      createdAt: new Date(now - 20 * MIN).toISOString(),
      author: 't',
      diff: '',
      yaml: head + trace('a') + trace('b'),
    },
  ];
  // ProbeOrders reads only the spec log of the store.
  const store = { specLog: async () => versions } as unknown as Store;
  const m = await new ProbeOrders(store).message();
  const left = new Map(m.probes.map((p) => [p.probe.name, p.expiresInMs]));
  assert.equal(left.has('a:start'), false, "a's hour is over");
  assert.ok((left.get('b:start') ?? 0) > 39 * MIN);
  for (const shared of ['traces.api:spawn', 'traces.api:panic']) {
    const ms = left.get(shared);
    assert.ok(ms !== undefined && ms > 39 * MIN && ms <= left.get('b:start')!, `${shared}: ${ms}`);
  }
  assert.deepEqual(
    m.traces?.map((t) => t.name),
    ['b'],
  );
});
