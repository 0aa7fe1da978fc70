/**
 * What discovery knows per pid and per executable, with real binaries and processes:
 * - a Go binary's facts come from its headers, notes and build info alone (a sparse image):
 *   equal to those from the whole file for every toolchain and a stripped build, and equal
 *   when every byte not read is garbage (so nothing else of the image is looked at);
 * - a known pid is re-checked by its start time and executable identity without being
 *   examined again: kernel threads, non-Go processes and Go processes alike.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { buildInfoImage, peekElf } from '../../src/agent/elf-peek.js';
import { ExeCache } from '../../src/agent/exe-cache.js';
import { ProcessTable, statFacts } from '../../src/agent/process-table.js';
import { ElfFile } from '../../src/elf/elf-file.js';
import { readBuildInfo } from '../../src/gobinary/buildinfo.js';
import { looksLikeGo } from '../../src/gobinary/go-check.js';
import { buildFixture, GO_TOOLCHAINS, toolchainUnavailable } from '../../support/go-fixtures.js';
import { startTarget } from '../../support/target.js';

/** The facts as read from an image: Go or not, version, build ID. */
function factsOf(image: Uint8Array, path: string): [boolean, string | undefined, string | undefined] {
  const elf = new ElfFile(image, path);
  return [looksLikeGo(elf), readBuildInfo(elf)?.goVersion, elf.buildId()];
}

const variants = [
  ...GO_TOOLCHAINS.map((tc) => ({ tc, flags: [] as string[] })),
  { tc: 'local' as const, flags: ['-ldflags=-s -w'] },
];

for (const { tc, flags } of variants) {
  test(`a Go binary's facts from its headers and build info alone (${tc}${flags.length ? ' -s -w' : ''})`, async (t) => {
    const why = await toolchainUnavailable(tc);
    if (why) return t.skip(why);
    const bin = await buildFixture('exprs', { toolchain: tc, flags });
    const whole = readFileSync(bin.path);
    const expected = factsOf(new Uint8Array(whole.buffer, whole.byteOffset, whole.length), bin.path);
    assert.equal(expected[0], true);
    assert.equal(expected[1], bin.goVersion);
    const fd = openSync(bin.path, 'r');
    try {
      const peek = peekElf(fd)!;
      for (const fill of [0x00, 0xa5, 0xff]) {
        const image = buildInfoImage(fd, peek, fill);
        assert.ok(image, 'a sparse image for a Go 1.18+ binary');
        assert.deepEqual(factsOf(image, bin.path), expected, `rest filled with ${fill}`);
      }
    } finally {
      closeSync(fd);
    }
    const target = await startTarget(bin.path);
    try {
      const cache = new ExeCache();
      const facts = cache.factsFor(target.pid)!;
      assert.deepEqual([facts.isGo, facts.goVersion, facts.buildId], expected);
      if (flags.length > 0) assert.equal(facts.stripped, true, '-s -w leaves no DWARF');
      assert.equal(cache.reads, 1);
      assert.equal(cache.wholeReads, 0, 'never read whole');
    } finally {
      await target.kill();
    }
  });
}

/** A kernel thread visible here (pid 2, kthreadd, on a host), if any. */
function kernelThread(): number | undefined {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    if (statFacts(Number(name))?.kernel) return Number(name);
  }
  return undefined;
}

test('a known pid is re-checked without being examined again: kernel thread, non-Go and Go processes', async (t) => {
  const bin = await buildFixture('exprs');
  const table = new ProcessTable({ node: 'n', envAllow: new Set() });
  const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
  const go = await startTarget(bin.path);
  try {
    const pids = [sleeper.pid!, go.pid];
    const kthread = kernelThread();
    if (kthread !== undefined) pids.push(kthread);
    else t.diagnostic('no kernel thread visible (a PID namespace): that case is not checked');
    for (const pid of pids) table.add(pid);
    assert.equal(table.tracked.get(go.pid)?.base?.labels.exe_name, 'exprs');
    assert.equal(table.tracked.get(sleeper.pid!)?.base, undefined);
    assert.match(
      table.tracked.get(sleeper.pid!)?.exe ?? '',
      /^\d+:\d+:\d+:/,
      'known by its executable identity',
    );
    if (kthread !== undefined) assert.equal(table.tracked.get(kthread)?.exe, 'kernel');
    const examined = table.examined;
    for (let i = 0; i < 3; i++) {
      for (const pid of pids) assert.equal(table.recheck(pid, table.tracked.get(pid)!), false);
    }
    assert.equal(table.examined, examined, 'nothing examined again');
    assert.equal(table.exes.reads, 1, 'the Go binary read once');
    sleeper.kill('SIGKILL');
    await new Promise((r) => sleeper.once('exit', r));
    assert.equal(table.recheck(sleeper.pid!, table.tracked.get(sleeper.pid!)!), false, 'not a Go process');
    assert.equal(table.tracked.has(sleeper.pid!), false, 'gone');
  } finally {
    sleeper.kill('SIGKILL');
    await go.kill();
  }
});
