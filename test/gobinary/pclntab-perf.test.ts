import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openElf } from '../../src/elf/elf-file.js';
import { readBuildInfo } from '../../src/gobinary/buildinfo.js';
import { openGoSymtab } from '../../src/gobinary/pclntab-open.js';
import { ROOT } from '../support/go-fixtures.js';

const GOPLS = join(ROOT, '.cache', 'bench', 'gopls');

test('a large binary (gopls) opens, indexes and answers lookups quickly', async (t) => {
  if (!existsSync(GOPLS))
    return t.skip(
      'no .cache/bench/gopls: GOBIN=$PWD/.cache/bench go install golang.org/x/tools/gopls@latest',
    );
  const t0 = performance.now();
  const elf = await openElf(GOPLS);
  const t1 = performance.now();
  assert.ok(readBuildInfo(elf)?.goVersion);
  const sym = openGoSymtab(elf);
  const fns = sym.pcln.functions();
  const t2 = performance.now();

  let seed = 42;
  const rand = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
    return seed / 0x80000000;
  };
  const pcs = Array.from({ length: 10_000 }, () => {
    const f = fns[Math.floor(rand() * fns.length)]!;
    return f.entry + Math.floor(rand() * (f.end - f.entry));
  });
  const t3 = performance.now();
  let lines = 0;
  for (const pc of pcs) if (sym.pcln.lineForPC(pc)) lines++;
  const t4 = performance.now();
  let frames = 0;
  for (const pc of pcs) frames += sym.inlinedFramesAt(pc).length;
  const t5 = performance.now();

  const mb = (elf.bytes.length / 1e6).toFixed(1);
  t.diagnostic(
    `gopls ${mb} MB: read ${(t1 - t0).toFixed(0)} ms; build info + pclntab + ${fns.length} functions indexed ${(t2 - t1).toFixed(0)} ms`,
  );
  t.diagnostic(
    `10k lineForPC ${(t4 - t3).toFixed(0)} ms; 10k inlinedFramesAt ${(t5 - t4).toFixed(0)} ms (${frames} frames)`,
  );
  // pcs in the padding between functions have no line; most pcs do.
  assert.ok(lines > 8000, `${lines} of 10000 pcs have a line`);
  assert.ok(frames >= 10_000);
  assert.ok(t2 - t1 < 1000, 'indexing a 40 MB binary takes well under a second');
  assert.ok(t5 - t3 < 2000, '20k lookups take under two seconds');
});
