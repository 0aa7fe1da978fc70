/**
 * The PostgreSQL protocol and the network: a token crosses it in clear only with TLS (the
 * server's certificate, over SSLRequest) or with --insecure-plain; from this machine plain
 * connections stay allowed, as plain HTTP does on loopback. Needs a non-loopback address of
 * this machine to connect from (the test fails without one).
 */
import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { TestPki } from '../../support/test-pki.js';
import { type PgTestServer, pgServer, psql } from './pg-support.js';
import { tempDataDir } from './server-support.js';

const pki = new TestPki();
let ca: ReturnType<TestPki['ca']>;
let plain: PgTestServer;
let open: PgTestServer;
let tls: PgTestServer;
let lan: string;

before(async () => {
  const found = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && !i.internal && i.family === 'IPv4');
  assert.ok(found, 'this machine has no non-loopback IPv4 address to test remote connections from');
  lan = found.address;
  ca = pki.ca('pg-ca');
  const leaf = pki.leaf(ca, 'pg-server', 'server');
  plain = await pgServer(tempDataDir(), { host: '0.0.0.0' });
  open = await pgServer(tempDataDir(), { host: '0.0.0.0', pg: { port: 0, insecurePlain: true } });
  tls = await pgServer(tempDataDir(), { host: '0.0.0.0', tls: { certFile: leaf.cert, keyFile: leaf.key } });
});

after(async () => {
  await plain.server.close();
  await open.server.close();
  await tls.server.close();
});

async function select(s: PgTestServer, host: string, ssl: pg.ClientConfig['ssl'] = false): Promise<unknown> {
  const c = new pg.Client({ host, port: s.port, user: 'u', database: 'latest', password: s.user, ssl });
  await c.connect();
  try {
    return (await c.query('SELECT 7 AS n')).rows[0]?.n;
  } finally {
    await c.end();
  }
}

test('a cleartext token from another machine is refused without TLS (28000), accepted from loopback', async () => {
  await assert.rejects(select(plain, lan), (e: { code?: string; message?: string }) => {
    assert.equal(e.code, '28000');
    assert.match(e.message ?? '', /connect with TLS .*--insecure-plain/);
    return true;
  });
  assert.equal(await select(plain, '127.0.0.1'), 7);
});

test('--insecure-plain accepts a cleartext token from another machine', async () => {
  assert.equal(await select(open, lan), 7);
});

test('with the server certificate, psql verifies it and node-postgres connects from another machine over TLS', async () => {
  const v = await psql(
    `host=127.0.0.1 port=${tls.port} dbname=latest user=u sslmode=verify-full sslrootcert=${ca.cert}`,
    tls.user,
    '-A',
    '-t',
    '-c',
    'SELECT ssl FROM (SELECT 1 AS ssl)',
  );
  assert.equal(v.stdout.trim(), '1', v.stderr);
  assert.equal(await select(tls, lan, { rejectUnauthorized: false }), 7);
  await assert.rejects(select(tls, lan), (e: { code?: string }) => e.code === '28000');
});
