import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { cli, freshDataDir, startFixture } from '../store/store-support.js';

const SPEC = `functions:
  - function: main.call
    table: client_calls
    capture: { local: local, remote: remote, id: id }
  - function: main.handle
    table: server_handlers
    capture: { local: local, remote: remote, id: id }
links:
  - name: tcp
    description: a client's connection to the goroutine serving it
    from: { table: client_calls, columns: [local, remote] }
    to: { table: server_handlers, columns: [remote, local] }
`;

test('periscope links --goroutine lists what a goroutine links to, both ways', async () => {
  const data = freshDataDir();
  const spec = join(data, 'spec.yaml');
  writeFileSync(spec, SPEC);
  const t = await startFixture('linkpair');
  try {
    const s = await cli('snapshot', '--pid', String(t.pid), '--spec', spec, '--data', data, '--no-pause');
    assert.equal(s.code, 0, s.stderr);
  } finally {
    await t.kill();
  }
  const proc = `${hostname()}:${t.pid}`;
  const q = await cli(
    'query',
    '--data',
    data,
    '--format',
    'json',
    'SELECT goroutine_id FROM client_calls WHERE id = 1',
  );
  const client = (JSON.parse(q.stdout) as { goroutine_id: number }[])[0]!.goroutine_id;
  const out = await cli('links', '--data', data, '--goroutine', `${proc}:${client}`, '--format', 'json');
  assert.equal(out.code, 0, out.stderr);
  const rows = JSON.parse(out.stdout) as Record<string, unknown>[];
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.direction, '->');
  assert.equal(rows[0]!.other_table, 'server_handlers');
  assert.equal(rows[0]!.other_process_id, proc);
  // The frame the link was made on (its server_handlers row), not where that goroutine waits.
  assert.equal(rows[0]!.other_function, 'main.handle');
  const back = await cli(
    'links',
    '--data',
    data,
    '--snapshot',
    '1',
    '--goroutine',
    `${proc}:${rows[0]!.other_goroutine_id}`,
  );
  assert.equal(back.code, 0, back.stderr);
  assert.match(back.stdout, new RegExp(`^<-\\s+tcp\\s+\\d+\\s+client_calls\\s+${proc}\\s+${client}\\s`, 'm'));
  assert.match(back.stdout, /\smain\.call\s/, 'the client side at its main.call frame');
  const bad = await cli('links', '--data', data, '--goroutine', '17');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--goroutine takes PROCESS:GOID/);
});
