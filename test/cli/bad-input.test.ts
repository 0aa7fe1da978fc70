import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { PeriscopeError } from '../../src/common/errors.js';
import { exerciseBinary } from '../../support/exercise-binary.js';
import { buildFixture, ROOT, TESTDATA } from '../../support/go-fixtures.js';
import { prng } from '../../support/prng.js';

const run = promisify(execFile);
const CLI = join(ROOT, 'bin', 'periscope.js');
const tmp = mkdtempSync(join(tmpdir(), 'periscope-bad-'));

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(...args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout: string; stderr: string; killed?: boolean };
    assert.ok(!err.killed, `periscope ${args.join(' ')} hung`);
    return { code: err.code ?? -1, stdout: err.stdout, stderr: err.stderr };
  }
}

/** One line on stderr, naming the problem, no stack trace. */
function assertOneLineError(r: CliResult, pattern: RegExp): void {
  assert.equal(r.code, 1, `exit code 1, got ${r.code}: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^periscope: /);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
  assert.match(lines[0]!, pattern);
}

test('a file that is not ELF, an empty file, a directory, a missing file: one-line errors', async () => {
  const text = join(tmp, 'notes.txt');
  writeFileSync(text, 'just some text, not a program\n');
  assertOneLineError(await cli('inspect', text), /not an ELF file/);
  const empty = join(tmp, 'empty');
  writeFileSync(empty, '');
  assertOneLineError(await cli('inspect', empty), /not an ELF file/);
  assertOneLineError(await cli('inspect', tmp), /is a directory/);
  assertOneLineError(await cli('inspect', join(tmp, 'nope')), /no such file/);
  const usage = await cli('inspect');
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /exactly one BINARY/);
  const unknown = await cli('inspect', text, '--bogus');
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /--bogus/);
});

test('--pause-cap-ms takes milliseconds from 1 to 10000, for snapshot and agent', async () => {
  for (const bad of ['0', '-5', 'fast', '1.5', '10001']) {
    const r = await cli('snapshot', '--pid', '1', '--no-store', '--pause-cap-ms', bad);
    assert.equal(r.code, 2, `--pause-cap-ms ${bad}: ${r.stderr}`);
    assert.match(r.stderr, /--pause-cap-ms/);
  }
  const agent = await cli('agent', '--server', 'http://127.0.0.1:1', '--token', 't', '--pause-cap-ms', '0');
  assert.equal(agent.code, 2, agent.stderr);
  assert.match(agent.stderr, /--pause-cap-ms takes milliseconds/);
});

test('server --compact-probes-after: with --store only, minutes from 1 to 1440', async () => {
  const alone = await cli('server', '--compact-probes-after', '5');
  assert.equal(alone.code, 2, alone.stderr);
  assert.match(alone.stderr, /--compact-probes-after needs --store postgres:\/\//);
  for (const bad of ['0', 'soon', '2000']) {
    const r = await cli(
      'server',
      '--store',
      'postgres://127.0.0.1:1/x',
      '--objects',
      'file:///nonexistent',
      '--compact-probes-after',
      bad,
    );
    assert.equal(r.code, 2, `--compact-probes-after ${bad}: ${r.stderr}`);
    assert.match(r.stderr, /is not a number of minutes from 1 to 1440/);
  }
});

test('a C binary is not a Go program', async () => {
  const out = join(tmp, 'cprog');
  await run('gcc', ['-O1', '-g', '-o', out, join(TESTDATA, 'cprog', 'hello.c')]);
  assertOneLineError(await cli('inspect', out), /is not a Go program/);
});

test('a stripped Go binary: the summary says so, --func and --type say how to rebuild', async () => {
  const { path: linkerStripped } = await buildFixture('hello', { flags: ['-ldflags=-s -w'] });
  const { path } = await buildFixture('hello');
  const stripped = join(tmp, 'hello-strip');
  copyFileSync(path, stripped);
  await run('strip', [stripped]);
  for (const bin of [linkerStripped, stripped]) {
    const r = await cli('inspect', bin, '--json');
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as {
      stripped: boolean;
      goVersion: string;
      functions: number;
      dwarfVersion: number | null;
    };
    assert.equal(s.stripped, true);
    assert.equal(s.dwarfVersion, null);
    assert.match(s.goVersion, /^go1\./);
    assert.ok(s.functions > 1000, 'the pclntab still lists the functions');
    assert.match(r.stderr, /no DWARF.*rebuild without -ldflags/);
    assertOneLineError(
      await cli('inspect', bin, '--func', 'main.main'),
      /no DWARF debug information.*rebuild without -ldflags="-s -w"/,
    );
    assertOneLineError(await cli('inspect', bin, '--type', 'main.Point'), /no DWARF debug information/);
  }
});

function survives(bytes: Uint8Array, what: string): 'ok' | 'error' {
  try {
    exerciseBinary(bytes);
    return 'ok';
  } catch (e) {
    if (e instanceof PeriscopeError) {
      assert.doesNotMatch(e.message, /\n/, `${what}: the message is one line`);
      return 'error';
    }
    assert.fail(`${what}: threw ${(e as Error).name}: ${(e as Error).message}`);
  }
}

test('truncated Go binaries fail with a clear error at every offset, never a crash or hang', async () => {
  const { path } = await buildFixture('hello', { flags: ['-ldflags=-compressdwarf=false'] });
  const bytes = readFileSync(path);
  const rand = prng(2);
  const offsets = [0, 1, 4, 16, 63, 64, 100, 4096, bytes.length - 1, bytes.length - 64];
  for (let i = 0; i < 30; i++) offsets.push(Math.floor(rand() * bytes.length));
  let errors = 0;
  for (const off of offsets) {
    if (survives(bytes.subarray(0, off), `truncated at ${off}`) === 'error') errors++;
  }
  assert.equal(
    errors,
    offsets.length,
    'a Go binary cut anywhere loses its section headers (they are at the end)',
  );
  const r = await cli(
    'inspect',
    (() => {
      const p = join(tmp, 'truncated');
      writeFileSync(p, bytes.subarray(0, Math.floor(bytes.length / 2)));
      return p;
    })(),
  );
  assertOneLineError(r, /truncated/);
});

test('corrupted Go binaries (headers, DWARF, pclntab, line tables) give PeriscopeErrors or partial answers, never a crash', async (t) => {
  const { path } = await buildFixture('hello', { flags: ['-ldflags=-compressdwarf=false'] });
  const pristine = readFileSync(path);
  const { ElfFile } = await import('../../src/elf/elf-file.js');
  const elf = new ElfFile(new Uint8Array(pristine), path);
  const targets = [
    '.debug_info',
    '.debug_abbrev',
    '.debug_line',
    '.debug_loclists',
    '.debug_rnglists',
    '.debug_str',
    '.gopclntab',
    '.go.buildinfo',
    '.debug_frame',
  ];
  const rand = prng(7);
  let cases = 0;
  const outcomes = { ok: 0, error: 0 };
  // Damage the ELF and program headers too.
  const regions: [string, number, number][] = [['ELF header', 0, 64]];
  for (const name of targets) {
    const s = elf.section(name);
    if (s) regions.push([name, s.offset, s.size]);
  }
  for (const [name, start, size] of regions) {
    for (let k = 0; k < 16; k++) {
      const bytes = new Uint8Array(pristine);
      const at = start + Math.floor(rand() * (k % 2 === 0 ? Math.min(size, 4096) : size));
      const n = 1 + Math.floor(rand() * 8);
      for (let j = 0; j < n && at + j < bytes.length; j++) bytes[at + j] = Math.floor(rand() * 256);
      outcomes[survives(bytes, `${name}: ${n} random byte(s) at file offset ${at}`)]++;
      cases++;
    }
  }
  t.diagnostic(
    `${cases} damaged binaries: ${outcomes.ok} still answered, ${outcomes.error} gave a clear error`,
  );
  assert.ok(cases >= 100);
  assert.ok(
    outcomes.ok > 0 && outcomes.error > 0,
    'damage is sometimes survivable and sometimes not: the cases reach the parsers',
  );
});
