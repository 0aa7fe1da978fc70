/**
 * A portal's rows over the PostgreSQL port are read from DuckDB as they are sent, as
 * PostgreSQL's portals are: node-postgres's Describe of a parameterised portal learns the
 * columns without the server holding the result, an Execute with a row limit stops inside a
 * chunk and the next one goes on from there (PortalSuspended), and another statement run on
 * the connection meanwhile leaves a suspended portal's rows whole. Each run is audited once,
 * with the rows it gave.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import pg from 'pg';
import { dataDirWithSnapshot, type PgTestServer, pgServer } from './pg-support.js';

let srv: PgTestServer;

before(async () => {
  srv = await pgServer(await dataDirWithSnapshot());
});

after(() => srv.server.close());

setFlagsFromString('--expose-gc');
/** A full garbage collection (the flag above gives a new context its `gc`). */
const gc = runInNewContext('gc') as () => void;

async function connected<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({
    host: '127.0.0.1',
    port: srv.port,
    user: 'tester',
    database: 'latest',
    password: srv.user,
  });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** What a query gave: its rows' count and a hash of them in order, the command tag, and how many Executes were suspended. */
interface Received {
  readonly rows: number;
  readonly hash: string;
  readonly command: string;
  readonly suspended: number;
}

/**
 * Runs a query through node-postgres without keeping its rows (a 'row' listener and no
 * callback): each is hashed as it comes. `rows` is node-postgres's row limit per Execute;
 * `sample` is called every `every` rows.
 */
async function received(
  c: pg.Client,
  text: string,
  values: unknown[] | undefined,
  opts: { rows?: number; every?: number; sample?: () => void } = {},
): Promise<Received> {
  const q = new pg.Query({
    text,
    ...(values ? { values } : {}),
    ...(opts.rows ? { rows: opts.rows } : {}),
    rowMode: 'array',
    types: { getTypeParser: () => (v: string) => v },
  } as pg.QueryConfig);
  const hash = createHash('sha256');
  let rows = 0;
  let suspended = 0;
  q.on('row', (row: string[]) => {
    hash.update(`${row.join('\t')}\n`);
    rows++;
    if (opts.every && rows % opts.every === 0) opts.sample?.();
  });
  const handle = (q as unknown as { handlePortalSuspended: (con: unknown) => void }).handlePortalSuspended;
  (q as unknown as { handlePortalSuspended: (con: unknown) => void }).handlePortalSuspended = function (con) {
    suspended++;
    handle.call(this, con);
  };
  const ended = once(q, 'end') as Promise<[pg.QueryResult | undefined]>;
  const failed = once(q, 'error').then(([e]) => {
    throw e;
  });
  c.query(q as unknown as pg.QueryConfig);
  const [result] = await Promise.race([ended, failed]);
  return { rows, hash: hash.digest('hex'), command: `${result?.command} ${result?.rowCount}`, suspended };
}

const N = 1_000_000;
const BIG = `SELECT range AS i, 'row-' || range || '-' || repeat('x', 60) AS s FROM range($1::BIGINT)`;

test('a parameterised 1M-row result through node-postgres (Describe of the portal, then Execute) is streamed: the heap stays far below its size; the same rows with a row limit and through the simple protocol', async (t) => {
  await connected(async (c) => {
    gc();
    const base = process.memoryUsage().heapUsed;
    let peak = 0;
    const sample = (): void => {
      gc();
      peak = Math.max(peak, process.memoryUsage().heapUsed - base);
    };
    const whole = await received(c, BIG, [N], { every: 50_000, sample });
    assert.equal(whole.rows, N);
    assert.equal(whole.command, `SELECT ${N}`);
    // Held whole, a million rows of two text values are about 150 MB of the server's heap (the
    // wire carries 88 MB); streamed, a chunk or two at a time.
    assert.ok(peak < 24 << 20, `the heap grew by ${(peak / 2 ** 20).toFixed(1)} MiB during the query`);

    // A row limit that ends Executes inside DuckDB's chunks of 2048 rows: each goes on where the
    // last stopped (its tag counts its own rows, as PostgreSQL's does).
    const paged = await received(c, BIG, [N], { rows: 70_001, every: 50_000, sample });
    assert.equal(paged.rows, N);
    assert.equal(paged.suspended, Math.floor(N / 70_001));
    assert.equal(paged.command, `SELECT ${N % 70_001}`);
    assert.equal(paged.hash, whole.hash);
    assert.ok(peak < 24 << 20, `the heap grew by ${(peak / 2 ** 20).toFixed(1)} MiB during the paged query`);

    t.diagnostic(`the heap grew by at most ${(peak / 2 ** 20).toFixed(1)} MiB`);
    const simple = await received(c, BIG.replace('$1::BIGINT', String(N)), undefined);
    assert.equal(simple.rows, N);
    assert.equal(simple.hash, whole.hash);
  });
});

/** Messages sent in one piece (a Submittable of node-postgres's connection), and what came back. */
class Batch implements pg.Submittable {
  // (@types/pg types Execute's row limit as a string; pg writes it as an int32.)
  /** `row:<first value>`, `suspended`, `complete:<tag>`, `error:<SQLSTATE>`, in order; consecutive rows of one portal as `rows:<first>..<last>`. */
  readonly seen: string[] = [];
  done: Promise<void>;
  private resolve: () => void = () => undefined;

  constructor(private readonly send: (c: pg.Connection) => void) {
    this.done = new Promise((resolve) => {
      this.resolve = resolve;
    });
  }
  submit(c: pg.Connection): void {
    this.send(c);
  }
  handleRowDescription(): void {
    this.seen.push('description');
  }
  handleDataRow(m: { fields: (string | null)[] }): void {
    const v = String(m.fields[0]);
    const last = this.seen.at(-1);
    const run = last && /^rows:(-?\d+)\.\.(-?\d+)$/.exec(last);
    if (run && Number(run[2]) + 1 === Number(v)) this.seen[this.seen.length - 1] = `rows:${run[1]}..${v}`;
    else this.seen.push(`rows:${v}..${v}`);
  }
  handlePortalSuspended(): void {
    this.seen.push('suspended');
  }
  handleCommandComplete(m: { text: string }): void {
    this.seen.push(`complete:${m.text}`);
  }
  handleEmptyQuery(): void {
    this.seen.push('empty');
  }
  /** node-postgres hands the ReadyForQuery after an error to no one: the batch ends here. */
  handleError(e: { code?: string }): void {
    this.seen.push(`error:${e.code}`);
    this.resolve();
  }
  handleReadyForQuery(): void {
    this.resolve();
  }
}

/** The audit entries of the PostgreSQL port for a statement's text, oldest first. */
function audited(sql: string): { outcome: string; rowCount?: number }[] {
  return srv.server.context.audit
    .list({})
    .entries.filter(
      (e) => e.action === 'query' && (e.details as { sql?: { text?: string } }).sql?.text === sql,
    )
    .map((e) => ({ outcome: e.outcome, rowCount: (e.details as { rowCount?: number }).rowCount }))
    .reverse();
}

test('a suspended portal keeps all its rows while other statements run on the connection; each run is audited once; portals end at Sync', async () => {
  const A = 'SELECT range AS i FROM range($1::BIGINT) -- portal a';
  const B = 'SELECT range + 1000000 AS j FROM range($1::BIGINT) -- portal b';
  const C = 'SELECT count(*) AS n FROM goroutines WHERE goroutine_id >= $1 -- between';
  await connected(async (c) => {
    const batch = new Batch((con) => {
      con.parse({ name: 'a', text: A, types: [] }, true);
      con.bind({ portal: 'a', statement: 'a', values: ['10000'] }, true);
      con.describe({ type: 'P', name: 'a' }, true);
      con.execute({ portal: 'a', rows: '5' }, true);
      // Another portal, started and suspended, then a statement run whole; then both go on.
      con.parse({ name: 'b', text: B, types: [] }, true);
      con.bind({ portal: 'b', statement: 'b', values: ['3000'] }, true);
      con.execute({ portal: 'b', rows: '2500' }, true);
      con.parse({ name: '', text: C, types: [] }, true);
      con.bind({ portal: '', statement: '', values: ['0'] }, true);
      con.execute({ portal: '', rows: '0' }, true);
      con.execute({ portal: 'a', rows: '4000' }, true);
      con.execute({ portal: 'b', rows: '0' }, true);
      con.execute({ portal: 'a', rows: '0' }, true);
      con.execute({ portal: 'a', rows: '0' }, true);
      con.sync();
    });
    c.query(batch);
    await batch.done;
    assert.deepEqual(batch.seen.slice(0, 5), [
      'description',
      'rows:0..4',
      'suspended',
      'rows:1000000..1002499',
      'suspended',
    ]);
    assert.match(batch.seen[5]!, /^rows:\d+\.\.\d+$/);
    assert.deepEqual(batch.seen.slice(6), [
      'complete:SELECT 1',
      'rows:5..4004',
      'suspended',
      'rows:1002500..1002999',
      'complete:SELECT 500',
      'rows:4005..9999',
      'complete:SELECT 5995',
      'complete:SELECT 0',
    ]);
    // The portals ended with the Sync.
    const after = new Batch((con) => {
      con.execute({ portal: 'b', rows: '0' }, true);
      con.sync();
    });
    c.query(after);
    await after.done;
    assert.deepEqual(after.seen, ['error:34000']);
  });
  assert.deepEqual(audited(A), [{ outcome: 'ok', rowCount: 10_000 }]);
  assert.deepEqual(audited(B), [{ outcome: 'ok', rowCount: 3000 }]);
  assert.deepEqual(audited(C), [{ outcome: 'ok', rowCount: 1 }]);

  // A portal left suspended at Sync ends there, audited with the rows read from DuckDB.
  const D = 'SELECT range AS i FROM range($1::BIGINT) -- left suspended';
  await connected(async (c) => {
    const batch = new Batch((con) => {
      con.parse({ name: '', text: D, types: [] }, true);
      con.bind({ portal: '', statement: '', values: ['100000'] }, true);
      con.describe({ type: 'P', name: '' }, true);
      con.execute({ portal: '', rows: '3' }, true);
      con.sync();
    });
    c.query(batch);
    await batch.done;
    assert.deepEqual(batch.seen, ['description', 'rows:0..2', 'suspended']);
  });
  const [d] = audited(D);
  assert.equal(d?.outcome, 'ok');
  assert.ok(d.rowCount !== undefined && d.rowCount >= 3 && d.rowCount <= 4096, `rowCount ${d.rowCount}`);
});

test('a suspended portal whose rest is too large to park fails with 54000 at its next Execute; the statement between and the connection go on', async () => {
  // 100,000 rows of 1,000 bytes: ~95 MiB, more than PARK_MAX_BYTES (64 MiB).
  const W = "SELECT range AS i, repeat('x', 1000) AS wide FROM range($1::BIGINT) -- too wide to park";
  const C = 'SELECT count(*) AS n FROM goroutines WHERE goroutine_id >= $1 -- between wide';
  await connected(async (c) => {
    const batch = new Batch((con) => {
      con.parse({ name: 'w', text: W, types: [] }, true);
      con.bind({ portal: 'w', statement: 'w', values: ['100000'] }, true);
      con.describe({ type: 'P', name: 'w' }, true);
      con.execute({ portal: 'w', rows: '5' }, true);
      con.parse({ name: '', text: C, types: [] }, true);
      con.bind({ portal: '', statement: '', values: ['0'] }, true);
      con.execute({ portal: '', rows: '0' }, true);
      con.execute({ portal: 'w', rows: '0' }, true);
      con.sync();
    });
    c.query(batch);
    await batch.done;
    assert.deepEqual(batch.seen.slice(0, 3), ['description', 'rows:0..4', 'suspended']);
    assert.match(batch.seen[3]!, /^rows:\d+\.\.\d+$/);
    assert.deepEqual(batch.seen.slice(4), ['complete:SELECT 1', 'error:54000']);
    const r = await c.query('SELECT 41 + 1 AS answer');
    assert.equal(r.rows[0].answer, 42);
  });
  const [w] = audited(W);
  assert.equal(w?.outcome, 'error');
});
