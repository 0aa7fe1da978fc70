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
import { DuckDBInstance } from '../../src/store/duckdb-api.js';
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

/**
 * Zone-dependent DuckDB functions of 2024-01-01 03:00 UTC, and a text without offset cast to
 * TIMESTAMPTZ; no TIMESTAMPTZ column (whose printing names the zone in the statement the server
 * wraps around this one), so that the same statement is kept whatever the zone.
 */
const ZONED =
  "SELECT extract(hour FROM TIMESTAMPTZ '2024-01-01 03:00:00+00') AS h, CAST(CAST(TIMESTAMPTZ '2024-01-01 03:00:00+00' AS DATE) AS VARCHAR) AS d, epoch_ms(date_trunc('day', TIMESTAMPTZ '2024-01-01 03:00:00+00')) AS day, epoch_ms(CAST('2024-01-01 00:00' AS TIMESTAMPTZ)) AS local_text";

const MIDNIGHT_UTC = Date.UTC(2024, 0, 1);

async function zoned(c: pg.Client, withParam = false): Promise<(string | null)[]> {
  const raw = { rowMode: 'array' as const, types: { getTypeParser: () => (v: string) => v } };
  const r = withParam
    ? await c.query<(string | null)[]>({ text: `${ZONED} WHERE $1 = 'x'`, values: ['x'], ...raw })
    : await c.query<(string | null)[]>({ text: ZONED, ...raw });
  return r.rows[0]!;
}

async function shown(c: pg.Client, sql: string): Promise<{ column: string; value: string }> {
  const r = await c.query<string[]>({ text: sql, rowMode: 'array' });
  return { column: r.fields[0]!.name, value: r.rows[0]![0]! };
}

test('DuckDB functions run in the connection zone, each connection its own; a kept statement follows a SET', async () => {
  const { c: ny } = await client();
  const { c: india } = await client();
  try {
    const serverZone = String(
      (await srv.server.context.store.query("SELECT current_setting('TimeZone')", { latest: true }))
        .rows[0]![0],
    );
    await ny.query("SET TimeZone = 'America/New_York'");
    await india.query("SET TIME ZONE 'Asia/Kolkata'");
    const inNy = [
      '22',
      '2023-12-31',
      String(MIDNIGHT_UTC - 19 * 3600_000),
      String(MIDNIGHT_UTC + 5 * 3600_000),
    ];
    const inIndia = [
      '8',
      '2024-01-01',
      String(MIDNIGHT_UTC - 5.5 * 3600_000),
      String(MIDNIGHT_UTC - 5.5 * 3600_000),
    ];
    // In turn on the two connections, the same texts (each session keeps its statements).
    for (let i = 0; i < 2; i++) {
      assert.deepEqual(await zoned(ny), inNy);
      assert.deepEqual(await zoned(india), inIndia);
      assert.deepEqual(await zoned(ny, true), inNy);
      assert.deepEqual(await zoned(india, true), inIndia);
    }
    // A text parameter cast to TIMESTAMPTZ is read in the zone too.
    const param = await ny.query({
      text: 'SELECT epoch_ms($1::TIMESTAMPTZ) AS ms',
      values: ['2024-01-01 00:00'],
    });
    assert.equal(Number(param.rows[0].ms), MIDNIGHT_UTC + 5 * 3600_000);
    // The same text again after a SET: prepared again in the new zone, not the kept one's
    // (DuckDB binds the zone into a prepared statement), on the same session.
    const connection = async () => (await ny.query('SELECT current_connection_id() AS id')).rows[0].id;
    const before = await connection();
    await ny.query('SET TIME ZONE UTC');
    assert.equal(await connection(), before, 'the SET opened a new session');
    assert.deepEqual(await zoned(ny), ['3', '2024-01-01', String(MIDNIGHT_UTC), String(MIDNIGHT_UTC)]);
    assert.deepEqual(await zoned(india), inIndia);
    // Neither connection's zone reached the store's other users (the HTTP API, the CLI).
    const after = await srv.server.context.store.query("SELECT current_setting('TimeZone')", {
      latest: true,
    });
    assert.equal(String(after.rows[0]![0]), serverZone);
    // User SQL cannot set DuckDB's zone (or anything else) itself.
    await assert.rejects(
      srv.server.context.store.query("SET TimeZone = 'Asia/Tokyo'", { latest: true }),
      /refused/,
    );
    await assert.rejects(srv.server.context.store.query('PRAGMA threads = 1', { latest: true }), /refused/);
  } finally {
    await ny.end();
    await india.end();
  }
});

test('SHOW TimeZone and the reported settings; SET TIME ZONE to a number of hours or an INTERVAL, as PostgreSQL reports it', async () => {
  const { c, reported } = await client();
  try {
    const server = Intl.DateTimeFormat().resolvedOptions().timeZone;
    for (const sql of ['SHOW TimeZone', 'show timezone', 'SHOW TIME ZONE;'])
      assert.deepEqual(await shown(c, sql), { column: 'TimeZone', value: server }, sql);
    assert.deepEqual(await shown(c, 'SHOW server_version'), { column: 'server_version', value: '15.0' });
    assert.deepEqual(await shown(c, 'show datestyle'), { column: 'DateStyle', value: 'ISO, MDY' });
    // The extended protocol (Parse, Describe, Execute) answers the same; the command tag is
    // PostgreSQL's, SHOW (node-postgres then gives no row count, as with PostgreSQL).
    const ext = await c.query({ text: 'SHOW TimeZone', values: [] });
    assert.equal(ext.rows[0].TimeZone, server);
    assert.equal(ext.command, 'SHOW');
    assert.equal(ext.rowCount, null);
    assert.equal((await c.query('SHOW server_version')).command, 'SHOW');
    const all = await c.query('SHOW ALL');
    assert.equal(all.command, 'SHOW');
    assert.deepEqual(
      all.fields.map((f) => f.name),
      ['name', 'setting', 'description'],
    );
    assert.equal(all.rows.find((r) => r.name === 'TimeZone')?.setting, server);
    // DuckDB's SHOW of a table still runs in DuckDB.
    assert.ok((await c.query('SHOW snapshots')).rows.some((r) => r.column_name === 'created_at'));

    // Hours east of UTC, named as PostgreSQL names them (the POSIX form, sign the other way).
    assert.equal((await c.query('SET TIME ZONE -3')).command, 'SET');
    assert.deepEqual(await shown(c, 'SHOW TimeZone'), { column: 'TimeZone', value: '<-03>+03' });
    assert.deepEqual((await texts(c))[0], [
      '2024-01-01 09:00:00.25-03',
      '2024-07-01 09:00:00-03',
      null,
      '<-03>+03',
    ]);
    assert.deepEqual(await zoned(c), [
      '0',
      '2024-01-01',
      String(MIDNIGHT_UTC + 3 * 3600_000),
      String(MIDNIGHT_UTC + 3 * 3600_000),
    ]);
    await c.query("SET TIME ZONE INTERVAL '+05:00' HOUR TO MINUTE");
    assert.deepEqual(await shown(c, 'SHOW TimeZone'), { column: 'TimeZone', value: '<+05>-05' });
    assert.deepEqual((await texts(c))[0], [
      '2024-01-01 17:00:00.25+05',
      '2024-07-01 17:00:00+05',
      null,
      '<+05>-05',
    ]);
    // The reported name is taken back (a client may send what it was told).
    await c.query("SET TimeZone = '<+05>-05'");
    await c.query('SET TimeZone = 0');
    assert.deepEqual(await shown(c, 'SHOW TimeZone'), { column: 'TimeZone', value: '<+00>-00' });
    // Offsets of minutes have no zone DuckDB knows (see the next test): refused, saying what to
    // give, in each way PostgreSQL takes them.
    for (const sql of [
      'SET TIME ZONE 5.5',
      "SET TIME ZONE INTERVAL '+05:30' HOUR TO MINUTE",
      "SET TimeZone = '<+05:30>-05:30'",
      "SET TimeZone = '<+0530>-05:30'",
    ])
      await assert.rejects(c.query(sql), (e: Error & { code?: string }) => {
        assert.equal(e.code, '22023', `${sql}: ${e.message}`);
        assert.match(
          e.message,
          /an offset of \+05:30 has no fixed zone in DuckDB's time zone data; give the zone of the place, such as Asia\/(Calcutta|Kolkata)\b.*whole number of hours/,
        );
        return true;
      });
    for (const sql of ['SET TIME ZONE 15', "SET TIME ZONE '+05:30'"])
      await assert.rejects(c.query(sql), (e: Error & { code?: string }) => {
        assert.equal(e.code, '22023', `${sql}: ${e.message}`);
        assert.match(e.message, /give an IANA time zone name .* or a whole number of hours/);
        return true;
      });
    assert.deepEqual(reported, [server, '<-03>+03', '<+05>-05', '<+05>-05', '<+00>-00']);
  } finally {
    await c.end();
  }
});

test('offsets of minutes: DuckDB has no zone of them, so they are refused, at login too', async () => {
  // What the refusal rests on, asked of DuckDB itself (an upgrade that adds such zones fails
  // here: take them in offsetZone then). ICU's custom ids are refused; `UTC+05:30` is taken
  // as Etc/GMT-5, the minutes dropped; the fixed offsets are whole hours (Etc/GMT-14 to +12).
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    for (const id of ['GMT+05:30', 'GMT+0530', 'Etc/GMT-5:30', '+05:30'])
      await assert.rejects(conn.run(`SET TimeZone = '${id}'`), /Unknown TimeZone/, id);
    await conn.run("SET TimeZone = 'UTC+05:30'");
    const zone = await conn.runAndReadAll("SELECT current_setting('TimeZone')");
    assert.equal(String(zone.getRows()[0]![0]), 'Etc/GMT-5');
    const fixed = await conn.runAndReadAll(
      "SELECT count(*) FROM pg_timezone_names() WHERE name LIKE 'Etc/%' AND epoch(utc_offset)::BIGINT % 3600 <> 0",
    );
    assert.equal(Number(fixed.getRows()[0]![0]), 0);
  } finally {
    conn.closeSync();
  }
  // At login (libpq's PGTZ in the startup packet): a FATAL error, saying what to give.
  const conninfo = `host=127.0.0.1 port=${srv.port} dbname=latest user=tester sslmode=disable`;
  const reported = await psqlWithEnv({ PGTZ: '<+05:30>-05:30' }, conninfo, srv.user, '-c', 'SELECT 1');
  assert.notEqual(reported.code, 0);
  assert.match(
    reported.stderr,
    /FATAL:\s+invalid value for parameter "TimeZone": "<\+05:30>-05:30" \(an offset of \+05:30 has no fixed zone/,
  );
  // A POSIX string, which PostgreSQL reads as 5:30 west of UTC: refused too.
  const posix = await psqlWithEnv({ PGTZ: '+05:30' }, conninfo, srv.user, '-c', 'SELECT 1');
  assert.notEqual(posix.code, 0);
  assert.match(posix.stderr, /FATAL:\s+invalid value for parameter "TimeZone": "\+05:30"/);
});

test('psql: SHOW TimeZone gives the PGTZ zone, SET TIME ZONE -5 and date_trunc in it', async () => {
  const conn = `host=127.0.0.1 port=${srv.port} dbname=latest user=tester sslmode=disable`;
  // psql prints SHOW's answer (tag SHOW) as PostgreSQL's: a table of one row.
  const show = await psqlWithEnv({ PGTZ: 'America/New_York' }, conn, srv.user, '-c', 'SHOW TimeZone');
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /^\s*TimeZone\s*\n-+\n America\/New_York\n\(1 row\)\n/, show.stdout);
  const run = await psqlWithEnv(
    { PGTZ: 'America/New_York' },
    conn,
    srv.user,
    '-A',
    '-t',
    '-c',
    'SHOW TimeZone',
    '-c',
    "SELECT date_trunc('day', TIMESTAMPTZ '2024-01-01 03:00:00+00')",
    '-c',
    'SET TIME ZONE -5',
    '-c',
    'SHOW TimeZone',
    '-c',
    "SELECT extract(hour FROM TIMESTAMPTZ '2024-01-01 03:00:00+00')",
  );
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(run.stdout.trim().split('\n'), [
    'America/New_York',
    '2023-12-31 00:00:00-05',
    'SET',
    '<-05>+05',
    '22',
  ]);
});
