import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProcessSnapshot } from '../../src/snapshot/snapshot-types.js';
import { snapshotProcess } from '../../src/snapshot/take-snapshot.js';
import { effectiveSpec } from '../../src/spec/effective-spec.js';
import { parseSpec } from '../../src/spec/spec-parse.js';
import { EMPTY_SPEC } from '../../src/spec/spec-types.js';
import { toolchainUnavailable } from '../../support/go-fixtures.js';
import { TEST_PAUSE_CAP_MS } from '../../support/pause-cap.js';
import { startTarget, type Target } from '../../support/target.js';
import { describePairs, gkey, goroutineIn, goroutinesIn, joinLinks, tableRows } from './link-join.js';
import { buildGrpcPair, GRPC_VARIANTS } from './variants.js';

// The user's part of the spec: the request each unary handler got, which names the client
// process that sent it ("unary PID"): an oracle for the pairing that owes nothing to the links.
const USER_SPEC = parseSpec(
  `functions:
  - function: main.(*server).blockUnary
    table: pair_unary_handlers
    capture: { request: req.Value }
`,
  'test spec',
);
const SPEC = effectiveSpec(USER_SPEC);

const UNARY = '/periscope.test.Pair/Block';
const STREAM = '/periscope.test.Pair/Chat';

for (const v of GRPC_VARIANTS) {
  const old = v.grpc === 'v1.68.2';
  for (const tc of v.toolchains) {
    test(`grpc-go ${v.grpc}, ${tc}: each client goroutine in an RPC links to the server goroutine handling it`, async (t) => {
      const why = await toolchainUnavailable(tc);
      if (why) return t.skip(why);
      const { path, goVersion } = await buildGrpcPair(v, tc);
      t.diagnostic(`built with ${goVersion}`);
      const targets: Target[] = [];
      try {
        const server = await startTarget(path, ['server']);
        targets.push(server);
        const addr = /listening (\S+)/.exec(server.lines[0]!.text)![1]!;
        // Client 1: a unary call and a stream; client 2: a unary call (3 handlers blocked in all).
        const c1 = await startTarget(path, ['client', addr, 'both']);
        targets.push(c1);
        const c2 = await startTarget(path, ['client', addr, 'unary', '3']);
        targets.push(c2);
        const snaps: ProcessSnapshot[] = [server, c1, c2].map((p) =>
          snapshotProcess(p.pid, { pauseCapMs: TEST_PAUSE_CAP_MS, spec: SPEC }),
        );
        const [ss, s1, s2] = snaps as [ProcessSnapshot, ProcessSnapshot, ProcessSnapshot];

        // The oracle: which server goroutine handles which client's unary call.
        const handlerOf = new Map<string, number>();
        for (const r of tableRows([ss], 'pair_unary_handlers'))
          handlerOf.set(String(r.values.request), r.goroutine);
        assert.equal(handlerOf.size, 2, `two unary handlers: ${JSON.stringify([...handlerOf])}`);
        const expected = new Set([
          `${gkey(s1.pid, goroutineIn(s1, 'main.callUnary').id)} -> ${gkey(ss.pid, handlerOf.get(`unary ${c1.pid}`)!)}`,
          `${gkey(s2.pid, goroutineIn(s2, 'main.callUnary').id)} -> ${gkey(ss.pid, handlerOf.get(`unary ${c2.pid}`)!)}`,
          `${gkey(s1.pid, goroutineIn(s1, 'main.callStream').id)} -> ${gkey(ss.pid, goroutineIn(ss, 'main.(*server).blockStream').id)}`,
        ]);
        assert.equal(goroutinesIn(ss, 'main.(*server).blockUnary').length, 2);

        const pairs = joinLinks(SPEC, snaps);
        const got = new Set(
          pairs.map((p) => `${gkey(p.from.pid, p.from.goroutine)} -> ${gkey(p.to.pid, p.to.goroutine)}`),
        );
        assert.equal(pairs.length, 3, describePairs(pairs));
        assert.deepEqual(got, expected, describePairs(pairs));

        // Which link: a unary call waits for headers (its release's own waitOnHeader); the stream,
        // whose headers came, for a message.
        const suffix = old ? '_v1' : '';
        for (const p of pairs) {
          const method = p.from.values.method;
          assert.equal(method, p.to.values.method);
          assert.equal(
            p.link,
            method === UNARY ? `grpc_awaiting_headers${suffix}` : 'grpc_awaiting_messages',
          );
          assert.ok(method === UNARY || method === STREAM, String(method));
          assert.match(String(p.from.values.local), /^127\.0\.0\.1:\d+$/);
          assert.equal(p.from.values.remote, addr);
          assert.equal(p.from.values.socket, `tcp ${p.from.values.local}`);
          assert.equal(p.to.values.peer, p.from.values.socket);
          // The IP and port columns the tables had before they captured the connection.
          assert.equal(p.from.values.local_ip, '127.0.0.1');
          assert.equal(p.from.values.remote_port, Number(addr.split(':')[1]));
          assert.equal(typeof p.from.values.stream_id, 'number');
        }
        // The two clients' connections differ.
        const ports = new Set(pairs.map((p) => `${p.from.pid}:${p.from.values.local}`));
        assert.equal(ports.size, 2);
        // Nothing the default spec captured failed on the in-flight frames.
        for (const p of pairs) assert.deepEqual({ ...p.from.errors, ...p.to.errors }, {});
      } finally {
        for (const x of targets.reverse()) await x.kill();
      }
    });
  }
}

for (const v of [GRPC_VARIANTS[0]!, GRPC_VARIANTS.at(-1)!])
  test(`grpc-go ${v.grpc}: a server-only binary and a client-only binary link the same way`, async () => {
    const server = await buildGrpcPair(v, 'local', 'serveronly');
    const client = await buildGrpcPair(v, 'local', 'clientonly');
    const targets: Target[] = [];
    try {
      const s = await startTarget(server.path, ['server']);
      targets.push(s);
      const addr = /listening (\S+)/.exec(s.lines[0]!.text)![1]!;
      const c = await startTarget(client.path, ['client', addr, 'both']);
      targets.push(c);
      const spec = effectiveSpec(EMPTY_SPEC);
      const [ss, sc] = [s, c].map((p) => snapshotProcess(p.pid, { pauseCapMs: TEST_PAUSE_CAP_MS, spec })) as [
        ProcessSnapshot,
        ProcessSnapshot,
      ];
      const pairs = joinLinks(spec, [ss, sc]);
      assert.deepEqual(
        pairs.map((p) => `${gkey(p.from.pid, p.from.goroutine)} -> ${gkey(p.to.pid, p.to.goroutine)}`).sort(),
        [
          `${gkey(sc.pid, goroutineIn(sc, 'main.callUnary').id)} -> ${gkey(ss.pid, goroutineIn(ss, 'main.(*server).blockUnary').id)}`,
          `${gkey(sc.pid, goroutineIn(sc, 'main.callStream').id)} -> ${gkey(ss.pid, goroutineIn(ss, 'main.(*server).blockStream').id)}`,
        ].sort(),
        describePairs(pairs),
      );
    } finally {
      for (const x of targets.reverse()) await x.kill();
    }
  });
