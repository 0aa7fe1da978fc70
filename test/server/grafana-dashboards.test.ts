/**
 * deploy/grafana: every panel's SQL (and every variable's) runs through the PostgreSQL port,
 * with Grafana's variable and macro expansion, against a store with real snapshots of the
 * goroutines fixture (and probe counters and histograms of a process of it, and firings of an
 * investigation stored through the store's API, one on each of those snapshots), and returns the
 * columns its panel needs: time series a `time` column and numeric values, tables the columns
 * their overrides name; pgx (Grafana's driver) decodes every result.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { parse } from 'yaml';
import { ROOT } from '../../support/go-fixtures.js';
import { expandGrafanaMacros, expandGrafanaVariables } from '../../support/grafana-macros.js';
import { pgxReplay } from '../../support/pgx-grafana.js';
import { openStore } from '../store/store-support.js';
import { dataDirWithSnapshot, type PgTestServer, pgServer } from './pg-support.js';

const DIR = join(ROOT, 'deploy', 'grafana');

interface Target {
  readonly refId: string;
  readonly rawSql: string;
  readonly format: 'time_series' | 'table';
  readonly datasource: { readonly uid: string };
}
interface Panel {
  readonly title: string;
  readonly type: string;
  readonly targets: readonly Target[];
  readonly fieldConfig?: { readonly overrides?: readonly { matcher: { id: string; options: string } }[] };
}
interface Variable {
  readonly name: string;
  readonly type: string;
  readonly query: string;
  readonly allValue?: string;
  readonly datasource?: { readonly uid: string };
}
interface Dashboard {
  readonly title: string;
  readonly panels: readonly Panel[];
  readonly templating: { readonly list: readonly Variable[] };
}

const dashboards: Dashboard[] = readdirSync(join(DIR, 'dashboards'))
  .filter((f) => f.endsWith('.json'))
  .map((f) => JSON.parse(readFileSync(join(DIR, 'dashboards', f), 'utf8')) as Dashboard);

const datasource = (
  parse(readFileSync(join(DIR, 'provisioning', 'datasources', 'periscope.yaml'), 'utf8')) as {
    datasources: { uid: string; type: string; jsonData: { database: string } }[];
  }
).datasources[0]!;

const now = new Date();
const range = {
  from: new Date(now.getTime() - 6 * 3_600_000),
  to: new Date(now.getTime() + 60_000),
  intervalSeconds: 60,
};

let srv: PgTestServer;
let client: pg.Client;

before(async () => {
  const dir = await dataDirWithSnapshot(2);
  const store = await openStore(dir);
  try {
    const processId = String(
      (await store.query('SELECT process_id FROM processes LIMIT 1', { latest: true })).rows[0]![0],
    );
    const t = now.getTime() * 1000;
    await store.addProbeBatch({
      agentId: 'grafana-test',
      events: [],
      counts: [0, 1].map((i) => ({
        probe: 'handle',
        process: processId,
        startUs: t - (2 - i) * 60_000_000,
        endUs: t - (1 - i) * 60_000_000,
        hits: 600 * (i + 1),
        matched: 500,
        events: 400,
        rejected: 100,
        conditionErrors: 0,
        rateLimited: 100,
        ringFull: 0,
        agentDropped: 0,
        durations: 600,
        durationSumNs: 6e8,
        costNs: 1e6,
        cpuNs: 1e9,
      })),
      histograms: [
        {
          probe: 'handle',
          process: processId,
          startUs: t - 60_000_000,
          endUs: t,
          buckets: [
            [1_048_576, 500],
            [2_097_152, 100],
          ],
        },
      ],
      notices: [],
    });
    const investigationId = await store.addInvestigation({
      name: 'api-5m',
      owner: 'grafana-test',
      question: 'what do the goroutines do?',
      notes: '',
      definition: JSON.stringify({ name: 'api-5m', triggers: [{ schedule: { every: '5m' } }] }),
      createdAt: new Date(now.getTime() - 3_600_000).toISOString(),
    });
    const snapshots = (await store.query('SELECT snapshot_id FROM snapshots ORDER BY 1', { all: true })).rows;
    for (const [i, [snapshotId]] of snapshots.entries()) {
      const firing = await store.addFiring({
        investigationId,
        investigation: 'api-5m',
        firedAt: new Date(now.getTime() - (snapshots.length - i) * 300_000).toISOString(),
        trigger: 'schedule',
        detail: {},
        process: processId,
        traceKept: false,
      });
      await store.patchFiring(firing, { snapshotId: Number(snapshotId), reportRows: 3, webhook: '204' });
    }
  } finally {
    store.close();
  }
  srv = await pgServer(dir);
  client = new pg.Client({
    host: '127.0.0.1',
    port: srv.port,
    user: 'grafana',
    database: datasource.jsonData.database,
    password: srv.user,
  });
  await client.connect();
});

after(async () => {
  await client.end();
  await srv.server.close();
});

/** Each variable at its default (All: its custom all value). */
function allValues(d: Dashboard): Record<string, { all: string }> {
  return Object.fromEntries(
    d.templating.list.filter((v) => v.type === 'query').map((v) => [v.name, { all: v.allValue ?? '' }]),
  );
}

test('the provisioned data source is the PostgreSQL data source on the all-snapshots scope, and every query uses it', () => {
  assert.equal(datasource.type, 'grafana-postgresql-datasource');
  assert.equal(datasource.jsonData.database, 'all');
  for (const d of dashboards) {
    for (const v of d.templating.list)
      if (v.type === 'query') assert.equal(v.datasource?.uid, datasource.uid, `${d.title} $${v.name}`);
    for (const p of d.panels)
      for (const t of p.targets) assert.equal(t.datasource.uid, datasource.uid, `${d.title}: ${p.title}`);
  }
  assert.ok(dashboards.length >= 3);
});

test('every variable query runs and lists values', async () => {
  const values = new Map<string, string[]>();
  for (const d of dashboards)
    for (const v of d.templating.list.filter((x) => x.type === 'query')) {
      const r = await client.query(v.query);
      values.set(
        v.name,
        r.rows.map((row) => String(Object.values(row)[0])),
      );
      if (v.allValue) await client.query(`SELECT count(*) FROM (${v.allValue}) x`);
    }
  assert.deepEqual(values.get('program'), ['goroutines']);
  assert.deepEqual(values.get('probe'), ['handle']);
  assert.deepEqual(values.get('investigation'), ['api-5m']);
});

const TIME_OIDS = new Set([1184, 1114, 701]);
const NUMBER_OIDS = new Set([20, 21, 23, 700, 701, 1700]);

for (const d of dashboards)
  for (const p of d.panels)
    for (const t of p.targets)
      test(`${d.title} / ${p.title}: its SQL runs and returns the columns the ${p.type} panel needs`, async () => {
        const sql = expandGrafanaMacros(expandGrafanaVariables(t.rawSql, allValues(d)), range);
        assert.doesNotMatch(sql, /\$\w/, 'every variable and macro is expanded');
        const r = await client.query(sql);
        const fields = new Map(r.fields.map((f) => [f.name, f.dataTypeID]));
        if (t.format === 'time_series') {
          assert.ok(TIME_OIDS.has(fields.get('time') ?? 0), `a time column: ${JSON.stringify([...fields])}`);
          const values = [...fields].filter(([n, oid]) => n !== 'time' && NUMBER_OIDS.has(oid));
          assert.ok(values.length >= 1, `a numeric value column: ${JSON.stringify([...fields])}`);
          assert.ok(r.rows.length > 0, 'rows from the stored snapshots and probe counters');
        }
        for (const o of p.fieldConfig?.overrides ?? [])
          if (o.matcher.id === 'byName')
            assert.ok(fields.has(o.matcher.options), `column ${o.matcher.options} for its override`);
        const [replayed] = await pgxReplay(
          `postgres://grafana:${encodeURIComponent(srv.user)}@127.0.0.1:${srv.port}/${datasource.jsonData.database}?sslmode=disable`,
          [{ name: p.title, sql }],
        );
        assert.equal(replayed?.error, undefined, JSON.stringify(replayed?.error));
        for (const res of replayed?.results ?? [])
          assert.ok(
            !res.fields.some((f) => f.type === 'UNKNOWN'),
            `pgx knows every OID: ${JSON.stringify(res.fields)}`,
          );
      });

test('a chosen program is interpolated as Grafana quotes it and narrows the series', async () => {
  const d = dashboards.find((x) => x.templating.list.some((v) => v.name === 'program'))!;
  const panel = d.panels.find((p) => p.type === 'timeseries')!;
  const sql = expandGrafanaMacros(
    expandGrafanaVariables(panel.targets[0]!.rawSql, { program: ['goroutines', "o'hara"] }),
    range,
  );
  assert.match(sql, /IN \('goroutines','o''hara'\)/);
  const r = await client.query(sql);
  assert.ok(r.rows.length > 0);
  assert.equal(
    new Set(r.rows.map((row) => (row.time as Date).getTime())).size,
    2,
    'two snapshots, two times',
  );
});

test('the latest firings table lists the stored firings, newest first, with the ids its links need', async () => {
  const d = dashboards.find((x) => x.templating.list.some((v) => v.name === 'investigation'))!;
  const panel = d.panels.find((p) => p.type === 'table')!;
  const r = await client.query(
    expandGrafanaMacros(expandGrafanaVariables(panel.targets[0]!.rawSql, allValues(d)), range),
  );
  const snapshots = await client.query('SELECT snapshot_id FROM snapshots ORDER BY 1 DESC');
  assert.deepEqual(
    r.rows.map((row) => [
      row.investigation,
      row.trigger,
      Number(row.snapshot_id),
      Number(row.report_rows),
      row.webhook,
    ]),
    snapshots.rows.map((s) => ['api-5m', 'schedule', Number(s.snapshot_id), 3, '204']),
  );
  assert.ok(r.rows.every((row) => Number(row.investigation_id) > 0));
  const links = JSON.stringify(panel.fieldConfig?.overrides);
  for (const path of ['/snapshots/', '/investigations/', '/traces/'])
    assert.ok(links.includes(`\${periscope_url}${path}`), `a link to ${path}`);
});
