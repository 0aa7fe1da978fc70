/**
 * Regions in the binary's read-only data are not copied (compile/emit-regions.ts): a string
 * literal's bytes (handle's `user` and `req.User`, from a table of literals) are left in the
 * file (REGION_IN_FILE, nothing written) and decode to the same values, while a string built
 * at run time (recurse's `tag`, "g" + a number) and a slice's elements are copied as before.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REGION, REGION_IN_FILE } from '../../src/probes/compile/record-layout.js';
import type { ProbeEvent } from '../../src/probes/decode/record-decode.js';
import { captured, withProbes } from './probe-run.js';

const USERS = ['alice', 'bob', 'carol'];

test('string literals are read from the file, strings made at run time from the process', async () => {
  await withProbes(
    [
      { name: 'h', at: { kind: 'entry', function: 'main.handle' }, captures: ['user', 'req.User', 'xs'] },
      { name: 'r', at: { kind: 'entry', function: 'main.recurse' }, captures: ['tag'] },
    ],
    async (run) => {
      await run.command('handle 6');
      await run.command('recurse 1 3');
      const byProbe = new Map(run.compiled.map((c) => [c.spec.name, c]));
      const status = (rec: Uint8Array, probe: string, capture: number): number => {
        const r = byProbe.get(probe)!.captures[capture]!.slot.regions[0]!;
        return new DataView(rec.buffer, rec.byteOffset, rec.byteLength).getInt32(r.off + REGION.status, true);
      };
      const events: { e: ProbeEvent; statuses: number[] }[] = [];
      const deadline = performance.now() + 10_000;
      while (events.length < 6 + 4 && performance.now() < deadline) {
        run.probes.pollRaw((rec) => {
          const e = run.probes.decode(rec.slice());
          const n = byProbe.get(e.probe)!.captures.length;
          events.push({ e, statuses: Array.from({ length: n }, (_, i) => status(rec, e.probe, i)) });
        });
        await new Promise((r) => setTimeout(r, 5));
      }
      const handle = events.filter((x) => x.e.probe === 'h');
      const recurse = events.filter((x) => x.e.probe === 'r');
      assert.equal(handle.length, 6);
      assert.equal(recurse.length, 4); // depths 3, 2, 1, 0
      for (const [i, { e, statuses }] of handle.entries()) {
        assert.equal(captured(e, 'user'), USERS[i % 3]);
        assert.equal(captured(e, 'req.User'), USERS[i % 3]);
        assert.deepEqual(
          captured(e, 'xs'),
          Array.from({ length: i % 6 }, (_, k) => i + k),
        );
        assert.equal(statuses[0], REGION_IN_FILE, 'user: a literal, left in the file');
        assert.equal(statuses[1], REGION_IN_FILE, 'req.User: a literal, left in the file');
        if (i % 6 !== 0) assert.equal(statuses[2], 0, 'xs: elements on the heap, copied');
      }
      for (const { e, statuses } of recurse) {
        assert.equal(captured(e, 'tag'), 'g0');
        assert.equal(statuses[0], 0, 'tag: made at run time, copied');
      }
    },
  );
});
