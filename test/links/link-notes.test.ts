/**
 * When a built-in link cannot resolve in a program, it is said once per program, link, table
 * and reason — in the snapshot (`linkNotes`), its summary, the store (`link_notes`) and
 * `periscope links` — not left in every row's `captured.error`:
 * - at run time: connpair's pipe mode, an HTTP call over net.Pipe (no socket behind it);
 *   those built-in frames read nothing else;
 * - before any capture: fakegrpc, a stand-in grpc-go whose server transport's connection
 *   type can hold no socket, so its handleStream is left out of the pause altogether.
 */
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { test } from 'node:test';
import { NO_BIAS } from '../../src/common/address.js';
import { GoBinary } from '../../src/gobinary/go-binary.js';
import { prepareCapture } from '../../src/snapshot/capture-plan.js';
import { SKIPPED } from '../../src/snapshot/capture-values.js';
import { snapshotProcess } from '../../src/snapshot/take-snapshot.js';
import { effectiveSpec } from '../../src/spec/effective-spec.js';
import { EMPTY_SPEC } from '../../src/spec/spec-types.js';
import { buildFixture } from '../../support/go-fixtures.js';
import { TEST_PAUSE_CAP_MS } from '../../support/pause-cap.js';
import { startTarget } from '../../support/target.js';
import { cli, freshDataDir } from '../store/store-support.js';
import { goroutineIn, tableRows } from './link-join.js';
import { buildConnPair } from './variants.js';

const SPEC = effectiveSpec(EMPTY_SPEC);

test('a connection with no socket behind it: one note per link and table, everywhere, and nothing else read on those frames', async () => {
  const { path } = await buildConnPair();
  const t = await startTarget(path, ['pipe']);
  try {
    const s = snapshotProcess(t.pid, { pauseCapMs: TEST_PAUSE_CAP_MS, spec: SPEC });
    assert.deepEqual(
      (s.linkNotes ?? []).map((n) => [n.link, n.table, n.column, n.frames, n.of]),
      [
        ['http_call', 'http_client_calls', 'conn', 1, 1],
        ['http_call', 'http_server_conns', 'conn', 1, 1],
      ],
    );
    for (const n of s.linkNotes!)
      assert.match(n.message, /^no socket behind this net\.Conn \(\*net\.pipe holds no net\.Conn\)$/);
    const client = tableRows([s], 'http_client_calls', SPEC)[0]!;
    assert.deepEqual(client.values.conn, {
      socket: null,
      peer: null,
      unresolved: s.linkNotes![0]!.message,
    });
    assert.deepEqual(
      client.errors,
      { method: SKIPPED, host: SKIPPED, path: SKIPPED },
      'nothing else read there',
    );

    // The summary says it once per link and table; the store keeps it; `periscope links` warns once.
    const data = freshDataDir();
    const snap = await cli('snapshot', '--pid', String(t.pid), '--data', data);
    assert.equal(snap.code, 0, snap.stderr);
    const lines = snap.stdout.split('\n');
    const at = lines.indexOf('links that cannot resolve here (SELECT * FROM link_notes):');
    assert.ok(at > 0, snap.stdout);
    assert.deepEqual(lines.slice(at + 1, at + 3), [
      `  http_call: http_client_calls.conn: 1 of 1 frame: ${s.linkNotes![0]!.message}`,
      `  http_call: http_server_conns.conn: 1 of 1 frame: ${s.linkNotes![0]!.message}`,
    ]);
    assert.equal(lines.filter((l) => l.includes('no socket behind')).length, 2, 'once each');
    const q = await cli(
      'query',
      '--data',
      data,
      '--format',
      'json',
      'SELECT link, table_name, frames, of_frames FROM link_notes ORDER BY 2',
    );
    assert.deepEqual(JSON.parse(q.stdout), [
      { link: 'http_call', table_name: 'http_client_calls', frames: 1, of_frames: 1 },
      { link: 'http_call', table_name: 'http_server_conns', frames: 1, of_frames: 1 },
    ]);
    const caller = goroutineIn(s, 'main.callHTTP').id;
    const links = await cli('links', '--data', data, '--goroutine', `${hostname()}:${t.pid}:${caller}`);
    assert.equal(links.code, 0, links.stderr);
    const warnings = links.stderr.split('\n').filter((l) => l.startsWith('periscope: warning: '));
    assert.deepEqual(warnings, [
      `periscope: warning: link http_call cannot resolve everywhere in program connpair (1 process): http_client_calls.conn: 1 of 1 frames: ${s.linkNotes![0]!.message}`,
      `periscope: warning: link http_call cannot resolve everywhere in program connpair (1 process): http_server_conns.conn: 1 of 1 frames: ${s.linkNotes![0]!.message}`,
    ]);
  } finally {
    await t.kill();
  }
});

test('a built-in function whose connection type can hold no socket in this binary is left out of the pause, with a note per link', async () => {
  const { path } = await buildFixture('fakegrpc');
  const bin = await GoBinary.open(path);
  const plan = prepareCapture(bin, SPEC, NO_BIAS);
  const handleStream = 'google.golang.org/grpc.(*Server).handleStream';
  assert.ok(!plan.functionsAbsent.includes(handleStream), 'the binary has it');
  assert.ok(
    ![...plan.functions.values()].flat().some((f) => f.spec.function === handleStream),
    'but it is not planned',
  );
  assert.deepEqual(
    plan.linkNotes.map((n) => [n.link, n.table, n.column]),
    [
      ['grpc_awaiting_headers', 'grpc_server_streams', 'conn'],
      ['grpc_awaiting_messages', 'grpc_server_streams', 'conn'],
      ['grpc_awaiting_headers_v1', 'grpc_server_streams', 'conn'],
    ],
  );
  assert.match(
    plan.linkNotes[0]!.message,
    /^not captured in this binary, it could not link: socket\(t\.\(.*\)\.conn\): a \*google\.golang\.org\/grpc\/internal\/transport\.memConn holds no socket/,
  );
  const t = await startTarget(path);
  try {
    const s = snapshotProcess(t.pid, { pauseCapMs: TEST_PAUSE_CAP_MS, spec: SPEC });
    assert.ok(
      s.goroutines.some((g) => g.stack.frames.some((f) => f.function === handleStream)),
      'its frame is there',
    );
    assert.ok(
      s.goroutines.every((g) => g.captures.length === 0),
      'nothing was read on it',
    );
    assert.deepEqual(s.linkNotes, plan.linkNotes);
  } finally {
    await t.kill();
  }
});
