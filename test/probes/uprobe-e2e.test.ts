/**
 * End to end on a real Go process (testdata/probe-target): a probe at main.target's entry
 * site counts every call exactly once — from one goroutine, from many, and at every level of
 * deep recursions whose stacks grow and move — with the right goroutine id (from r14 and the
 * DWARF goid offset) and first argument (ax); a probe on its RET sees each return, paired
 * with its entry by goroutine id. A probe on the function's first instruction fires more
 * often than the function is called (runtime.morestack re-enters it): the case the entry
 * site avoids. Removing the probes restores the target's code bytes, leaves tracefs'
 * uprobe_events and our fds as they were; a probing process that is SIGKILLed leaves no
 * program, link or breakpoint behind, and the target runs on.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { GoBinary } from '../../src/gobinary/go-binary.js';
import { linkExists, programExists, programInfo } from '../../src/probes/bpf/info.js';
import type { ProbeEvent } from '../../src/probes/event-program.js';
import { ProbeSet } from '../../src/probes/probe-set.js';
import { functionSites } from '../../src/probes/sites/function-sites.js';
import { buildFixture, ROOT } from '../../support/go-fixtures.js';
import { startTarget, type Target } from '../../support/target.js';
import { bpfAndPerfFds, readTarget, uprobeEvents } from './probe-support.js';

const INT3 = 0xcc;

async function command(t: Target, cmd: string, done: RegExp, ms = 60_000): Promise<string> {
  const since = performance.now();
  t.child.stdin!.write(`${cmd}\n`);
  return (await t.waitFor(done, ms, since)).text;
}

/** Polls the probe set until `until` says enough arrived (or 5 s pass). */
async function drain(set: ProbeSet, events: ProbeEvent[], until: () => boolean): Promise<void> {
  const deadline = performance.now() + 5000;
  for (;;) {
    set.poll((e) => events.push(e));
    if (until() || performance.now() > deadline) return;
    await sleep(5);
  }
}

for (const attach of ['perf', 'multi'] as const) {
  test(`entry and return probes on main.target (${attach} attachment)`, async () => {
    const { path } = await buildFixture('probe-target');
    const bin = await GoBinary.open(path);
    const sites = functionSites(bin, 'main.target');
    const entryFn = bin.symtab.pcln.funcByName('main.target')!;
    assert.equal(sites.entry.handling, 'emulated');
    const siteAddrs = [sites.entry.address, ...sites.returns.map((r) => r.address)];
    const goidOffset = bin.runtimeLayout().gOffsets.goid;
    const fdsBefore = bpfAndPerfFds();
    const eventsBefore = uprobeEvents();
    const target = await startTarget(path);
    try {
      await probeAndCheck(target);
    } finally {
      await target.kill();
    }

    async function probeAndCheck(target: Target): Promise<void> {
      let probes: ProbeSet | undefined;
      let firstInsn: ProbeSet | undefined;
      const original = readTarget(target.pid, entryFn.entry, entryFn.end - entryFn.entry);
      try {
        const text = (a: number): number => readTarget(target.pid, a, 1)[0]!;
        probes = await ProbeSet.open({
          tag: attach === 'perf' ? 'ep' : 'em',
          pid: target.pid,
          path,
          offsets: [sites.entry.fileOffset, ...sites.returns.map((r) => r.fileOffset)],
          action: { kind: 'event', goidOffset, layout: { regs: ['ax'] } },
          attach,
        });
        // A probe on the first instruction (CMPQ SP, 16(R14)): what the entry site avoids.
        firstInsn = await ProbeSet.open({
          tag: attach === 'perf' ? 'fp' : 'fm',
          pid: target.pid,
          path,
          offsets: [bin.elf.addressToFileOffset(entryFn.entry)!],
          action: { kind: 'count' },
          attach,
        });
        for (const a of siteAddrs) assert.equal(text(a), INT3, 'the kernel put its breakpoint at each site');
        assert.equal(uprobeEvents(), eventsBefore, 'BPF uprobes do not appear in tracefs');

        const events: ProbeEvent[] = [];
        const entries = (): ProbeEvent[] => events.filter((e) => e.site === 0);
        // One goroutine: target(0..999).
        const one = await command(target, 'calls 1000', /^done calls/);
        const mainGoid = BigInt(/goid (\d+)/.exec(one)![1]!);
        await drain(probes, events, () => events.length >= 2000);
        assert.deepEqual(
          entries().map((e) => e.regs.ax),
          Array.from({ length: 1000 }, (_, i) => BigInt(i)),
          'each call once, in order, with its argument',
        );
        assert.ok(
          entries().every((e) => e.goid === mainGoid),
          'the goroutine id of the caller',
        );
        // Many goroutines: goroutine g calls target(g*1e6 + k).
        events.length = 0;
        const many = await command(target, 'goroutines 8 300', /^done goroutines/);
        const goids = /goids (\S+)/.exec(many)![1]!.split(',').map(BigInt);
        await drain(probes, events, () => events.length >= 2 * 8 * 300);
        const seen = new Set<bigint>();
        for (const e of entries()) {
          const g = Number(e.regs.ax! / 1_000_000n);
          assert.equal(e.goid, goids[g], `argument ${e.regs.ax} came from goroutine ${goids[g]}`);
          seen.add(e.regs.ax!);
        }
        assert.equal(entries().length, 8 * 300, 'every call exactly once');
        assert.equal(seen.size, 8 * 300);
        checkPairs(events);
        // Deep recursions on fresh goroutines: stacks grow and are copied under the probes.
        events.length = 0;
        const before = firstInsn.counts()[0]!;
        await command(target, 'deep 8 1000', /^done deep/);
        await drain(probes, events, () => events.length >= 2 * 8 * 1001);
        const args = entries().map((e) => e.regs.ax!);
        assert.equal(args.length, 8 * 1001, 'every call exactly once while stacks grow');
        assert.equal(new Set(args).size, 8 * 1001);
        checkPairs(events);
        const firstCount = firstInsn.counts()[0]! - before;
        assert.ok(
          firstCount > 8n * 1001n,
          `the first instruction fired ${firstCount} times for ${8 * 1001} calls (morestack re-entered target)`,
        );
      } finally {
        await probes?.close();
        await firstInsn?.close();
      }
      // Removed: the code is as it was, tracefs and our fds untouched, the target runs on.
      const after = readTarget(target.pid, entryFn.entry, entryFn.end - entryFn.entry);
      assert.deepEqual(after, original, 'no breakpoint left: the code is as it was');
      assert.deepEqual(bpfAndPerfFds(), fdsBefore, 'every fd closed');
      assert.equal(uprobeEvents(), eventsBefore);
      assert.match(await command(target, 'calls 10', /^done calls/), /^done calls 10/, 'the target runs on');
    }
  });
}

/** Waits (up to 5 s) until the kernel has freed these programs and links: it does so after an RCU grace period. */
async function gone(programIds: readonly number[], linkIds: readonly number[]): Promise<void> {
  const deadline = performance.now() + 5000;
  while ((programIds.some(programExists) || linkIds.some(linkExists)) && performance.now() < deadline)
    await sleep(20);
}

/** Per goroutine, events alternate entry(arg) then return(leaf(arg) + 1 = (arg ^ 0x5a) + 1). */
function checkPairs(events: readonly ProbeEvent[]): void {
  const open = new Map<bigint, bigint>();
  for (const e of events) {
    const pending = open.get(e.goid);
    if (e.site === 0) {
      assert.equal(pending, undefined, `goroutine ${e.goid}: two entries without a return`);
      open.set(e.goid, e.regs.ax!);
    } else {
      assert.notEqual(pending, undefined, `goroutine ${e.goid}: a return without an entry`);
      assert.equal(e.regs.ax, (pending! ^ 0x5an) + 1n, 'the return value');
      open.delete(e.goid);
    }
  }
  assert.equal(open.size, 0, 'every entry returned');
}

test('a SIGKILLed probing process leaves no program, link or breakpoint; the target runs on', async () => {
  const { path } = await buildFixture('probe-target');
  const bin = await GoBinary.open(path);
  const sites = functionSites(bin, 'main.target');
  const fn = bin.symtab.pcln.funcByName('main.target')!;
  const eventsBefore = uprobeEvents();
  const target = await startTarget(path);
  try {
    const original = readTarget(target.pid, fn.entry, fn.end - fn.entry);
    const offsets = [sites.entry.fileOffset, ...sites.returns.map((r) => r.fileOffset)].join(',');
    const holder = spawn(
      process.execPath,
      [join(ROOT, 'dist/test/probes/probe-holder.js'), `${target.pid}`, path, offsets],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: holder.stdout! }).once('line', resolve);
      holder.once('exit', (code) => reject(new Error(`probe holder exited (${code}) before attaching`)));
    });
    const { programIds, linkIds } = JSON.parse(line) as { programIds: number[]; linkIds: number[] };
    assert.ok(programIds.length >= 2 && linkIds.length === 1);
    assert.ok(programIds.every(programExists) && linkIds.every(linkExists));
    assert.equal(readTarget(target.pid, sites.entry.address, 1)[0], INT3);
    await command(target, 'calls 100', /^done calls/);
    holder.kill('SIGKILL');
    await new Promise((resolve) => holder.once('exit', resolve));
    await gone(programIds, linkIds);
    assert.deepEqual(programIds.filter(programExists), [], 'no program left');
    assert.deepEqual(linkIds.filter(linkExists), [], 'no link left');
    assert.deepEqual(readTarget(target.pid, fn.entry, fn.end - fn.entry), original, 'the code is as it was');
    assert.equal(uprobeEvents(), eventsBefore, 'tracefs untouched');
    assert.match(await command(target, 'calls 10', /^done calls/), /^done calls 10/, 'the target runs on');
  } finally {
    await target.kill();
  }
});

test('program ids and names are Periscope-prefixed kernel objects', async () => {
  const { path } = await buildFixture('probe-target');
  const bin = await GoBinary.open(path);
  const target = await startTarget(path);
  try {
    const set = await ProbeSet.open({
      tag: 'nm',
      pid: target.pid,
      path,
      offsets: [functionSites(bin, 'main.target').entry.fileOffset],
      action: { kind: 'empty' },
      attach: 'multi',
    });
    const info = programInfo(set.programFds[0]!);
    assert.equal(info.name, 'periscope_nmm');
    await set.close();
    await gone([info.id], []);
    assert.equal(programExists(info.id), false, 'freed on close');
  } finally {
    await target.kill();
  }
});
