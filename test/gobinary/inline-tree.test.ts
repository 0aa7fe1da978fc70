import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { linkAddr } from '../../src/common/address.js';
import { openElf } from '../../src/elf/elf-file.js';
import { funcdataBaseFromSymbol } from '../../src/gobinary/moduledata.js';
import { openGoSymtab } from '../../src/gobinary/pclntab-open.js';
import { buildFixture, toolchainUnavailable } from '../../support/go-fixtures.js';
import { PCLNTAB_TOOLCHAINS } from './toolchains.js';

const run = promisify(execFile);

interface OracleFrame {
  function: string;
  file: string;
  line: number;
  pc: number;
}
interface Capture {
  name: string;
  pcs: number[];
  frames: OracleFrame[];
}

const VARIANTS = [
  { label: 'default', flags: [], pie: false },
  { label: 'stripped', flags: ['-ldflags=-s -w'], pie: false },
  { label: 'PIE', flags: ['-buildmode=pie'], pie: true },
] as const;

for (const tc of PCLNTAB_TOOLCHAINS) {
  for (const v of VARIANTS) {
    test(`inlinedFramesAt matches runtime.CallersFrames (${tc}, ${v.label})`, async (t) => {
      const why = await toolchainUnavailable(tc);
      if (why) return t.skip(why);
      const { path } = await buildFixture('inlining', { toolchain: tc, flags: [...v.flags] });
      await checkInlining(path, v.pie, v.label === 'stripped');
    });
  }
}

async function checkInlining(path: string, pie: boolean, stripped: boolean): Promise<void> {
  const elf = await openElf(path);
  assert.equal(elf.isPIE, pie);
  const sym = openGoSymtab(elf);
  // go:func.* comes from the moduledata; where the symbol exists too, they must agree.
  assert.equal(sym.funcdataBase?.source, 'moduledata');
  assert.equal(funcdataBaseFromSymbol(elf)?.address, stripped ? undefined : sym.funcdataBase?.address);
  const { stdout } = await run(path);
  const out = JSON.parse(stdout) as { mainEntry: number; captures: Capture[] };
  // Runtime pcs = link-time pcs + load bias (0 for non-PIE).
  const bias = out.mainEntry - sym.pcln.funcByName('main.main')!.entry;
  if (!pie) assert.equal(bias, 0);
  const captures = out.captures.map((c) => ({
    name: c.name,
    pcs: c.pcs.map((pc) => pc - bias),
    frames: c.frames.map((f) => ({ ...f, pc: f.pc - bias })),
  }));
  assert.deepEqual(
    captures.map((c) => c.name),
    ['chain', 'generic', 'generic', 'method', 'method', 'helper', 'chain', 'helper'],
  );
  let inlinedSeen = 0;
  let compared = 0;
  for (const c of captures) {
    // runtime.Callers yields one pc per logical frame and CallersFrames one frame per pc.
    assert.equal(c.pcs.length, c.frames.length, `${c.name}: one frame per pc`);
    let i = 0;
    while (i < c.pcs.length) {
      // A physical frame: its first pc expands into the whole inline chain; the runtime
      // lists each inlined caller as parentPc+1, so every later pc maps to the next frame.
      const mine = sym.inlinedFramesAt(linkAddr(c.pcs[i]! - 1));
      assert.ok(mine.length > 0, `${c.name}: pc ${c.pcs[i]} is in a function`);
      for (let j = 0; j < mine.length; j++) {
        const want = c.frames[i + j];
        assert.ok(want, `${c.name}: oracle has frame ${i + j}`);
        const got = mine[j]!;
        assert.deepEqual(
          { function: got.function, file: got.file, line: got.line, pc: got.pc },
          want,
          `${c.name}: frame ${i + j}`,
        );
        assert.equal(got.inlined, j < mine.length - 1);
        assert.equal(c.pcs[i + j]! - 1, got.pc, `${c.name}: runtime pc of frame ${i + j}`);
        // Starting from an inlined caller's pc gives the rest of the same chain.
        assert.deepEqual(sym.inlinedFramesAt(linkAddr(c.pcs[i + j]! - 1)), mine.slice(j));
        if (got.inlined) inlinedSeen++;
        compared++;
      }
      i += mine.length;
    }
  }
  assert.ok(inlinedSeen >= 12, `the fixture really exercises inlining (${inlinedSeen} inlined frames)`);
  assert.ok(compared >= 60);
}
