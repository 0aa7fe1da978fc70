/**
 * The quick "is this a Go program" checks, from the ELF image and from section names alone,
 * against `go version` (which reads the build info or fails on a non-Go file): Go binaries
 * plain, stripped of DWARF and symbols, and PIE; a C program and a system binary.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { openElf } from '../../src/elf/elf-file.js';
import { goSections, looksLikeGo } from '../../src/gobinary/go-check.js';
import { buildFixture, TESTDATA } from '../../support/go-fixtures.js';

const run = promisify(execFile);

/** What `go version FILE` says: true when it prints the file's Go version (it exits 0 either way). */
async function goVersionReads(path: string): Promise<boolean> {
  const { stdout } = await run('go', ['version', path]).catch(() => ({ stdout: '' }));
  return stdout.startsWith(`${path}: go`);
}

test('Go binaries (plain, stripped, PIE) look like Go; a C program and /bin/sh do not, as `go version` says', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'periscope-go-check-'));
  try {
    const cprog = join(tmp, 'cprog');
    await run('gcc', ['-O1', '-o', cprog, join(TESTDATA, 'cprog', 'hello.c')]);
    const files = [
      (await buildFixture('hello')).path,
      (await buildFixture('hello', { flags: ['-ldflags=-s -w'] })).path,
      (await buildFixture('hello', { flags: ['-buildmode=pie'] })).path,
      cprog,
      '/bin/sh',
    ];
    const want = await Promise.all(files.map(goVersionReads));
    assert.deepEqual(want, [true, true, true, false, false], 'the oracle sees three Go files');
    for (const [i, path] of files.entries()) {
      const elf = await openElf(path);
      assert.equal(looksLikeGo(elf), want[i], path);
      assert.equal(goSections(elf.sections.map((s) => s.name)), want[i], `${path}: by section names`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
