import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NO_BIAS } from '../../src/common/address.js';
import { GoBinary } from '../../src/gobinary/go-binary.js';
import { prepareCapture } from '../../src/snapshot/capture-plan.js';
import { defaultSpec, isBuiltIn } from '../../src/spec/default-spec.js';
import { effectiveSpec } from '../../src/spec/effective-spec.js';
import { parseSpec } from '../../src/spec/spec-parse.js';
import { EMPTY_SPEC } from '../../src/spec/spec-types.js';
import { buildFixture, GO_TOOLCHAINS, toolchainUnavailable } from '../../support/go-fixtures.js';
import { buildGrpcPair, buildHttpChain, GRPC_VARIANTS } from './variants.js';

const GRPC_SERVER = 'google.golang.org/grpc.(*Server).handleStream';
const CLIENT_HEADERS = 'google.golang.org/grpc/internal/transport.(*ClientStream).waitOnHeader';
const CLIENT_HEADERS_V1 = 'google.golang.org/grpc/internal/transport.(*Stream).waitOnHeader';
const CLIENT_MESSAGES = 'google.golang.org/grpc.(*parser).recvMsg';
const HTTP_CLIENT = 'net/http.(*persistConn).roundTrip';
const HTTP_SERVER = 'net/http.(*conn).serve';

test('the default spec parses, and each link pairs columns its tables have', () => {
  const spec = defaultSpec();
  assert.deepEqual(
    spec.functions.map((f) => f.table),
    [
      'grpc_server_streams',
      'grpc_client_awaiting_headers',
      'grpc_client_awaiting_headers_v1',
      'grpc_client_awaiting_messages',
      'http_client_calls',
      'http_server_conns',
    ],
  );
  assert.deepEqual(
    spec.links.map((l) => l.name),
    ['grpc_awaiting_headers', 'grpc_awaiting_messages', 'grpc_awaiting_headers_v1', 'http_call'],
  );
  for (const l of spec.links)
    for (const end of [l.from, l.to]) {
      const f = spec.functions.find((x) => x.table === end.table);
      assert.ok(f, `${l.name}: table ${end.table}`);
      for (const c of end.columns)
        assert.ok(
          f.capture.some((x) => x.column === c) || f.columns.some((x) => x.name === c),
          `${l.name}: ${end.table}.${c}`,
        );
    }
  // Positions would point into the built-in text, not a user's file.
  assert.ok(spec.functions.every((f) => f.at === undefined && f.capture.every((c) => c.at === undefined)));
  assert.ok(spec.links.every((l) => l.at === undefined && l.description !== ''));
  assert.equal(defaultSpec(), spec, 'parsed once');
  assert.ok(isBuiltIn('link', 'http_call') && isBuiltIn('table', 'grpc_server_streams'));
  assert.ok(!isBuiltIn('table', 'orders'));
});

test('effectiveSpec: the user spec comes with the built-in entries; the user wins conflicts', () => {
  assert.deepEqual(effectiveSpec(EMPTY_SPEC).functions, defaultSpec().functions);
  assert.equal(effectiveSpec(EMPTY_SPEC, { defaults: false }), EMPTY_SPEC);
  const user = parseSpec(
    `programs:
  - name: orders
    match: { executable: "orders$" }
functions:
  - function: main.handle
    capture: { id: req.ID }
  - function: net/http.(*conn).serve
    table: my_conns
    capture: { addr: c.remoteAddr }
  - function: main.other
    table: grpc_server_streams
    capture: { x: x }
links:
  - name: grpc_awaiting_headers
    from: { table: main_handle, columns: [id] }
    to: { table: my_conns, columns: [addr] }
limits: { maxString: 64 }
`,
    'user.yaml',
  );
  const merged = effectiveSpec(user);
  const fns = merged.functions.map((f) => `${f.function} -> ${f.table}`);
  assert.deepEqual(fns, [
    `${CLIENT_HEADERS} -> grpc_client_awaiting_headers`,
    `${CLIENT_HEADERS_V1} -> grpc_client_awaiting_headers_v1`,
    `${CLIENT_MESSAGES} -> grpc_client_awaiting_messages`,
    `${HTTP_CLIENT} -> http_client_calls`,
    'main.handle -> main_handle',
    `${HTTP_SERVER} -> my_conns`,
    'main.other -> grpc_server_streams',
  ]);
  // http_call lost its server table (the user captures that function into my_conns);
  // grpc_awaiting_headers is the user's.
  assert.deepEqual(
    merged.links.map((l) => `${l.name}: ${l.from.table} -> ${l.to.table}`),
    [
      'grpc_awaiting_messages: grpc_client_awaiting_messages -> grpc_server_streams',
      'grpc_awaiting_headers_v1: grpc_client_awaiting_headers_v1 -> grpc_server_streams',
      'grpc_awaiting_headers: main_handle -> my_conns',
    ],
  );
  assert.equal(merged.limits.maxString, 64);
  assert.deepEqual(
    merged.programs.map((p) => p.name),
    ['orders'],
  );
  // The user's positions are kept for their error messages.
  assert.ok(merged.functions.find((f) => f.table === 'main_handle')?.at !== undefined);
});

/** Prepares the default spec for a binary (throws if any expression does not type-check) and lists what is absent. */
async function absentIn(path: string): Promise<string[]> {
  const bin = await GoBinary.open(path);
  return [...prepareCapture(bin, effectiveSpec(EMPTY_SPEC), NO_BIAS).functionsAbsent];
}

for (const v of GRPC_VARIANTS)
  for (const tc of v.toolchains)
    test(`every default expression type-checks against grpcpair with grpc-go ${v.grpc}, ${tc}`, async (t) => {
      const why = await toolchainUnavailable(tc);
      if (why) return t.skip(why);
      const { path } = await buildGrpcPair(v, tc);
      const old = v.grpc === 'v1.68.2';
      assert.deepEqual(await absentIn(path), [
        old ? CLIENT_HEADERS : CLIENT_HEADERS_V1,
        HTTP_CLIENT,
        HTTP_SERVER,
      ]);
    });

for (const v of [GRPC_VARIANTS[0]!, GRPC_VARIANTS.at(-1)!])
  test(`grpc-go ${v.grpc}: the default spec also fits binaries built with only the server's or only the client's code`, async () => {
    // The expressions type-check (prepare throws otherwise). grpc-go links both transports
    // and the Server's methods into either kind of program, so the same functions are found.
    const full = await absentIn((await buildGrpcPair(v, 'local')).path);
    for (const sides of ['serveronly', 'clientonly'] as const)
      assert.deepEqual(await absentIn((await buildGrpcPair(v, 'local', sides)).path), full, sides);
  });

for (const tc of GO_TOOLCHAINS)
  test(`every default expression type-checks against httpchain (net/http), ${tc}; hello has none of the functions`, async (t) => {
    const why = await toolchainUnavailable(tc);
    if (why) return t.skip(why);
    const { path } = await buildHttpChain(tc);
    assert.deepEqual(await absentIn(path), [GRPC_SERVER, CLIENT_HEADERS, CLIENT_HEADERS_V1, CLIENT_MESSAGES]);
    const hello = await buildFixture('hello', { toolchain: tc });
    assert.equal((await absentIn(hello.path)).length, defaultSpec().functions.length);
  });
