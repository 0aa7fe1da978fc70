/**
 * Removing compiled probes (testdata/probe-values): while attached, the kernel's breakpoint
 * is at every site (entries, RETs, an inlined copy); after close() every probed function's
 * code is byte for byte what it was and no BPF or perf fd is left; after the probing process
 * is SIGKILLed in the middle of a stream of events, none of its programs or links exist,
 * the code is restored, and the target answers and keeps calling the probed function.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { AttachedProbes } from '../../src/probes/attached-probes.js';
import { linkExists, programExists } from '../../src/probes/bpf/info.js';
import { compileProbe } from '../../src/probes/compile/compile-probe.js';
import type { ProbeSpec } from '../../src/probes/probe-spec.js';
import { buildFixture, ROOT } from '../../support/go-fixtures.js';
import { startTarget } from '../../support/target.js';
import { fixtureBinary, withProbes } from './probe-run.js';
import { bpfAndPerfFds, readTarget, uprobeEvents } from './probe-support.js';

const INT3 = 0xcc;
const SPECS: ProbeSpec[] = [
  {
    name: 'handle',
    at: { kind: 'entry', function: 'main.handle' },
    captures: ['user', 'req'],
    stackFrames: 8,
  },
  { name: 'divide', at: { kind: 'return', function: 'main.divide' }, captures: ['q'], duration: true },
  { name: 'double', at: { kind: 'entry', function: 'main.double' }, captures: ['x'] },
  {
    name: 'small',
    at: { kind: 'entry', function: 'main.small' },
    captures: ['a'],
    condition: 'b',
    rateLimit: { perSecond: 1e6 },
  },
  { name: 'work', at: { kind: 'entry', function: 'main.work' }, captures: ['a', 's'] },
];
const FUNCTIONS = ['main.handle', 'main.divide', 'main.useDouble', 'main.small'];

test('closing probes restores every probed function byte for byte and closes every fd', async () => {
  const fdsBefore = bpfAndPerfFds();
  const tracefs = uprobeEvents();
  await withProbes(SPECS, async (run) => {
    const pid = run.target.pid;
    const fns = FUNCTIONS.map((n) => run.bin.symtab.pcln.funcByName(n)!);
    const code = (f: (typeof fns)[number]) => readTarget(pid, f.entry, f.end - f.entry);
    const sites = run.compiled.flatMap((p) => p.sites.map((s) => s.site.address as number));
    for (const a of sites)
      assert.equal(readTarget(pid, a, 1)[0], INT3, `a breakpoint at 0x${a.toString(16)}`);
    for (const f of fns)
      assert.ok(
        sites.some((a) => a >= f.entry && a < f.end),
        `${f.name} is probed`,
      );
    await run.command('handle 5');
    await run.command('divide 5');
    await run.drain(() => run.events.length >= 10);
    await run.probes.close();
    for (const f of fns) {
      const file = Buffer.from(run.bin.elf.readAt(f.entry, f.end - f.entry));
      assert.deepEqual(code(f), file, `${f.name}: the code is the binary's again`);
    }
    assert.deepEqual(bpfAndPerfFds(), fdsBefore, 'no fd left');
    assert.equal(uprobeEvents(), tracefs, 'tracefs untouched');
    assert.match(await run.command('handle 3'), /^done handle 3/);
  });
});

test('a SIGKILLed prober leaves no program, link or breakpoint; the target runs on', async (t) => {
  const bin = await fixtureBinary();
  const target = await startTarget(bin.path);
  const perCall = async (n = 2_000_000): Promise<number> => {
    const since = performance.now();
    target.child.stdin!.write(`bench ${n}\n`);
    const done = await target.waitFor(/^done bench/, 60_000, since);
    return Number(/ns (\d+)/.exec(done.text)![1]) / n;
  };
  try {
    const f = bin.symtab.pcln.funcByName('main.small')!;
    const original = readTarget(target.pid, f.entry, f.end - f.entry);
    const before = await perCall();
    const holder = spawn(
      process.execPath,
      [
        join(ROOT, 'dist/test/probes/compiled-probe-holder.js'),
        `${target.pid}`,
        bin.path,
        JSON.stringify(SPECS),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: holder.stdout! }).once('line', resolve);
      holder.once('exit', (code) => reject(new Error(`holder exited (${code}) before attaching`)));
    });
    const { programIds, linkIds } = JSON.parse(line) as { programIds: number[]; linkIds: number[] };
    assert.ok(programIds.length >= 4 && linkIds.length >= 4);
    assert.equal(readTarget(target.pid, f.entry, 1)[0], INT3, 'small is probed at its first instruction');
    const during = await perCall(100_000);
    const since = performance.now();
    target.child.stdin!.write('spin 400\n'); // events streaming while the prober dies
    await sleep(150);
    holder.kill('SIGKILL');
    await new Promise((resolve) => holder.once('exit', resolve));
    await target.waitFor(/^done spin/, 30_000, since);
    const deadline = performance.now() + 5000;
    while ((programIds.some(programExists) || linkIds.some(linkExists)) && performance.now() < deadline)
      await sleep(20);
    assert.deepEqual(programIds.filter(programExists), [], 'no program left');
    assert.deepEqual(linkIds.filter(linkExists), [], 'no link left');
    assert.deepEqual(readTarget(target.pid, f.entry, f.end - f.entry), original, 'the code is as it was');
    const after = await perCall();
    // A diagnostic, not a pass/fail timing: with no breakpoint left there is no trap to pay.
    t.diagnostic(
      `main.work per call: ${before.toFixed(1)} ns before, ${during.toFixed(1)} ns probed, ${after.toFixed(1)} ns after the prober died`,
    );
  } finally {
    await target.kill();
  }
});

test('probes compiled for one binary are refused on a process running another', async () => {
  const bin = await fixtureBinary();
  const other = await buildFixture('probe-target');
  const target = await startTarget(other.path);
  try {
    const probe = compileProbe(bin, {
      name: 'h',
      at: { kind: 'entry', function: 'main.handle' },
      captures: ['n'],
    });
    await assert.rejects(AttachedProbes.attach([probe], { pid: target.pid }), /does not run/);
    // Naming the process's own file does not help: the offsets are another build's.
    await assert.rejects(
      AttachedProbes.attach([probe], { pid: target.pid, path: other.path }),
      /is not the file the probes were compiled for/,
    );
    assert.match(
      await (async () => {
        const since = performance.now();
        target.child.stdin!.write('calls 10\n');
        return (await target.waitFor(/^done calls/, 30_000, since)).text;
      })(),
      /^done calls 10/,
      'the target runs on',
    );
  } finally {
    await target.kill();
  }
});
