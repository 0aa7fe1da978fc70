/**
 * The PostgreSQL protocol with node-postgres: the extended protocol (Parse/Bind/Describe/
 * Execute/Sync) with text parameters, named prepared statements used twice, type OIDs as pg
 * parses them, errors with SQLSTATE on a connection that stays usable, the empty query, and
 * the SQLSTATEs of refused logins.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { dataDirWithSnapshot, type PgTestServer, pgServer } from './pg-support.js';

let srv: PgTestServer;

function client(password: string, database = 'latest'): pg.Client {
  return new pg.Client({ host: '127.0.0.1', port: srv.port, user: 'tester', database, password });
}

async function connected<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = client(srv.user);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

before(async () => {
  srv = await pgServer(await dataDirWithSnapshot());
});

after(() => srv.server.close());

test('a parameterised query runs through the extended protocol, and a named statement twice', async () => {
  await connected(async (c) => {
    const ids = await c.query('SELECT goroutine_id FROM goroutines ORDER BY goroutine_id LIMIT 2');
    const first = String(ids.rows[0]!.goroutine_id);
    const r = await c.query({
      name: 'one-goroutine',
      text: 'SELECT goroutine_id, status, system FROM goroutines WHERE goroutine_id = $1 AND status <> $2',
      values: [first, 'no such status'],
    });
    assert.equal(r.command, 'SELECT');
    assert.equal(r.rowCount, 1);
    assert.deepEqual(
      r.fields.map((f) => [f.name, f.dataTypeID]),
      [
        ['goroutine_id', 20],
        ['status', 25],
        ['system', 16],
      ],
    );
    assert.equal(r.rows[0]!.goroutine_id, first); // int8 arrives as a string in pg
    assert.equal(typeof r.rows[0]!.system, 'boolean');
    const again = await c.query({
      name: 'one-goroutine',
      text: 'SELECT goroutine_id, status, system FROM goroutines WHERE goroutine_id = $1 AND status <> $2',
      values: [String(ids.rows[1]!.goroutine_id), 'x'],
    });
    assert.equal(String(again.rows[0]!.goroutine_id), String(ids.rows[1]!.goroutine_id));
  });
});

test('values arrive as pg parses them by type OID: numbers, text with non-ASCII bytes, timestamps, JSON, arrays, NULL', async () => {
  await connected(async (c) => {
    const r = await c.query(
      "SELECT $1::INTEGER + 1 AS n, $2 AS s, 2.5::DOUBLE AS f, TIMESTAMP '2024-01-01 12:00:00.25' AS t, '{\"a\": [1]}'::JSON AS j, ['x y', 'é'] AS l, NULL::VARCHAR AS z",
      [41, 'grüße 👋'],
    );
    const row = r.rows[0]!;
    assert.equal(row.n, 42);
    assert.equal(row.s, 'grüße 👋');
    assert.equal(row.f, 2.5);
    assert.ok(row.t instanceof Date);
    assert.equal(row.t.getFullYear(), 2024);
    assert.equal(row.t.getMilliseconds(), 250);
    assert.deepEqual(row.j, { a: [1] });
    assert.deepEqual(row.l, ['x y', 'é']);
    assert.equal(row.z, null);
  });
});

test('errors carry SQLSTATEs and leave the connection usable; a comment-only query is empty', async () => {
  await connected(async (c) => {
    await assert.rejects(c.query('DROP TABLE goroutines'), (e: { code?: string }) => e.code === '25006');
    await assert.rejects(
      c.query('SELECT no_such_column FROM goroutines WHERE goroutine_id = $1', [1]),
      (e: { code?: string }) => e.code === '42703',
    );
    await assert.rejects(
      c.query('SELECT * FROM no_such_table'),
      (e: { code?: string }) => e.code === '42P01',
    );
    await assert.rejects(c.query('SELEC 1'), (e: { code?: string }) => e.code === '42601');
    const ping = await c.query('-- ping');
    assert.equal(ping.rows.length, 0);
    const ok = await c.query('SELECT $1::VARCHAR AS v', ['still here']);
    assert.equal(ok.rows[0]!.v, 'still here');
  });
});

test('a result of 300 000 rows arrives whole, through the simple and the extended protocol', async () => {
  await connected(async (c) => {
    const simple = await c.query('SELECT range AS i FROM range(300000)');
    assert.equal(simple.rowCount, 300_000);
    assert.equal(simple.rows[299_999]!.i, '299999');
    const extended = await c.query('SELECT range AS i FROM range($1::BIGINT)', [300_000]);
    assert.equal(extended.rowCount, 300_000);
  });
});

test('a statement over the HTTP body limit is refused with 54000', async () => {
  const c = client(srv.user);
  c.on('error', () => undefined); // the server ends the connection after the FATAL answer
  await c.connect();
  await assert.rejects(
    c.query(`SELECT '${'x'.repeat(5 << 20)}'`),
    (e: { code?: string; message?: string }) => {
      assert.equal(e.code, '54000');
      assert.match(e.message ?? '', /over the limit of 4194304 bytes/);
      return true;
    },
  );
  await c.end().catch(() => undefined);
});

test('a wrong password is refused with 28P01 and an unknown database with 3D000', async () => {
  const wrong = client('psk_wrong_token');
  await assert.rejects(wrong.connect(), (e: { code?: string }) => e.code === '28P01');
  const db = client(srv.user, 'postgres');
  await assert.rejects(db.connect(), (e: { code?: string }) => e.code === '3D000');
});

/** Drives the extended protocol message by message, as JDBC does: Describe of the statement before Bind, and Execute with a row limit. */
class Steps implements pg.Submittable {
  readonly seen: string[] = [];
  readonly rows: unknown[][] = [];
  paramCount = -1;
  fields: [string, number][] = [];
  done: Promise<void>;
  private resolve: () => void = () => undefined;
  private reject: (e: unknown) => void = () => undefined;

  constructor(
    private readonly sql: string,
    private readonly values: string[],
  ) {
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
  submit(c: pg.Connection): void {
    c.once('parameterDescription', (m: { parameterCount: number }) => {
      this.paramCount = m.parameterCount;
    });
    c.parse({ name: 'steps', text: this.sql, types: [] }, true);
    c.describe({ type: 'S', name: 'steps' }, true);
    c.bind({ statement: 'steps', values: this.values }, true);
    c.execute({ rows: '1' }, true); // @types/pg types the row limit as a string; pg writes it as int32
    c.flush();
  }
  handleRowDescription(m: { fields: { name: string; dataTypeID: number }[] }): void {
    this.seen.push('RowDescription');
    this.fields = m.fields.map((f) => [f.name, f.dataTypeID]);
  }
  handleDataRow(m: { fields: unknown[] }): void {
    this.seen.push('DataRow');
    this.rows.push(m.fields);
  }
  handlePortalSuspended(c: pg.Connection): void {
    this.seen.push('PortalSuspended');
    c.execute({ rows: '0' }, true);
    c.sync();
  }
  handleCommandComplete(m: { text: string }): void {
    this.seen.push(m.text);
  }
  handleEmptyQuery(): void {
    this.seen.push('EmptyQuery');
  }
  handleError(e: unknown): void {
    this.reject(e);
  }
  handleReadyForQuery(): void {
    this.resolve();
  }
}

test('Describe of a statement before Bind gives its parameters and columns; Execute with a row limit suspends the portal', async () => {
  await connected(async (c) => {
    const steps = new Steps(
      'SELECT goroutine_id, status FROM goroutines WHERE goroutine_id >= $1 ORDER BY goroutine_id LIMIT 3',
      ['0'],
    );
    c.query(steps);
    await steps.done;
    assert.equal(steps.paramCount, 1);
    assert.deepEqual(steps.fields, [
      ['goroutine_id', 20],
      ['status', 25],
    ]);
    assert.deepEqual(steps.seen, [
      'RowDescription',
      'DataRow',
      'PortalSuspended',
      'DataRow',
      'DataRow',
      'SELECT 2',
    ]);
    assert.equal(steps.rows.length, 3);
  });
});

/** Writes bytes to the PostgreSQL port in one piece and returns what came back until the server closed or 2 s passed. */
function raw(bytes: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const c = connect(srv.port, '127.0.0.1');
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => c.destroy(), 2000);
    c.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
    });
    c.on('error', () => undefined);
    c.on('close', () => {
      clearTimeout(timer);
      resolve(got.toString('utf8'));
    });
    c.write(bytes);
  });
}

function frame(type: string, body: string): Buffer {
  const b = Buffer.from(body, 'utf8');
  const head = Buffer.alloc(type ? 5 : 4);
  if (type) head.write(type, 0, 'latin1');
  head.writeInt32BE(b.length + 4, type ? 1 : 0);
  return Buffer.concat([head, b]);
}

test('a startup packet, password and query sent in one piece are all answered; an HTTP request gets 08P01', async () => {
  const startup = frame('', '\0\x03\0\0user\0u\0database\0latest\0\0');
  const answer = await raw(
    Buffer.concat([startup, frame('p', `${srv.user}\0`), frame('Q', 'SELECT 1 AS one\0'), frame('X', '')]),
  );
  assert.match(answer, /SELECT 1\0/);
  assert.match(answer, /one\0/);
  const http = await raw(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  assert.match(http, /C08P01\0Mprotocol violation: this is not a PostgreSQL startup packet/);
});

test('harmless SETs a driver sends on connect are accepted as no-ops; other SETs are refused with 0A000', async () => {
  await connected(async (c) => {
    const set = await c.query('SET extra_float_digits = 3');
    assert.equal(set.command, 'SET');
    await c.query("SET application_name = 'PostgreSQL JDBC Driver'");
    await c.query("SET SESSION TimeZone TO 'UTC'");
    await c.query({ text: 'SET client_encoding = UTF8', values: [] });
    await c.query('RESET extra_float_digits');
    for (const refused of ['SET memory_limit = 1', 'SET search_path = raw']) {
      await assert.rejects(c.query(refused), (e: Error & { code?: string }) => {
        assert.equal(e.code, '0A000', `${refused}: ${e.message}`);
        return true;
      });
    }
    const after = await c.query('SELECT count(*) AS n FROM goroutines');
    assert.ok(Number(after.rows[0]!.n) > 0);
  });
});

test('a parameterised statement run again (known small, run whole) keeps its columns and rows, and gives every row once another value makes it large', async () => {
  await connected(async (c) => {
    const sql = 'SELECT n, $2 AS s, $3 AS s, n * 2 FROM range($1::BIGINT) t(n) ORDER BY n DESC';
    const run = async (count: number, a: string | null, b: string | null) => {
      const r = await c.query({ text: sql, values: [count, a, b], rowMode: 'array' });
      return { fields: r.fields.map((f) => [f.name, f.dataTypeID]), rows: r.rows, rowCount: r.rowCount };
    };
    const expected = (count: number, a: string | null, b: string | null) => ({
      fields: [
        ['n', 20],
        ['s', 25],
        ['s', 25],
        ['?column?', 20],
      ],
      rows: Array.from({ length: count }, (_, i) => [
        String(count - 1 - i),
        a,
        b,
        String((count - 1 - i) * 2),
      ]),
      rowCount: count,
    });
    assert.deepEqual(await run(3, 'x', 'y'), expected(3, 'x', 'y'));
    assert.deepEqual(await run(2, 'é', 'z'), expected(2, 'é', 'z'));
    assert.deepEqual(await run(2, 'é', 'z'), expected(2, 'é', 'z'));
    // Past the limit the whole run is under (2049 rows): every row, streamed; then small again.
    assert.deepEqual(await run(5000, 'big', 'b'), expected(5000, 'big', 'b'));
    assert.deepEqual(await run(2049, 'edge', 'e'), expected(2049, 'edge', 'e'));
    assert.deepEqual(await run(1, 'x', 'y'), expected(1, 'x', 'y'));
    assert.deepEqual(await run(2048, 'x', 'y'), expected(2048, 'x', 'y'));
    assert.deepEqual(await run(0, 'x', 'y'), expected(0, 'x', 'y'));
  });
});
