/**
 * The scaled-out store with the real binaries: three `periscope server` processes on one
 * PostgreSQL and one S3-compatible object store (a real SeaweedFS), an agent connected to
 * server A only. A spec set on B is the spec A's snapshot uses; the snapshot requested on A is
 * queried on B and on C (goroutines and a spec function table), with its fleet metadata.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  cli,
  cliJson,
  type FleetSnapshot,
  fleetTag,
  type Proc,
  type ServerProc,
  startAgentProc,
  startTagged,
  tempDir,
  waitForFleet,
} from '../../support/fleet.js';
import { buildFixture } from '../../support/go-fixtures.js';
import type { Target } from '../../support/target.js';
import { freshObjectsUrl } from '../store/shared/shared-support.js';
import { ScaledOutServers } from './scaled-out-servers.js';

const SPEC = `functions:
  - function: main.call
    table: client_calls
    capture:
      id: id
`;

const tag = fleetTag();
const fleet = new ScaledOutServers('scale-out');
let a: ServerProc | undefined;
let b: ServerProc | undefined;
let c: ServerProc | undefined;
let agent: Proc | undefined;
let target: Target | undefined;
const tokens = { agentA: '', userA: '', adminB: '', userC: '' };

before(async () => {
  await fleet.start({ s3: true });
  // The tokens are in PostgreSQL, made before any server runs: every server accepts each one.
  tokens.agentA = await fleet.token('agent', 'agent-a');
  tokens.userA = await fleet.token('admin', 'admin-a');
  tokens.adminB = await fleet.token('admin', 'admin-b');
  tokens.userC = await fleet.token('user', 'user-c');
  // Every server with --retain: their first passes start together, one at a time (nothing is old enough to go).
  [a, b, c] = await fleet.startServers(['a', 'b', 'c'], ['--retain', '*=30d']);
  const { path } = await buildFixture('linkpair');
  target = await startTagged(path, [], tag, 'host-a');
  agent = startAgentProc(a.url, tokens.agentA, 'host-a', tag);
  await waitForFleet(a.url, tokens.userA, { 'host-a': [target.pid] });
});

after(async () => {
  await agent?.stop();
  target?.kill();
  await fleet.close();
});

test('three servers on one PostgreSQL and S3 store: a spec set on B captures on A, A’s snapshot is queried on B and C', async () => {
  const spec = join(tempDir('periscope-scale-spec-'), 'spec.yaml');
  writeFileSync(spec, SPEC);
  const set = await cli(['spec', 'set', spec, '--server', b!.url], { PERISCOPE_TOKEN: tokens.adminB });
  assert.equal(set.code, 0, set.stderr);
  const shown = await cli(['spec', 'show', '--server', a!.url], { PERISCOPE_TOKEN: tokens.userA });
  assert.equal(shown.stdout.trim(), SPEC.trim(), 'A serves the spec B stored');

  const taken = await cli(['snapshot', '--server', a!.url, '--all', '--json'], {
    PERISCOPE_TOKEN: tokens.userA,
  });
  assert.equal(taken.code, 0, `${taken.stdout}${taken.stderr}${a!.proc.lines.map((l) => l.text).join('\n')}`);
  const snap = JSON.parse(taken.stdout) as FleetSnapshot;
  assert.equal(snap.processes.length, 1);
  const onB = { PERISCOPE_TOKEN: tokens.adminB };
  const q = (sql: string) =>
    cliJson<Record<string, unknown>[]>(['query', '--server', b!.url, '--format', 'json', sql], onB);
  const [g] = await q('SELECT snapshot_id, count(*) AS n FROM goroutines GROUP BY snapshot_id');
  assert.equal(g!.snapshot_id, snap.snapshotId);
  assert.ok(Number(g!.n) > 3, `goroutines of the snapshot on B: ${JSON.stringify(g)}`);
  const calls = await q('SELECT id FROM client_calls ORDER BY id');
  assert.ok(calls.length >= 2, `the spec's function table on B: ${JSON.stringify(calls)}`);
  const [s] = await q('SELECT spec_version, process_count FROM snapshots');
  assert.deepEqual(s, { spec_version: 1, process_count: 1 }, 'captured with the version B set');
  // The snapshot's fleet metadata (request, selector, who asked) is B's to show too.
  const res = await fetch(`${b!.url}/v1/snapshots/${snap.snapshotId}`, {
    headers: { authorization: `Bearer ${tokens.adminB}` },
  });
  assert.equal(res.status, 200);
  const shownOnB = (await res.json()) as { requestId?: string; requestedBy?: string };
  assert.match(shownOnB.requestId ?? '', /\S/);
  assert.equal(shownOnB.requestedBy, 'admin-a');
  // A third server, which took no part, answers the same from the object store.
  const onC = await cliJson<Record<string, unknown>[]>(
    ['query', '--server', c!.url, '--format', 'json', 'SELECT count(*) AS n FROM client_calls'],
    { PERISCOPE_TOKEN: tokens.userC },
  );
  assert.equal(Number(onC[0]!.n), calls.length, 'C sees the function table B sees');
  const keys = await fetchObjectsList();
  assert.ok(
    keys.some((k) => k.startsWith(`snapshots/${snap.snapshotId}/`) && k.endsWith('.parquet')),
    `the snapshot's Parquet objects in the bucket: ${keys.join(', ')}`,
  );
});

test('a token created through server A works on B; revoked on B, A refuses it within about a second', async (t) => {
  const created = await cliJson<{ id: string; token: string }>(
    ['token', 'create', '--role', 'user', '--name', 'made-on-a', '--server', a!.url, '--json'],
    { PERISCOPE_TOKEN: tokens.userA },
  );
  const status = async (url: string) =>
    (await fetch(`${url}/v1/snapshots`, { headers: { authorization: `Bearer ${created.token}` } })).status;
  // A knows it at once (it wrote it); B within its refresh of the tokens.
  assert.equal(await status(a!.url), 200);
  assert.equal(await eventually(() => status(b!.url), 200), 200, 'B accepts the token made on A');
  const revoked = await cli(['token', 'revoke', created.id, '--server', b!.url], {
    PERISCOPE_TOKEN: tokens.adminB,
  });
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.equal(await status(b!.url), 401, 'B refuses it at once');
  const t0 = Date.now();
  assert.equal(await eventually(() => status(a!.url), 401), 401, 'A refuses the token revoked on B');
  const waited = Date.now() - t0;
  t.diagnostic(`A refused the token ${waited} ms after B revoked it`);
  // The bound is a refresh every second (docs/security.md); 5 s leaves room for a loaded machine.
  assert.ok(waited < 5000, `A refused it only after ${waited} ms`);
  const listed = await cliJson<{ id: string; revokedAt?: string }[]>([
    'token',
    'list',
    '--store',
    fleet.pg.url,
    '--json',
  ]);
  assert.match(listed.find((t) => t.id === created.id)?.revokedAt ?? '', /^\d{4}-/, 'listed as revoked');
});

/** Calls `fn` every 50 ms until it gives `want` or 10 s pass; its last answer. */
async function eventually<T>(fn: () => Promise<T>, want: T): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const got = await fn();
    if (got === want || Date.now() > deadline) return got;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The keys under the test's prefix in the S3 bucket, as the store's own S3 client lists them. */
async function fetchObjectsList(): Promise<string[]> {
  const { S3Objects } = await import('../../src/store/s3-objects.js');
  const objects = S3Objects.fromUrl(new URL(fleet.objects), { env: fleet.s3.env });
  return (await objects.list('')).map((o) => o.key);
}

test('periscope server --store: what failed at start, and what to check', async () => {
  const data = tempDir('periscope-scale-bad-');
  const objects = freshObjectsUrl();
  const run = (args: string[], env: Record<string, string> = {}) =>
    cli(['server', '--listen', '127.0.0.1:0', '--data', data, ...args], env, 30_000);
  const down = await run(['--store', 'postgres://periscope:pw@127.0.0.1:1/periscope', '--objects', objects]);
  assert.notEqual(down.code, 0);
  assert.match(
    down.stderr,
    /cannot reach PostgreSQL at postgres:\/\/periscope@127\.0\.0\.1:1\/periscope: .*ECONNREFUSED.*check that it runs/,
  );
  assert.doesNotMatch(down.stderr, /pw/);
  // The same from the environment.
  const env = await run([], {
    PERISCOPE_STORE: 'postgres://periscope@127.0.0.1:1/periscope',
    PERISCOPE_OBJECTS: objects,
  });
  assert.match(env.stderr, /cannot reach PostgreSQL at postgres:\/\/periscope@127\.0\.0\.1:1\/periscope/);
  assert.match((await run(['--store', fleet.pg.url])).stderr, /--store needs --objects URL/);
  assert.match((await run(['--objects', objects])).stderr, /--objects needs --store postgres:\/\//);
  assert.match(
    (await run(['--store', 'mysql://x/y', '--objects', objects])).stderr,
    /--store wants a postgres:\/\/ URL/,
  );
  const noS3 = await run(
    ['--store', fleet.pg.url, '--objects', 's3://bucket/prefix?endpoint=http://127.0.0.1:1'],
    {
      AWS_ACCESS_KEY_ID: 'k',
      AWS_SECRET_ACCESS_KEY: 's',
    },
  );
  assert.notEqual(noS3.code, 0);
  assert.match(noS3.stderr, /s3:\/\/bucket\/prefix.*127\.0\.0\.1:1/);
});
