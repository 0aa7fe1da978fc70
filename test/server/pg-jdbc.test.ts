/**
 * PostgreSQL's JDBC driver (from Maven Central) against the PostgreSQL protocol: its connect
 * (startup, SETs), a parameterised PreparedStatement through the extended protocol, run past
 * the driver's prepareThreshold so that it sends parameters and asks for results in binary,
 * values of each type the same in text and in binary, DatabaseMetaData's getTables and
 * getColumns (what BI tools browse schemas with), and a refused DROP (25006).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { jdbcReplay } from '../../support/jdbc.js';
import { dataDirWithSnapshot, type PgTestServer, pgServer } from './pg-support.js';

let srv: PgTestServer;

before(async () => {
  srv = await pgServer(await dataDirWithSnapshot());
});

after(() => srv.server.close());

test('JDBC runs a parameterised query, in text and then in binary, with the same values, and lists tables and columns', async () => {
  const { code, lines } = await jdbcReplay(
    `jdbc:postgresql://127.0.0.1:${srv.port}/latest`,
    'bi-tool',
    srv.user,
  );
  const out = new Map(lines);
  assert.equal(code, 0, `JdbcReplay failed: ${out.get('error')}`);
  assert.equal(out.get('connected'), '15.0');
  const prepared = [...Array(7).keys()].map((i) => out.get(`prepared-${i}`));
  assert.match(
    prepared[0]!,
    /^columns=goroutine_id:int8,status:text,system:bool,wait_ns:int8 rows=Long:\d+,String:\w+,Boolean:(true|false),/,
  );
  for (const p of prepared) assert.equal(p, prepared[0]);
  const types = [...Array(7).keys()].map((i) => out.get(`types-${i}`));
  assert.equal(
    types[0],
    'columns=n:int4,s:text,f:float8,t:timestamptz,d:date,b:bool,i2:int2,f4:float4,l:int8 rows=Integer:42,String:grüße,Double:2.5,Timestamp:2024-01-01 12:00:00.25,Date:2024-02-29,Boolean:true,Integer:7,Float:-1.5,Long:-9007199254740993',
  );
  for (const t of types) assert.equal(t, types[0]);
  // DatabaseMetaData, as a BI tool's schema browser calls it.
  assert.equal(out.get('tables'), 'main.goroutines:TABLE;');
  assert.match(out.get('columns') ?? '', /^\d+ snapshot_id:int8:1;process_id:text:2;goroutine_id:int8:3;$/);
  assert.equal(out.get('drop'), '25006');
  assert.equal(out.get('after'), 'columns=n:int8 rows=Long:1');
});
