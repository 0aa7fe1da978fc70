import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { parse } from 'yaml';
import type { ServerMessage } from '../../src/protocol/messages.js';
import { openApiPath } from '../../src/server/http-static.js';
import type { RunningServer } from '../../src/server/server.js';
import { api, describeProcess, eventually, FakeAgent, testServer } from './server-support.js';

let server: RunningServer;
let admin: string;

before(async () => {
  server = await testServer();
  admin = server.firstTokens?.admin ?? '';
});

after(() => server.close());

interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Record<string, { 'x-periscope-role'?: string; responses?: object }>>;
}

const METHODS = ['get', 'post', 'put', 'delete', 'patch'];

function documented(doc: OpenApiDoc): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  for (const [path, item] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(item))
      if (METHODS.includes(method)) out.set(`${method.toUpperCase()} ${path}`, op['x-periscope-role']);
  return out;
}

function refsOf(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) for (const x of v) refsOf(x, out);
  else if (v && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) {
      if (k === '$ref' && typeof x === 'string') out.push(x);
      else refsOf(x, out);
    }
  return out;
}

test('the OpenAPI document is valid YAML, OpenAPI 3.1, and every $ref resolves', () => {
  const doc = parse(readFileSync(openApiPath(), 'utf8')) as OpenApiDoc & Record<string, unknown>;
  assert.match(doc.openapi, /^3\.1\./);
  for (const ref of refsOf(doc)) {
    assert.match(ref, /^#\//, ref);
    let node: unknown = doc;
    for (const part of ref.slice(2).split('/')) node = (node as Record<string, unknown>)[part];
    assert.ok(node !== undefined, `unresolved ${ref}`);
  }
});

test('the OpenAPI document and the server agree on every route and the role it needs', async () => {
  const doc = parse(readFileSync(openApiPath(), 'utf8')) as OpenApiDoc;
  const docRoutes = documented(doc);
  const served = new Map(server.routes.map((r) => [`${r.method} ${r.path}`, r.need as string]));
  assert.deepEqual([...docRoutes.keys()].sort(), [...served.keys()].sort());
  for (const [key, need] of served) assert.equal(docRoutes.get(key), need, `role of ${key}`);
  // and the live server answers each one: public routes without a token, the others with 401
  for (const key of docRoutes.keys()) {
    const [method = '', path = ''] = key.split(' ');
    const concrete = path.replace('{id}', '1').replace('{version}', '1');
    const r = await api(
      server.url,
      undefined,
      method,
      concrete,
      method === 'GET' || method === 'DELETE' ? undefined : {},
    );
    if (served.get(key) === 'public') assert.equal(r.status, 200, key);
    else assert.equal(r.status, 401, key);
  }
  const servedDoc = await api(server.url, admin, 'GET', '/v1/openapi.yaml');
  assert.equal(servedDoc.text, readFileSync(openApiPath(), 'utf8'));
});

test('spec: PUT records a version, agents get it at once, GET and versions show it', async () => {
  const a = new FakeAgent('spec-a', 'spec-host', [describeProcess('spec-host', 1, ['x'])], () => {
    throw new Error('no capture in this test');
  });
  const welcome = await a.connect(server.url, server.firstTokens?.agent ?? '');
  assert.equal(welcome.type === 'welcome' && welcome.specVersion, 0);
  assert.equal((await api(server.url, admin, 'GET', '/v1/spec')).status, 404);
  const yaml = 'functions:\n  - function: main.park\n    table: parked\n    capture:\n      count: count\n';
  const put = await fetch(`${server.url}/v1/spec`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/yaml' },
    body: yaml,
  });
  assert.equal(put.status, 200, await put.clone().text());
  const result = (await put.json()) as { version: number; changed: boolean };
  assert.equal(result.changed, true);
  await eventually(() => a.received.some((m) => m.type === 'spec'), 3000, 'spec broadcast');
  const msg = a.received.find((m): m is Extract<ServerMessage, { type: 'spec' }> => m.type === 'spec');
  assert.equal(msg?.specVersion, result.version);
  assert.equal(msg?.spec, yaml);
  const again = await api<{ changed: boolean }>(server.url, admin, 'PUT', '/v1/spec', { yaml });
  assert.equal(again.body.changed, false);
  const cur = await api<{ version: number; yaml: string; author: string }>(
    server.url,
    admin,
    'GET',
    '/v1/spec',
  );
  assert.equal(cur.body.version, result.version);
  assert.equal(cur.body.author, 'first-admin');
  const versions = await api<{ versions: { version: number }[] }>(
    server.url,
    admin,
    'GET',
    '/v1/spec/versions',
  );
  assert.deepEqual(
    versions.body.versions.map((v) => v.version),
    [result.version],
  );
  assert.equal((await api(server.url, admin, 'GET', `/v1/spec/versions/${result.version}`)).status, 200);
  assert.equal((await api(server.url, admin, 'GET', '/v1/spec/versions/99')).status, 404);
  const bad = await api<{ error: { message: string } }>(server.url, admin, 'PUT', '/v1/spec', {
    yaml: 'functions: [ {function: 3',
  });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /\d+:\d+/, 'a spec error names line and column');
  await a.close();
});
