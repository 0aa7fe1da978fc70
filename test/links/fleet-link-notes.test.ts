/**
 * A fleet snapshot (through a server) says once per program, link, table and reason which
 * built-in link cannot resolve, in its answer (`linkNotes`), in GET /v1/snapshots/{id} and in `periscope snapshot
 * --server`'s summary, as the one-process summary does: two processes of one program whose
 * snapshots (real ones, connpair's pipe mode: an HTTP call over net.Pipe) carry the notes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SnapshotDetail, SnapshotTaken } from '../../src/api/responses.js';
import { snapshotProcess } from '../../src/snapshot/take-snapshot.js';
import { effectiveSpec } from '../../src/spec/effective-spec.js';
import { EMPTY_SPEC } from '../../src/spec/spec-types.js';
import { TEST_PAUSE_CAP_MS } from '../../support/pause-cap.js';
import { startTarget } from '../../support/target.js';
import { api, describeProcess, FakeAgent, testServer } from '../server/server-support.js';
import { cli } from '../store/store-support.js';
import { buildConnPair } from './variants.js';

test('a fleet snapshot names each link that cannot resolve on a program once, in its answer and its summary', async () => {
  const { path } = await buildConnPair();
  const t = await startTarget(path, ['pipe']);
  const s = snapshotProcess(t.pid, { pauseCapMs: TEST_PAUSE_CAP_MS, spec: effectiveSpec(EMPTY_SPEC) });
  await t.kill();
  const why = s.linkNotes?.[0]?.message ?? '';
  assert.match(why, /^no socket behind this net\.Conn/);
  const server = await testServer();
  const agent = new FakeAgent(
    'notes-agent',
    'notes-host',
    [describeProcess('notes-host', 11, ['connpair']), describeProcess('notes-host', 12, ['connpair'])],
    () => s,
  );
  try {
    await agent.connect(server.url, server.firstTokens?.agent ?? '');
    const admin = server.firstTokens?.admin ?? '';
    const r = await api<SnapshotTaken>(server.url, admin, 'POST', '/v1/snapshots', { program: 'connpair' });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(r.body.linkNotes, [
      {
        link: 'http_call',
        program: 'connpair',
        processes: 2,
        table: 'http_client_calls',
        column: 'conn',
        frames: 2,
        of: 2,
        message: why,
      },
      {
        link: 'http_call',
        program: 'connpair',
        processes: 2,
        table: 'http_server_conns',
        column: 'conn',
        frames: 2,
        of: 2,
        message: why,
      },
    ]);
    // The snapshot read back later says the same (from the stored link_notes).
    const d = await api<SnapshotDetail>(server.url, admin, 'GET', `/v1/snapshots/${r.body.snapshotId}`);
    assert.equal(d.status, 200, d.text);
    assert.deepEqual(d.body.linkNotes, r.body.linkNotes);
    const summary = await cli(
      'snapshot',
      '--server',
      server.url,
      '--token',
      admin,
      '--select',
      'program=connpair',
    );
    assert.equal(summary.code, 0, summary.stderr);
    const lines = summary.stdout.split('\n');
    const at = lines.indexOf('links that cannot resolve everywhere (SELECT * FROM link_notes):');
    assert.ok(at > 0, summary.stdout);
    assert.deepEqual(lines.slice(at + 1, at + 3), [
      `  http_call in program connpair (2 processes): http_client_calls.conn: 2 of 2 frames: ${why}`,
      `  http_call in program connpair (2 processes): http_server_conns.conn: 2 of 2 frames: ${why}`,
    ]);
    assert.equal(lines.filter((l) => l.includes('no socket behind')).length, 2, 'once each');
  } finally {
    await agent.close();
    await server.close();
  }
});
