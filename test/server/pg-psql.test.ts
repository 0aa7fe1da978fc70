/**
 * The PostgreSQL protocol with the real psql: a token as password, several statements in one
 * query, PostgreSQL's text formats, `\dt` and `\d`, a join, refused logins and a refused DROP
 * (25006) on a connection that stays usable, and the audit log recording what psql ran.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { dataDirWithSnapshot, type PgTestServer, pgServer, psql } from './pg-support.js';

let pg: PgTestServer;
let conn: (db?: string) => string;

before(async () => {
  pg = await pgServer(await dataDirWithSnapshot());
  conn = (db = 'latest') => `host=127.0.0.1 port=${pg.port} dbname=${db} user=tester sslmode=disable`;
});

after(() => pg.server.close());

test('psql runs several statements in one query, with PostgreSQL text formats and UTF-8 lengths', async () => {
  const r = await psql(
    conn(),
    pg.user,
    '-A',
    '-c',
    "SELECT 'héllo wörld' AS s, true AS b, TIMESTAMP '2024-01-01 12:00:00.5' AS t, [1, 2] AS l; SELECT count(*) AS n FROM goroutines",
  );
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.deepEqual(lines.slice(0, 3), ['s|b|t|l', 'héllo wörld|t|2024-01-01 12:00:00.5|{1,2}', '(1 row)']);
  assert.equal(lines[3], 'n');
  assert.ok(Number(lines[4]) > 10, r.stdout);
});

test('psql \\dt lists the tables and \\d goroutines shows its columns with PostgreSQL types', async () => {
  const dt = await psql(conn(), pg.user, '-c', '\\dt');
  assert.equal(dt.code, 0, dt.stderr);
  assert.match(dt.stdout, /List of relations/);
  for (const t of ['goroutines', 'frames', 'processes', 'snapshots'])
    assert.match(dt.stdout, new RegExp(`main\\s+\\|\\s+${t}\\s+\\|\\s+table`));
  const d = await psql(conn(), pg.user, '-c', '\\d goroutines');
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stdout, /Table "main\.goroutines"/);
  assert.match(d.stdout, /goroutine_id\s+\|\s+bigint/);
  assert.match(d.stdout, /status\s+\|\s+text/);
  assert.match(d.stdout, /system\s+\|\s+boolean/);
  assert.match(d.stdout, /labels\s+\|\s+json/);
  assert.equal(d.stderr, '');
  const plus = await psql(conn(), pg.user, '-c', '\\d+ goroutines');
  assert.equal(plus.stderr, '');
  assert.match(plus.stdout, /Column\s+\|\s+Type\s+\|.*\|\s+Storage\s+\|/);
  assert.match(plus.stdout, /wait_reason\s+\|\s+text\s+\|/);
  const missing = await psql(conn(), pg.user, '-c', '\\d no_such_table');
  assert.match(missing.stderr, /Did not find any relation named "no_such_table"/);
});

test('psql joins goroutines with frames and gets what the HTTP query path returns', async () => {
  const sql =
    'SELECT g.status, count(*) AS frames FROM goroutines g JOIN frames f USING (snapshot_id, process_id, goroutine_id) GROUP BY 1 ORDER BY 1';
  const r = await psql(conn(), pg.user, '-A', '-t', '-F', ',', '-c', sql);
  assert.equal(r.code, 0, r.stderr);
  const http = await pg.server.context.store.query(sql, { latest: true });
  assert.ok(http.rows.length > 0);
  assert.equal(r.stdout.trim(), http.rows.map((row) => row.join(',')).join('\n'));
});

// psql prints no SQLSTATE for a failed login; pg-node.test.ts checks 28P01 and 3D000.
test('a wrong password, an agent token and an unknown database are refused at login', async () => {
  const wrong = await psql(conn(), 'psk_nope_nope', '-c', 'SELECT 1');
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /FATAL:\s+password authentication failed/);
  const agent = await psql(conn(), pg.agent, '-c', 'SELECT 1');
  assert.match(
    agent.stderr,
    /FATAL:\s+this is an agent token; PostgreSQL connections need a user or admin token/,
  );
  const db = await psql(conn('postgres'), pg.user, '-c', 'SELECT 1');
  assert.match(db.stderr, /FATAL:\s+database "postgres" does not exist: name a scope/);
  const denied = pg.server.context.audit.list({}).entries.filter((e) => e.action === 'denied');
  assert.ok(denied.some((e) => (e.details as { protocol?: string }).protocol === 'postgresql'));
});

test('DROP is refused with 25006 and the connection keeps answering; the audit log has both', async () => {
  const r = await psql(conn(), pg.user, '-A', '-t', '-c', 'DROP TABLE goroutines', '-c', 'SELECT 42');
  assert.match(r.stderr, /ERROR:\s+25006: DROP statements are refused/);
  assert.equal(r.stdout.trim(), '42');
  const still = await pg.server.context.store.query('SELECT count(*) FROM goroutines', { latest: true });
  assert.ok(Number(still.rows[0]![0]) > 0);
  const queries = pg.server.context.audit
    .list({})
    .entries.filter(
      (e) => e.action === 'query' && (e.details as { protocol?: string }).protocol === 'postgresql',
    );
  const drop = queries.find((e) => JSON.stringify(e.details).includes('DROP TABLE goroutines'));
  assert.equal(drop?.outcome, 'error');
  assert.equal(drop?.actor.name, 'pg-user');
  assert.ok(queries.some((e) => e.outcome === 'ok' && JSON.stringify(e.details).includes('SELECT 42')));
});

test('the database name chooses the scope: snapshot_N and all', async () => {
  const one = await psql(
    conn('snapshot_1'),
    pg.user,
    '-A',
    '-t',
    '-c',
    'SELECT min(snapshot_id), max(snapshot_id) FROM goroutines',
  );
  assert.equal(one.stdout.trim(), '1|1', one.stderr);
  const all = await psql(
    conn('all'),
    pg.user,
    '-A',
    '-t',
    '-c',
    'SELECT count(DISTINCT snapshot_id) FROM snapshots',
  );
  assert.equal(all.stdout.trim(), '1', all.stderr);
  const none = await psql(conn('snapshot_99'), pg.user, '-A', '-t', '-c', 'SELECT 1 FROM goroutines');
  assert.match(none.stderr, /ERROR:\s+\w{5}: .*99/);
});

test("psql's cancel (Ctrl-C) stops a long query with 57014", async () => {
  const child = spawn(
    '/usr/bin/psql',
    [
      '-X',
      '-v',
      'VERBOSITY=verbose',
      conn(),
      '-c',
      'SELECT count(*) FROM range(1000000) a, range(10000000) b',
    ],
    { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PGPASSWORD: pg.user } },
  );
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // The query is running once the server has the session's statement in progress: 1.5 s on a
  // quiet machine. On a loaded one a cancel can come before the statement started (nothing to
  // cancel yet), so Ctrl-C is pressed again every 2 s, as a user would, until psql exits.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  child.kill('SIGINT');
  const again = setInterval(() => child.kill('SIGINT'), 2000);
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await exited;
  clearInterval(again);
  clearTimeout(timer);
  assert.equal(code, 1, stderr);
  assert.match(stderr, /ERROR:\s+57014: canceling statement due to user request/);
  const r = await psql(conn(), pg.user, '-A', '-t', '-c', 'SELECT 1');
  assert.equal(r.stdout.trim(), '1');
});
