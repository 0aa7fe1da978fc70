// The server's side of the web app, without a browser: the built app served by default
// (index.html for the app's routes with a CSP, hashed assets cached for a year), and sign-in
// sessions in an HttpOnly cookie (what they allow, the CSRF header, sign-out, revocation).
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { RunningServer } from '../../src/server/server.js';
import { ROOT } from '../../support/go-fixtures.js';
import { api, testServer } from '../server/server-support.js';

let server: RunningServer;
let admin: string;
let user: string;

before(async () => {
  server = await testServer();
  admin = server.firstTokens?.admin ?? '';
  user = (
    await api<{ token: string }>(server.url, admin, 'POST', '/v1/tokens', { role: 'user', name: 'ada' })
  ).body.token;
});

after(() => server.close());

test('the app is served by default: index.html for its routes, hashed assets cached for a year', async () => {
  for (const path of ['/', '/snapshots/3?status=waiting&g=h:1:2', '/tables']) {
    const res = await fetch(`${server.url}${path}`);
    assert.equal(res.status, 200, path);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self';/);
    const html = await res.text();
    assert.match(html, /<script type="module" src="\/assets\/main-[A-Z0-9]+\.js">/);
  }
  const first = await fetch(`${server.url}/`);
  const etag = first.headers.get('etag') ?? '';
  assert.ok(etag);
  assert.equal((await fetch(`${server.url}/`, { headers: { 'if-none-match': etag } })).status, 304);

  const assets = readdirSync(join(ROOT, 'dist', 'web', 'assets'));
  const js = assets.find((f) => /^main-[A-Z0-9]+\.js$/.test(f));
  assert.ok(js, 'npm run build wrote the main bundle');
  const asset = await fetch(`${server.url}/assets/${js}`);
  assert.equal(asset.status, 200);
  assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  assert.match(asset.headers.get('content-type') ?? '', /^text\/javascript/);
  // A missing asset is a 404, not the app's page (a stale page must not run HTML as a script).
  assert.equal((await fetch(`${server.url}/assets/main-GONE.js`)).status, 404);
  assert.equal((await fetch(`${server.url}/assets/..%2f..%2fpackage.json`)).status, 404);
  assert.equal((await fetch(`${server.url}/v1/nothing`)).status, 404);
});

/** The session cookie of a sign-in answer. */
function cookieOf(res: Response): string {
  const set = res.headers.get('set-cookie') ?? '';
  return set.split(';')[0] ?? '';
}

test('a user token signs in to an HttpOnly SameSite cookie that stands for it until sign-out', async () => {
  const res = await fetch(`${server.url}/v1/session`, {
    method: 'POST',
    headers: { authorization: `Bearer ${user}` },
  });
  assert.equal(res.status, 200);
  const set = res.headers.get('set-cookie') ?? '';
  assert.match(set, /^periscope_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict$/);
  assert.ok(!set.includes(user.slice(-20)), 'the cookie is not the token');
  const cookie = cookieOf(res);
  const who = (await res.json()) as { name: string; role: string };
  assert.deepEqual([who.name, who.role], ['ada', 'user']);

  const list = await fetch(`${server.url}/v1/snapshots`, { headers: { cookie } });
  assert.equal(list.status, 200);
  // Writes by cookie need the client header (a page of another site cannot send it).
  const body = JSON.stringify({ sql: 'select 1' });
  const bare = await fetch(`${server.url}/v1/query`, { method: 'POST', headers: { cookie }, body });
  assert.equal(bare.status, 403);
  assert.match(((await bare.json()) as { error: { message: string } }).error.message, /x-periscope-client/);
  const ok = await fetch(`${server.url}/v1/query`, {
    method: 'POST',
    headers: { cookie, 'x-periscope-client': 'web', 'content-type': 'application/json' },
    body,
  });
  assert.equal(ok.status, 200, await ok.clone().text());

  const out = await fetch(`${server.url}/v1/session`, { method: 'DELETE', headers: { cookie } });
  assert.equal(out.status, 200);
  assert.match(out.headers.get('set-cookie') ?? '', /Max-Age=0/);
  const after = await fetch(`${server.url}/v1/snapshots`, { headers: { cookie } });
  assert.equal(after.status, 401);
  assert.match(((await after.json()) as { error: { message: string } }).error.message, /sign in again/);
});

test('agent tokens cannot sign in; revoking a token ends its sessions at once', async () => {
  const agent = server.firstTokens?.agent ?? '';
  const refused = await fetch(`${server.url}/v1/session`, {
    method: 'POST',
    headers: { authorization: `Bearer ${agent}` },
  });
  assert.equal(refused.status, 403);
  assert.equal(refused.headers.get('set-cookie'), null);
  assert.equal((await fetch(`${server.url}/v1/session`, { method: 'POST' })).status, 401);

  const created = await api<{ token: string; id: string }>(server.url, admin, 'POST', '/v1/tokens', {
    role: 'user',
    name: 'bob',
  });
  const res = await fetch(`${server.url}/v1/session`, {
    method: 'POST',
    headers: { authorization: `Bearer ${created.body.token}` },
  });
  const cookie = cookieOf(res);
  assert.equal((await fetch(`${server.url}/v1/session`, { headers: { cookie } })).status, 200);
  assert.equal((await api(server.url, admin, 'DELETE', `/v1/tokens/${created.body.id}`)).status, 200);
  assert.equal((await fetch(`${server.url}/v1/session`, { headers: { cookie } })).status, 401);
  // A made-up session id is no session.
  assert.equal(
    (
      await fetch(`${server.url}/v1/snapshots`, {
        headers: { cookie: `periscope_session=${'A'.repeat(43)}` },
      })
    ).status,
    401,
  );
});

test('GET /v1/tables lists the built-in tables with their columns, then the spec tables by kind', async () => {
  const yaml =
    'functions:\n  - function: main.work\n    table: work_calls\n    capture:\n      n: n\n' +
    "derived:\n  - name: busy\n    sql: SELECT * FROM goroutines WHERE status = 'running'\n";
  assert.equal(
    (await api(server.url, admin, 'PUT', '/v1/spec?force=true', { yaml, force: true })).status,
    200,
  );
  const r = await api<{ tables: { name: string; kind: string; columns: { name: string }[] }[] }>(
    server.url,
    user,
    'GET',
    '/v1/tables',
  );
  assert.equal(r.status, 200, r.text);
  const kinds = Object.fromEntries(r.body.tables.map((t) => [t.name, t.kind]));
  assert.equal(kinds.goroutines, 'built-in');
  // Every built-in table the store has (a second list here once missed the later ones).
  for (const t of ['link_notes', 'probe_events', 'traces', 'investigations'])
    assert.equal(kinds[t], 'built-in', `${t} is listed`);
  assert.equal(kinds.work_calls, 'function');
  assert.equal(kinds.busy, 'derived');
  assert.equal(kinds.grpc_server_streams, 'function', 'the built-in default spec’s tables too');
  const g = r.body.tables.find((t) => t.name === 'goroutines');
  assert.ok(g?.columns.some((c) => c.name === 'wait_ns'));
  assert.deepEqual(
    r.body.tables.slice(0, 2).map((t) => t.name),
    ['snapshots', 'processes'],
  );
  assert.equal((await api(server.url, user, 'GET', '/v1/tables?snapshot=x')).status, 400);
});
