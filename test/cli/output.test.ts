import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { ROOT } from '../../support/go-fixtures.js';
import { cli, freshDataDir } from '../store/store-support.js';

const CLI = join(ROOT, 'bin', 'periscope.js');
const ROWS = 200_000;
const SQL = `SELECT range AS n, 'row ' || range AS label FROM range(${ROWS})`;
const data = freshDataDir();

before(async () => {
  // A store with a spec and no snapshot: queries run over empty snapshot tables and table functions.
  const spec = join(data, 'spec.yaml');
  writeFileSync(spec, 'functions: []\n');
  const r = await cli('spec', 'set', spec, '--data', data);
  assert.equal(r.code, 0, r.stderr);
});

test('a 200k-row result prints in every format', async () => {
  const table = await cli('query', '--data', data, SQL);
  assert.equal(table.code, 0, table.stderr);
  const lines = table.stdout.trimEnd().split('\n');
  assert.equal(lines.length, ROWS + 3, 'header, rule, rows, count');
  assert.match(lines[2]!, /^ +0 {2}row 0$/);
  assert.equal(lines.at(-1), `(${ROWS} rows)`);
  const csv = await cli('query', '--data', data, '--format', 'csv', SQL);
  assert.equal(csv.code, 0, csv.stderr);
  assert.equal(csv.stdout.split('\r\n').length, ROWS + 2);
  const json = await cli('query', '--data', data, '--format', 'json', SQL);
  assert.equal(json.code, 0, json.stderr);
  assert.equal((JSON.parse(json.stdout) as unknown[]).length, ROWS);
});

test('output piped into head: the command ends quietly (141, as for SIGPIPE), no stack trace', () => {
  for (const format of ['table', 'csv', 'json']) {
    const r = spawnSync(
      'bash',
      [
        '-c',
        'set -o pipefail; "$0" "$1" query --data "$2" --format "$3" "$4" 2>"$2/stderr" | head -n 2; echo "exit $?" >&2; cat "$2/stderr" >&2',
        process.execPath,
        CLI,
        data,
        format,
        SQL,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(r.stdout.split('\n').length, 3, `${format}: two lines through head`);
    const [status, ...stderr] = r.stderr.split('\n');
    assert.equal(status, 'exit 141', `${format}: ${r.stderr}`);
    assert.doesNotMatch(stderr.join('\n'), /EPIPE|Error|\n\s+at /, format);
  }
});
