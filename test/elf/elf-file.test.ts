import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { openElf } from '../../src/elf/elf-file.js';
import { buildFixture } from '../../support/go-fixtures.js';

const run = promisify(execFile);

test('ELF sections, segments, symbols and build ids agree with readelf', async () => {
  const { path } = await buildFixture('hello');
  const elf = await openElf(path);
  assert.equal(elf.arch, 'amd64');
  const { stdout } = await run('readelf', ['-SW', path]);
  const names = [...stdout.matchAll(/^\s*\[\s*\d+\]\s+(\S+)/gm)].map((m) => m[1]).filter((n) => n !== 'NULL');
  assert.deepEqual(
    elf.sections.map((s) => s.name).filter((n) => n !== ''),
    names,
  );
  const info = elf.section('.debug_info');
  assert.ok(info, 'has .debug_info');
  const data = elf.sectionData(info);
  assert.ok(
    data.length > info.size,
    'Go compresses DWARF by default: decompressed data is larger than the section',
  );
  const main = elf.symbol('main.main');
  assert.ok(main && main.value > 0);
  const nm = await run('go', ['tool', 'nm', path]);
  const line = nm.stdout.split('\n').find((l) => l.endsWith(' T main.main'));
  assert.ok(line);
  assert.equal(main.value, Number.parseInt(line.trim().split(/\s+/)[0]!, 16));
  const { stdout: goid } = await run('go', ['tool', 'buildid', path]);
  assert.equal(elf.goBuildId(), goid.trim());
});
