import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { openElf } from '../../src/elf/elf-file.js';
import { readGoroutineStatusNames, readWaitReasons } from '../../src/gobinary/wait-reasons.js';
import { buildFixture, GO_TOOLCHAINS, TESTDATA, toolchainUnavailable } from '../../support/go-fixtures.js';

const run = promisify(execFile);

/** Values of an iota const block of Go source, starting at `first = iota`, up to the first explicit value. */
function iotaConstants(src: string, first: string): Map<string, number> {
  const start = src.search(new RegExp(`^\\s*${first}\\s+(\\w+\\s+)?= iota`, 'm'));
  assert.ok(start >= 0, `${first} = iota in the source`);
  const out = new Map<string, number>();
  for (const raw of src.slice(start).split('\n')) {
    const line = raw.replace(/\/\/.*$/, '').trim();
    if (line === '') continue;
    if (line === ')' || (line.includes('=') && !line.includes('iota'))) break;
    out.set(line.split(/\s+/)[0]!, out.size);
  }
  return out;
}

/** The elements of `var name = [...]string{key: "value", ...}` placed by their constant keys. */
function keyedStringArray(src: string, name: string, keys: Map<string, number>): string[] {
  const start = src.indexOf(`var ${name} = [...]string{`);
  assert.ok(start >= 0, `${name} in the source`);
  const body = src.slice(start, src.indexOf('\n}', start));
  const out: string[] = [];
  for (const m of body.matchAll(/^\s*(\w+):\s*("(?:[^"\\]|\\.)*"),?\s*$/gm)) {
    const ix = keys.get(m[1]!);
    assert.ok(ix !== undefined, `constant ${m[1]}`);
    out[ix] = JSON.parse(m[2]!) as string;
  }
  return Array.from(out, (s) => s ?? '');
}

for (const tc of GO_TOOLCHAINS) {
  test(`wait reasons and goroutine statuses agree with the runtime source (${tc})`, async (t) => {
    const why = await toolchainUnavailable(tc);
    if (why) return t.skip(why);
    const { path } = await buildFixture('hello', { toolchain: tc });
    const { stdout } = await run('go', ['env', 'GOROOT'], {
      cwd: TESTDATA,
      env: { ...process.env, GOTOOLCHAIN: tc },
    });
    const runtime = join(stdout.trim(), 'src', 'runtime');
    const runtime2 = readFileSync(join(runtime, 'runtime2.go'), 'utf8');
    const traceback = readFileSync(join(runtime, 'traceback.go'), 'utf8');
    const elf = await openElf(path);

    const reasons = keyedStringArray(
      runtime2,
      'waitReasonStrings',
      iotaConstants(runtime2, 'waitReasonZero'),
    );
    assert.ok(reasons.length > 30);
    assert.deepEqual(readWaitReasons(elf), reasons);

    const statuses = keyedStringArray(traceback, 'gStatusStrings', iotaConstants(runtime2, '_Gidle'));
    assert.equal(statuses[4], 'waiting');
    assert.deepEqual(readGoroutineStatusNames(elf), statuses);
  });
}

test('without a symbol table the tables are reported missing, not guessed', async () => {
  const { path } = await buildFixture('hello', { flags: ['-ldflags=-s -w'] });
  const elf = await openElf(path);
  assert.equal(readWaitReasons(elf), undefined);
  assert.equal(readGoroutineStatusNames(elf), undefined);
});
