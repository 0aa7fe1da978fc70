/**
 * Benchmark: what a REPEATABLE READ block costs over Periscope's PostgreSQL port. Its
 * statements read one view of the store: the connection's session runs them in one read-only
 * DuckDB transaction (BEGIN at the block's first query, COMMIT at its end). The anchor is the
 * same block in READ COMMITTED (each statement reads the store as it is), measured in turn on
 * the same connection: BEGIN, two small queries, COMMIT, each a simple query.
 *
 * Usage: npx tsc -p . && node dist/bench/pg-isolation.js [--rounds 300] [--goroutines 2000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../src/server/server.js';
import { describeMachine, loadAverage, today } from '../support/machine.js';
import { WireClient } from '../support/pg-wire-client.js';
import { median, ratio } from '../support/stats.js';
import { writeSyntheticStore } from '../support/synthetic-store.js';
import { formatTable } from '../support/table.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}
const ROUNDS = Number(arg('rounds') ?? 300);
const GOROUTINES = Number(arg('goroutines') ?? 2000);
const SNAPSHOTS = 4;
const STATEMENTS = [
  'SELECT snapshot_id, goroutine_count FROM snapshots ORDER BY snapshot_id',
  "SELECT count(*) FROM goroutines WHERE status = 'running'",
];

const us = (x: number): string => `${Math.round(x * 1000)} us`;

/** The time of one block (BEGIN …, the statements, COMMIT), in ms; checks that the statements ran. */
async function block(c: WireClient, begin: string): Promise<number> {
  const t = performance.now();
  await c.query(begin);
  for (const s of STATEMENTS) if ((await c.query(s)).rows === 0) throw new Error(`no rows: ${s}`);
  await c.query('COMMIT');
  return performance.now() - t;
}

async function main(): Promise<void> {
  const machine = describeMachine();
  console.log(
    `pg-isolation: ${ROUNDS} rounds of a block of ${STATEMENTS.length} small queries; ${SNAPSHOTS} snapshots × ${GOROUTINES} goroutines; ${machine.short}; Node ${machine.node}; load ${loadAverage()}; ${today()}`,
  );
  const root = mkdtempSync(join(tmpdir(), 'periscope-bench-pgiso-'));
  const dataDir = join(root, 'data');
  await writeSyntheticStore(dataDir, SNAPSHOTS, GOROUTINES);
  const server = await startServer({ dataDir, port: 0, pg: { port: 0 }, agentLog: () => undefined });
  try {
    const token = (await server.context.tokens.create('user', 'bench')).token;
    const c = await WireClient.connect({
      port: server.pgPort!,
      user: 'bench',
      database: 'all',
      password: token,
    });
    const levels = ['ISOLATION LEVEL REPEATABLE READ', 'ISOLATION LEVEL READ COMMITTED'] as const;
    const times: Record<(typeof levels)[number], number[]> = {
      'ISOLATION LEVEL REPEATABLE READ': [],
      'ISOLATION LEVEL READ COMMITTED': [],
    };
    for (let i = 0; i < 20; i++) for (const l of levels) await block(c, `BEGIN ${l}`);
    // In turn, round by round, so that the machine's load weighs on both alike.
    for (let i = 0; i < ROUNDS; i++) for (const l of levels) times[l].push(await block(c, `BEGIN ${l}`));
    c.close();
    const rr = median(times['ISOLATION LEVEL REPEATABLE READ']);
    const rc = median(times['ISOLATION LEVEL READ COMMITTED']);
    console.log(
      formatTable([
        ['measure', 'REPEATABLE READ', 'READ COMMITTED (anchor)', 'ratio (anchor/ours)'],
        [
          `block: BEGIN, ${STATEMENTS.length} small queries, COMMIT (median of ${ROUNDS})`,
          us(rr),
          us(rc),
          ratio(rc, rr),
        ],
        ['one view of the store, per block (difference)', us(rr - rc), '', ''],
      ]),
    );
    console.log(`load at the end: ${loadAverage()}`);
  } finally {
    await server.close();
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
