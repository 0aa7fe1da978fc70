import { DuckDBInstance } from '@duckdb/node-api';
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
await c.run('CREATE TABLE snapshots AS SELECT range AS snapshot_id, 2000::BIGINT AS goroutine_count FROM range(1,5)');
const W = (s) => `SELECT * FROM (\n${s}\n) AS periscope_cells\nLIMIT 2049`;
const variants = {
  plain: [W('SELECT snapshot_id, goroutine_count FROM snapshots ORDER BY snapshot_id'), (p) => {}],
  literal: [W('SELECT snapshot_id, goroutine_count FROM snapshots WHERE snapshot_id >= 0 ORDER BY snapshot_id'), (p) => {}],
  param: [W('SELECT snapshot_id, goroutine_count FROM snapshots WHERE snapshot_id >= $1 ORDER BY snapshot_id'), (p) => p.bindBigInt(1, 0n)],
  paramsel: [W('SELECT snapshot_id, goroutine_count, $1 AS x FROM snapshots ORDER BY snapshot_id'), (p) => p.bindBigInt(1, 0n)],
};
const ps = {};
for (const [k, [sql, b]] of Object.entries(variants)) ps[k] = await c.prepare(sql);
for (let round = 0; round < 3; round++) {
  const out = [];
  for (const [k, [, b]] of Object.entries(variants)) {
    const p = ps[k];
    const t = [];
    for (let i = 0; i < 1500; i++) { b(p); const s = performance.now(); const r = await p.run(); t.push(performance.now() - s); if (r.rowCount !== 4) throw new Error(k); }
    t.sort((a, b) => a - b);
    out.push(`${k} ${(t[750] * 1000).toFixed(0)}us`);
  }
  console.log(out.join('  '));
}
