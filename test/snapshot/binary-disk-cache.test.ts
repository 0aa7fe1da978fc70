/**
 * The one-shot commands' binary cache on disk (snapshot/binary-disk-cache.ts): a second
 * `periscope snapshot --pid` or `inspect` of the same binary starts from what the first one
 * stored, and gives exactly what a run without the cache gives; an entry that is damaged,
 * truncated, for another binary, from another Periscope or not a cache file at all is
 * ignored and rebuilt, and the command's answer is still the uncached one.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  copyFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { decodeFacts, encodeFacts, type FactsKey } from '../../src/snapshot/facts-file.js';
import type { ProcessSnapshot } from '../../src/snapshot/snapshot-types.js';
import { buildFixture, ROOT } from '../../support/go-fixtures.js';
import { withTestPauseCap } from '../../support/pause-cap.js';
import { startTarget, type Target } from '../../support/target.js';

const run = promisify(execFile);
const CLI = join(ROOT, 'bin', 'periscope.js');

const SPEC = `functions:
  - function: main.park
    table: parked
    capture:
      local: local
      count: count
      server: srv.Name
      items: items
      m: m
      err: err
`;

interface Run {
  readonly stdout: string;
  /** What the cache said it did (PERISCOPE_DEBUG lines). */
  readonly cacheLog: string[];
}

async function cli(cacheDir: string, ...args: string[]): Promise<Run> {
  const { stdout, stderr } = await run(process.execPath, [CLI, ...withTestPauseCap(args)], {
    timeout: 120_000,
    maxBuffer: 1 << 26,
    env: { ...process.env, PERISCOPE_CACHE_DIR: cacheDir, PERISCOPE_DEBUG: '1' },
  });
  const cacheLog = stderr
    .split('\n')
    .filter((l) => l.startsWith('periscope: binary cache: '))
    .map((l) => l.slice('periscope: binary cache: '.length));
  return { stdout, cacheLog };
}

/**
 * The goroutines of a snapshot and their captured values, and what the spec's compilation
 * said (the spec functions absent, the entries that do not fit); without what depends on
 * time: how long a goroutine has waited, and whether the pause's budget let its values be
 * read inside the pause (on a busy machine it may not: `afterPause`).
 */
function goroutinesOf(r: Run): unknown {
  const s = JSON.parse(r.stdout) as ProcessSnapshot;
  return {
    goroutines: s.goroutines.map(({ waitSinceNs: _s, waitDurationNs: _d, captures, ...g }) => ({
      ...g,
      captures: captures.map(({ afterPause: _a, ...c }) => c),
    })),
    specFunctionsAbsent: s.specFunctionsAbsent,
    captureErrors: s.captureErrors,
  };
}

const has = (r: Run, re: RegExp): boolean => r.cacheLog.some((l) => re.test(l));

describe('binary disk cache', { timeout: 600_000 }, () => {
  const dirs: string[] = [];
  const targets: Target[] = [];
  const newDir = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'periscope-bincache-'));
    dirs.push(d);
    return d;
  };
  after(async () => {
    for (const t of targets) await t.kill();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function setUp(): Promise<{ pid: string; spec: string; uncached: unknown }> {
    const { path } = await buildFixture('exprs');
    const target = await startTarget(path, [], {}, /^ready/);
    targets.push(target);
    const spec = join(newDir(), 'spec.yaml');
    writeFileSync(spec, SPEC);
    const pid = String(target.pid);
    const off = await cli('off', 'snapshot', '--pid', pid, '--spec', spec, '--no-store', '--json');
    assert.deepEqual(off.cacheLog, [], 'PERISCOPE_CACHE_DIR=off: no cache');
    return { pid, spec, uncached: goroutinesOf(off) };
  }

  it('a second one-shot snapshot starts from the cache and gives the goroutines of an uncached run', async () => {
    const { pid, spec, uncached } = await setUp();
    const dir = newDir();
    const snap = () => cli(dir, 'snapshot', '--pid', pid, '--spec', spec, '--no-store', '--json');
    const first = await snap();
    assert.ok(has(first, /^miss /), first.cacheLog.join('\n'));
    assert.ok(has(first, /^stored .*\.facts/), first.cacheLog.join('\n'));
    assert.ok(has(first, /^stored .*\.sections/), 'the inflated DWARF sections are kept too');
    const second = await snap();
    assert.ok(has(second, /^hit /), second.cacheLog.join('\n'));
    assert.ok(has(second, /^sections /), second.cacheLog.join('\n'));
    assert.ok(!has(second, /^stored /), 'nothing new learned: nothing written');
    const { goroutines, specFunctionsAbsent } = JSON.parse(second.stdout) as ProcessSnapshot;
    assert.ok(specFunctionsAbsent.length > 0, 'the built-in spec has functions this program lacks');
    assert.ok(
      goroutines.some((g) => g.captures.some((c) => c.function === 'main.park')),
      'the spec is captured from the cache',
    );
    assert.deepEqual(goroutinesOf(first), uncached);
    assert.deepEqual(goroutinesOf(second), uncached);

    // inspect of the same binary starts from the same entry, and says what an uncached one says.
    const { path } = await buildFixture('exprs');
    for (const args of [['--json'], ['--func', 'main.park', '--json'], ['--type', 'main.MyErr', '--json']]) {
      const inspected = await cli(dir, 'inspect', path, ...args);
      assert.ok(has(inspected, /^hit /), `inspect ${args.join(' ')}: ${inspected.cacheLog.join('\n')}`);
      const plain = await cli('off', 'inspect', path, ...args);
      assert.deepEqual(JSON.parse(inspected.stdout), JSON.parse(plain.stdout), `inspect ${args.join(' ')}`);
    }
  });

  it('a binary replaced at the same path, or touched, is not answered from the old entry', async () => {
    const dir = newDir();
    const bins = newDir();
    const path = join(bins, 'prog');
    const summary = async (): Promise<{ run: Run; buildId: string }> => {
      const run = await cli(dir, 'inspect', path, '--json');
      return { run, buildId: (JSON.parse(run.stdout) as { buildId: string }).buildId };
    };
    copyFileSync((await buildFixture('exprs')).path, path);
    const exprs = await summary();
    assert.ok(has(exprs.run, /^miss /));
    assert.ok(has((await summary()).run, /^hit /));
    // Another program at the same path: another build ID and size.
    copyFileSync((await buildFixture('hello')).path, path);
    const hello = await summary();
    assert.ok(has(hello.run, /^miss /), hello.run.cacheLog.join('\n'));
    assert.notEqual(hello.buildId, exprs.buildId);
    assert.deepEqual(
      JSON.parse(hello.run.stdout),
      JSON.parse((await cli('off', 'inspect', path, '--json')).stdout),
    );
    // The same bytes written again (a new mtime): not trusted to be the same file.
    const later = new Date(Date.now() + 60_000);
    utimesSync(path, later, later);
    assert.ok(has((await summary()).run, /^miss /));
  });

  it('a damaged, truncated, foreign or outdated entry is ignored and rebuilt, and the goroutines are right', async () => {
    const { pid, spec, uncached } = await setUp();
    const dir = newDir();
    const bins = join(dir, 'binaries');
    const snap = () => cli(dir, 'snapshot', '--pid', pid, '--spec', spec, '--no-store', '--json');
    await snap();
    const entry = (suffix: string): string => {
      const names = readdirSync(bins).filter((n) => n.endsWith(suffix));
      assert.equal(names.length, 1, `one ${suffix} entry: ${names.join(' ')}`);
      return join(bins, names[0]!);
    };
    const facts = entry('.facts');
    const sections = entry('.sections');
    const good = { facts: readFileSync(facts), sections: readFileSync(sections) };
    // Another binary's entry, under this binary's name.
    const other = newDir();
    const { path: hello } = await buildFixture('hello');
    await cli(other, 'inspect', hello);
    const otherFacts = readFileSync(
      join(other, 'binaries', readdirSync(join(other, 'binaries')).find((n) => n.endsWith('.facts'))!),
    );
    const flip = (b: Buffer, at: number): Buffer => {
      const c = Buffer.from(b);
      c[at] = c[at]! ^ 0xff;
      return c;
    };
    // The same facts, whole and checksummed, as another Periscope version would have written them.
    const key = (
      JSON.parse(good.facts.toString('utf8', 16, 16 + good.facts.readUInt32LE(12))) as { key: FactsKey }
    ).key;
    const decoded = decodeFacts(good.facts, key);
    assert.ok(decoded.ok);
    const outdated = encodeFacts({ ...key, periscope: '0.0.0-other' }, decoded.body);
    const damages: [string, () => void, RegExp][] = [
      [
        'a byte flipped in the middle',
        () => writeFileSync(facts, flip(good.facts, good.facts.length >> 1)),
        /checksum/,
      ],
      ['truncated', () => truncateSync(facts, good.facts.length >> 1), /checksum|truncated/],
      ['empty', () => writeFileSync(facts, ''), /truncated/],
      ['not a cache file', () => writeFileSync(facts, 'hello, world\n'.repeat(100)), /not a facts file/],
      ['another binary', () => writeFileSync(facts, otherFacts), /another binary/],
      ['another Periscope version', () => writeFileSync(facts, outdated), /another binary/],
      [
        'a section damaged',
        () => {
          writeFileSync(facts, good.facts);
          // In the first section stored (.debug_info, which every run reads).
          const dataStart = (16 + good.sections.readUInt32LE(12) + 7) & ~7;
          writeFileSync(sections, flip(good.sections, dataStart + 100));
        },
        /refused .* damaged/,
      ],
      ['sections of another binary', () => writeFileSync(sections, otherFacts), /ignored .*\.sections/],
    ];
    for (const [what, damage, said] of damages) {
      damage();
      const r = await snap();
      assert.ok(has(r, said), `${what}: ${r.cacheLog.join('\n')}`);
      assert.ok(has(r, /^stored /), `${what}: stored again: ${r.cacheLog.join('\n')}`);
      assert.deepEqual(goroutinesOf(r), uncached, `${what}: the goroutines of an uncached run`);
      const again = await snap();
      assert.ok(has(again, /^hit /), `${what}: rebuilt, then used: ${again.cacheLog.join('\n')}`);
      assert.deepEqual(goroutinesOf(again), uncached, `${what}: rebuilt right`);
    }
  });
});
