import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { LineIndex } from '../../src/dwarf/line-index.js';
import { dwarfSectionsOf } from '../../src/dwarf/sections.js';
import { openElf } from '../../src/elf/elf-file.js';
import { ROOT } from '../support/go-fixtures.js';

const GOPLS = join(ROOT, '.cache', 'bench', 'gopls');

test('line index on a big binary (gopls): build + 10k random lineForPC well under 2 s', async (t) => {
  if (!existsSync(GOPLS)) {
    return t.skip(
      `${GOPLS} is missing: GOBIN=${join(ROOT, '.cache', 'bench')} go install golang.org/x/tools/gopls@v0.21.1`,
    );
  }
  const elf = await openElf(GOPLS);
  const t0 = performance.now();
  const sections = dwarfSectionsOf(elf);
  assert.ok(sections);
  const lineBytes = sections.line.length;
  const t1 = performance.now();
  const index = LineIndex.build(sections);
  const t2 = performance.now();
  const text = elf.section('.text');
  assert.ok(text);
  let seed = 12345;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  let hits = 0;
  for (let i = 0; i < 10_000; i++) {
    if (index.lineForPC(text.addr + Math.floor(rand() * text.size))) hits++;
  }
  const t3 = performance.now();
  t.diagnostic(
    `gopls: .debug_line ${(lineBytes / 1e6).toFixed(1)} MB decompressed in ${(t1 - t0).toFixed(0)} ms; ` +
      `index of ${index.programs.length} programs / ${index.sequenceCount} sequences in ${(t2 - t1).toFixed(0)} ms; ` +
      `10k lineForPC (${hits} hits, ${index.decodedCount} programs decoded) in ${(t3 - t2).toFixed(0)} ms`,
  );
  assert.ok(hits > 9000, `${hits} of 10k random .text PCs have a line`);
  assert.ok(t3 - t0 < 2000, `total ${(t3 - t0).toFixed(0)} ms`);
});
