/**
 * The session's TimeZone over the PostgreSQL port, as PostgreSQL has it: TIMESTAMPTZ values
 * printed in the zone the client named (psql's PGTZ in the startup packet; node-postgres by
 * SET TimeZone / SET TIME ZONE), else the server's; RESET goes back; a zone that is not one is
 * refused with 22023 (at login: FATAL). Each path of the values: printed by DuckDB in bulk (a
 * statement without parameters), printed here (with parameters), and binary (the instant).
 * The server's own zone is that of a real `periscope server` started with TZ=Europe/Paris.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { createToken, startServerProc, tempDir } from '../../support/fleet.js';
import { dataDirWithSnapshot, type PgTestServer, pgServer, psqlWithEnv } from './pg-support.js';

let srv: PgTestServer;

before(async () => {
  srv = await pgServer(await dataDirWithSnapshot());
});

after(() => srv.server.close());

const VALUES =
  "SELECT TIMESTAMPTZ '2024-01-01 12:00:00.25+00' AS winter, TIMESTAMPTZ '2024-07-01 12:00:00+00' AS summer, NULL::TIMESTAMPTZ AS none, current_setting('TimeZone') AS zone";

async function client(): Promise<{ c: pg.Client; reported: string[] }> {
  const c = new pg.Client({
    host: '127.0.0.1',
    port: srv.port,
    user: 't',
    database: 'latest',
    password: srv.user,
  });
  const reported: string[] = [];
  // The ParameterStatus messages of TimeZone, at login and after a SET.
  (c as unknown as { connection: NodeJS.EventEmitter }).connection.on(
    'parameterStatus',
    (m: { parameterName: string; parameterValue: string }) => {
      if (m.parameterName === 'TimeZone') reported.push(m.parameterValue);
    },
  );
  await c.connect();
  return { c, reported };
}

/** The values of VALUES as text, without and with a parameter (the two ways rows are printed). */
async function texts(c: pg.Client): Promise<(string | null)[][]> {
  const raw = { rowMode: 'array' as const, types: { getTypeParser: () => (v: string) => v } };
  const bulk = await c.query<(string | null)[]>({ text: VALUES, ...raw });
  const param = await c.query<(string | null)[]>({ text: `${VALUES} WHERE $1 = 'x'`, values: ['x'], ...raw });
  return [bulk.rows[0]!, param.rows[0]!];
}

test('psql with PGTZ prints TIMESTAMPTZ in that zone, and a zone that is not one is refused at login', async () => {
  const conn = `host=127.0.0.1 port=${srv.port} dbname=latest user=tester sslmode=disable`;
  const ny = await psqlWithEnv({ PGTZ: 'America/New_York' }, conn, srv.user, '-A', '-t', '-c', VALUES);
  assert.equal(ny.code, 0, ny.stderr);
  assert.equal(ny.stdout.trim(), '2024-01-01 07:00:00.25-05|2024-07-01 08:00:00-04||America/New_York');
  const india = await psqlWithEnv({ PGTZ: 'Asia/Kolkata' }, conn, srv.user, '-A', '-t', '-c', VALUES);
  assert.equal(india.stdout.trim(), '2024-01-01 17:30:00.25+05:30|2024-07-01 17:30:00+05:30||Asia/Kolkata');
  // A stored value (snapshots.created_at) in the zone, the same instant as its epoch.
  const stored = await psqlWithEnv(
    { PGTZ: 'America/New_York' },
    conn,
    srv.user,
    '-A',
    '-t',
    '-c',
    'SELECT created_at, epoch_ms(created_at) FROM snapshots',
  );
  const [text, ms] = stored.stdout.trim().split('|');
  assert.match(text!, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?-0[45]$/, stored.stdout + stored.stderr);
  assert.equal(new Date(text!.replace(' ', 'T').replace(/-0([45])$/, '-0$1:00')).getTime(), Number(ms));
  const bad = await psqlWithEnv({ PGTZ: 'Nowhere/Land' }, conn, srv.user, '-c', 'SELECT 1');
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /FATAL:\s+invalid value for parameter "TimeZone": "Nowhere\/Land"/);
});

test('node-postgres: the server zone by default; SET TimeZone, SET TIME ZONE and RESET change it, in text and binary', async () => {
  const { c, reported } = await client();
  try {
    const server = Intl.DateTimeFormat().resolvedOptions().timeZone;
    assert.deepEqual(reported, [server]);
    const [bulk0, param0] = await texts(c);
    assert.equal(bulk0![3], server);
    assert.deepEqual(param0, bulk0);
    // Whatever the server's zone, the text is the instant.
    assert.equal(
      new Date(bulk0![0]!.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00')).toISOString(),
      '2024-01-01T12:00:00.250Z',
    );

    // A name in another case is reported as the zone database spells it.
    assert.equal((await c.query("SET TimeZone = 'america/new_york'")).command, 'SET');
    for (const row of await texts(c))
      assert.deepEqual(row, [
        '2024-01-01 07:00:00.25-05',
        '2024-07-01 08:00:00-04',
        null,
        'America/New_York',
      ]);
    await c.query("SET TIME ZONE 'Asia/Kolkata'");
    for (const row of await texts(c))
      assert.deepEqual(row, [
        '2024-01-01 17:30:00.25+05:30',
        '2024-07-01 17:30:00+05:30',
        null,
        'Asia/Kolkata',
      ]);
    // Binary: the instant, whatever the zone (node-postgres reads it as a Date).
    // (`binary` is a query option of node-postgres its types leave out.)
    const bin = await c.query({
      text: "SELECT TIMESTAMPTZ '2024-01-01 12:00:00.25+00' AS t",
      binary: true,
    } as pg.QueryConfig);
    assert.equal((bin.rows[0].t as Date).toISOString(), '2024-01-01T12:00:00.250Z');
    // Parsed by node-postgres from text in the zone: the same instant.
    const parsed = await c.query('SELECT created_at, epoch_ms(created_at) AS ms FROM snapshots');
    assert.equal(parsed.fields[0]!.dataTypeID, 1184);
    assert.equal((parsed.rows[0].created_at as Date).getTime(), Number(parsed.rows[0].ms));

    await c.query('SET TimeZone TO UTC');
    assert.deepEqual((await texts(c))[0], [
      '2024-01-01 12:00:00.25+00',
      '2024-07-01 12:00:00+00',
      null,
      'UTC',
    ]);
    await assert.rejects(c.query("SET TimeZone = 'Nowhere/Land'"), (e: Error & { code?: string }) => {
      assert.equal(e.code, '22023', e.message);
      assert.match(e.message, /invalid value for parameter "TimeZone": "Nowhere\/Land"/);
      return true;
    });
    assert.equal((await c.query('RESET TimeZone')).command, 'RESET');
    assert.equal((await texts(c))[0]![3], server);
    assert.deepEqual(reported, [server, 'America/New_York', 'Asia/Kolkata', 'UTC', server]);
  } finally {
    await c.end();
  }
});

test("a client that names no zone gets the server's (a server process with TZ=Europe/Paris); PGTZ still wins", async () => {
  const dir = tempDir('periscope-pg-tz-');
  const token = await createToken(dir, 'user', 'pg-tz');
  const server = await startServerProc(dir, '127.0.0.1:0', ['--pg-port', '0'], { TZ: 'Europe/Paris' });
  try {
    const line = await server.proc.waitFor(/PostgreSQL protocol on \S+:(\d+)/, 30_000);
    const port = Number(/PostgreSQL protocol on \S+:(\d+)/.exec(line.text)![1]);
    const c = new pg.Client({ host: '127.0.0.1', port, user: 't', database: 'latest', password: token });
    const reported: string[] = [];
    (c as unknown as { connection: NodeJS.EventEmitter }).connection.on(
      'parameterStatus',
      (m: { parameterName: string; parameterValue: string }) => {
        if (m.parameterName === 'TimeZone') reported.push(m.parameterValue);
      },
    );
    await c.connect();
    try {
      const r = await c.query<(string | null)[]>({
        text: VALUES,
        rowMode: 'array',
        types: { getTypeParser: () => (v: string) => v },
      });
      assert.deepEqual(r.rows[0], [
        '2024-01-01 13:00:00.25+01',
        '2024-07-01 14:00:00+02',
        null,
        'Europe/Paris',
      ]);
      assert.deepEqual(reported, ['Europe/Paris']);
    } finally {
      await c.end();
    }
    const conn = `host=127.0.0.1 port=${port} dbname=latest user=tester sslmode=disable`;
    const utc = await psqlWithEnv({ PGTZ: 'UTC' }, conn, token, '-A', '-t', '-c', VALUES);
    assert.equal(utc.stdout.trim(), '2024-01-01 12:00:00.25+00|2024-07-01 12:00:00+00||UTC', utc.stderr);
  } finally {
    await server.proc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
