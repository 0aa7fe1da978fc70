/**
 * `goroutines.top_function` is the first frame Go's own traceback prints, not the innermost
 * frame: a goroutine blocked on a channel is in runtime.gopark, which Go hides. The oracle
 * is the zoo's runtime.Stack(all), taken right after the snapshot. Stores written when the
 * column held the innermost frame are corrected when opened for writing.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { parseGoroutineDump } from '../../src/goruntime/goroutines/stack-dump.js';
import { DB_FILE } from '../../src/store/data-dir.js';
import { freshDataDir, inputOf, objects, openStore, startFixture, takeSnapshot } from './store-support.js';

test('top_function is the first frame Go prints (runtime.gopark and its kin are hidden)', async () => {
  const dir = freshDataDir();
  const zoo = await startFixture('goroutines');
  let dump: ReturnType<typeof parseGoroutineDump>;
  let snap: ReturnType<typeof takeSnapshot>;
  try {
    snap = takeSnapshot(zoo.pid);
    const since = performance.now();
    zoo.child.stdin?.write('\n');
    await zoo.waitFor(/END-OF-DUMP/, 20_000, since);
    dump = parseGoroutineDump(
      zoo.lines
        .filter((l) => l.t >= since && !l.text.startsWith('stderr: '))
        .map((l) => `${l.text}\n`)
        .join(''),
    );
  } finally {
    await zoo.kill();
  }
  let store = await openStore(dir);
  let id: number;
  try {
    id = await store.addSnapshot(inputOf(snap));
    const rows = objects(
      await store.query('SELECT goroutine_id, top_function FROM goroutines WHERE NOT system', {
        snapshot: id,
      }),
    );
    const top = new Map(rows.map((r) => [Number(r.goroutine_id), String(r.top_function)]));
    // Blocked goroutines stay where they were between our snapshot and Go's dump.
    const blocked = dump.filter((d) => d.id !== 1 && d.state !== 'running' && d.state !== 'runnable');
    assert.ok(blocked.length > 10, `the zoo has blocked goroutines (${blocked.length})`);
    for (const d of blocked)
      assert.equal(top.get(d.id), d.frames[0]!.function, `goroutine ${d.id} [${d.state}]`);
    // (The runtime's own goroutines, which runtime.Stack leaves out, show every frame: Go
    // prints them all when it would print none.)
    assert.ok(![...top.values()].includes('runtime.gopark'), 'no user goroutine shows runtime.gopark');
  } finally {
    store.close();
  }

  // A store written before: top_function held the innermost frame. Opened for writing, it is corrected.
  const db = await DuckDBInstance.create(join(dir, DB_FILE));
  const conn = await db.connect();
  await conn.run(
    'UPDATE raw.goroutines g SET top_function = f.function FROM raw.frames f WHERE f.depth = 0 AND f.snapshot_id = g.snapshot_id AND f.process_id = g.process_id AND f.goroutine_id = g.goroutine_id',
  );
  await conn.run("DELETE FROM raw.meta WHERE key = 'top_function'");
  const old = await conn.runAndReadAll(
    "SELECT count(*) FROM raw.goroutines WHERE top_function = 'runtime.gopark'",
  );
  assert.ok(Number(old.getRows()[0]![0]) > 0, 'the old form had runtime.gopark');
  conn.closeSync();
  db.closeSync();
  store = await openStore(dir);
  try {
    const r = await store.query(
      "SELECT count(*) FROM goroutines WHERE top_function = 'runtime.gopark' AND NOT system",
      {
        snapshot: id,
      },
    );
    assert.equal(Number(r.rows[0]![0]), 0);
  } finally {
    store.close();
  }
});
