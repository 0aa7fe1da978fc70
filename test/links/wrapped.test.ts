/**
 * The built-in links through wrapped connections and over Unix sockets (testdata/connpair):
 * a struct embedding net.Conn, a wrapper holding it in a named field, the two nested; TCP
 * and a Unix socket, whose ends are paired by the kernel's inodes. Each client goroutine in
 * a call links to the server goroutine handling it, in the JSON the snapshot gives and in
 * the store's `links` view; no link note is left.
 */
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { test } from 'node:test';
import type { ProcessSnapshot } from '../../src/snapshot/snapshot-types.js';
import { snapshotProcess } from '../../src/snapshot/take-snapshot.js';
import { effectiveSpec } from '../../src/spec/effective-spec.js';
import { EMPTY_SPEC } from '../../src/spec/spec-types.js';
import { TEST_PAUSE_CAP_MS } from '../../support/pause-cap.js';
import type { Target } from '../../support/target.js';
import { freshDataDir, objects, openStore } from '../store/store-support.js';
import { describePairs, gkey, goroutineIn, joinLinks } from './link-join.js';
import { buildConnPair, type ConnMode, startConnPair } from './variants.js';

const SPEC = effectiveSpec(EMPTY_SPEC);

const MODES: readonly ConnMode[] = [
  { net: 'tcp', wrap: 'embed' },
  { net: 'tcp', wrap: 'named' },
  { net: 'tcp', wrap: 'deep' },
  { net: 'unix', wrap: 'none' },
  { net: 'unix', wrap: 'deep' },
];

/** The expected pairs: the client's call goroutines -> the server's handler goroutines. */
function expectedPairs(ss: ProcessSnapshot, sc: ProcessSnapshot): string[] {
  return [
    `http_call: ${gkey(sc.pid, goroutineIn(sc, 'main.callHTTP').id)} -> ${gkey(ss.pid, goroutineIn(ss, 'main.runServer.func2.1').id)}`,
    `grpc_awaiting_headers: ${gkey(sc.pid, goroutineIn(sc, 'main.callGrpc').id)} -> ${gkey(ss.pid, goroutineIn(ss, 'main.(*server).blockGrpc').id)}`,
  ].sort();
}

for (const mode of MODES)
  test(`${mode.net}, conns wrapped ${mode.wrap}: HTTP and gRPC calls link to their handlers`, async () => {
    const { path } = await buildConnPair();
    const targets: Target[] = [];
    try {
      const { server, client } = await startConnPair(path, mode, targets);
      const snaps = [server, client].map((p) =>
        snapshotProcess(p.pid, { pauseCapMs: TEST_PAUSE_CAP_MS, spec: SPEC }),
      );
      const [ss, sc] = snaps as [ProcessSnapshot, ProcessSnapshot];
      const pairs = joinLinks(SPEC, snaps);
      const want = expectedPairs(ss, sc);
      assert.deepEqual(
        pairs
          .map((p) => `${p.link}: ${gkey(p.from.pid, p.from.goroutine)} -> ${gkey(p.to.pid, p.to.goroutine)}`)
          .sort(),
        want,
        describePairs(pairs),
      );
      for (const p of pairs) {
        const conn = p.from.values.conn as { network: string; via: string[]; socket: string };
        assert.equal(conn.network, mode.net);
        // The wrappers the walk went through, outermost first, down to the socket.
        const wrappers = {
          none: [],
          embed: ['*main.embedConn'],
          named: ['*main.namedConn'],
          deep: ['*main.embedConn', '*main.namedConn'],
        }[mode.wrap];
        assert.deepEqual(conn.via, [...wrappers, mode.net === 'tcp' ? '*net.TCPConn' : '*net.UnixConn']);
        if (mode.net === 'unix') assert.match(conn.socket, /^unix [0-9a-f-]{36}:\d+$/);
        else assert.match(conn.socket, /^tcp 127\.0\.0\.1:\d+$/);
        assert.deepEqual({ ...p.from.errors, ...p.to.errors }, {});
      }
      assert.deepEqual([ss.linkNotes, sc.linkNotes], [undefined, undefined], 'nothing left unresolved');

      // The store's links view pairs the same goroutines.
      const store = await openStore(freshDataDir());
      try {
        const host = hostname();
        const id = await store.addSnapshot({
          processes: snaps.map((snapshot) => ({ hostname: host, snapshot })),
          specText: '',
        });
        const rows = objects(
          await store.query(
            'SELECT link, from_process_id, from_goroutine_id, to_process_id, to_goroutine_id FROM links',
            {
              snapshot: id,
            },
          ),
        );
        const key = (proc: unknown, g: unknown) => `${String(proc).slice(host.length + 1)}:${g}`;
        assert.deepEqual(
          rows
            .map(
              (r) =>
                `${r.link}: ${key(r.from_process_id, r.from_goroutine_id)} -> ${key(r.to_process_id, r.to_goroutine_id)}`,
            )
            .sort(),
          want,
        );
      } finally {
        store.close();
      }
    } finally {
      for (const t of targets.reverse()) await t.kill();
    }
  });

test('Unix sockets of processes in another network namespace: no link, and one note per link and table saying why', async () => {
  const { path } = await buildConnPair();
  const targets: Target[] = [];
  try {
    // Both in one new network namespace (unshare --net): the sockets live there, where
    // Periscope's sock_diag does not look.
    const mode: ConnMode = { net: 'unix', wrap: 'none' };
    const { server, client } = await startConnPair(path, mode, targets, { prefix: ['unshare', '--net'] });
    const snaps = [server, client].map((p) =>
      snapshotProcess(p.pid, { pauseCapMs: TEST_PAUSE_CAP_MS, spec: SPEC }),
    );
    assert.deepEqual(joinLinks(SPEC, snaps), []);
    const [ss] = snaps as [ProcessSnapshot, ProcessSnapshot];
    const notes = (ss.linkNotes ?? []).filter((n) => n.table === 'http_server_conns');
    assert.equal(notes.length, 1, JSON.stringify(ss.linkNotes));
    assert.equal(notes[0]!.link, 'http_call');
    assert.equal(notes[0]!.frames, 1);
    assert.match(notes[0]!.message, /network namespace net:\[\d+\], Periscope in net:\[\d+\]/);
  } finally {
    for (const t of targets.reverse()) await t.kill();
  }
});
