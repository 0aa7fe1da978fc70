import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cli } from '../store/store-support.js';

/** A usage error: exit 2, our message on the first line, the command's usage line on the second. */
function assertUsage(r: { code: number; stderr: string }, command: string, message: RegExp): void {
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 2, r.stderr);
  assert.match(lines[0]!, /^periscope: /);
  assert.match(lines[0]!, message);
  assert.match(
    lines[1]!,
    new RegExp(`^Usage: periscope ${command}\\b.*\\[options\\]; \`periscope ${command} --help\``),
  );
  assert.doesNotMatch(r.stderr, /To specify a positional argument|ERR_PARSE_ARGS/, 'not node’s parser text');
}

test('unknown options, missing values and values given to flags: our message and the usage line', async () => {
  assertUsage(
    await cli('query', '--fromat', 'csv', 'SELECT 1'),
    'query',
    /^periscope: unknown option --fromat; did you mean --format FORMAT\?$/,
  );
  assertUsage(await cli('inspect', '/bin/true', '--bogus'), 'inspect', /unknown option --bogus$/);
  assertUsage(
    await cli('snapshot', '-pid', '4242'),
    'snapshot',
    /unknown option -pid; did you mean --pid PID\?/,
  );
  assertUsage(await cli('snapshot', '--pid'), 'snapshot', /--pid needs a value: --pid PID$/);
  assertUsage(await cli('links', '--goroutine', '--snapshot', '3'), 'links', /--goroutine needs a value/);
  assertUsage(await cli('query', '--all=yes', 'SELECT 1'), 'query', /--all takes no value/);
  assertUsage(await cli('agents', '--json=1'), 'agents', /--json takes no value/);
});

test('positional arguments are checked the same way by every command', async () => {
  for (const command of ['agents', 'processes', 'export', 'links', 'server', 'snapshot', 'agent'])
    assertUsage(await cli(command, 'extra'), command, /^periscope: unexpected argument "extra"$/);
  assertUsage(await cli('query'), 'query', /give the SQL to run/);
  assertUsage(
    await cli('query', 'SELECT 1', 'SELECT 2'),
    'query',
    /give the SQL as one argument \(quote it\)/,
  );
  assertUsage(await cli('inspect'), 'inspect', /exactly one BINARY/);
  assertUsage(await cli('import'), 'import', /give the exported file or directory/);
  assertUsage(await cli('spec'), 'spec', /give a subcommand/);
  assertUsage(await cli('spec', 'show', 'extra'), 'spec', /unexpected argument "extra"/);
  assertUsage(await cli('token', 'list', 'extra'), 'token', /unexpected argument "extra"/);
});

test('--help prints the usage and the options; the snapshot help documents its exit codes', async () => {
  const r = await cli('snapshot', '--help');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Usage: periscope snapshot /);
  assert.match(r.stdout, /Exit codes: 0 every process was captured; 3 some were captured, some not/);
  assert.match(r.stdout, /4 no process was captured/);
});
