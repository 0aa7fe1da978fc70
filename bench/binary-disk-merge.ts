/**
 * Benchmark: what a write to the binary disk cache costs now that it merges with the entry on
 * disk (snapshot/binary-disk-cache.ts: the directory's lock taken, the entry read, checked
 * and merged, then written and renamed) — against a write that replaces the entry with the
 * writer's facts alone (what every write did before), same binary, same run, interleaved.
 * The facts are a real binary's, loaded once (default: the connpair fixture; --binary a
 * larger one, e.g. .cache/fixtures/bigservice-*\/bigservice). Only the facts file: the sections
 * file is merged only when a writer inflated a section the file lacks.
 *
 * Usage: npx tsc -p . && node dist/bench/binary-disk-merge.js [--runs N] [--binary PATH]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BinaryCache } from '../src/snapshot/binary-cache.js';
import { BinaryDiskCache } from '../src/snapshot/binary-disk-cache.js';
import { factsKey, mergeWithStored, storedFactsOf } from '../src/snapshot/stored-facts.js';
import { buildFixture } from '../support/go-fixtures.js';
import { loadAverage } from '../support/machine.js';
import { ratio, summarize } from '../support/stats.js';
import { formatTable } from '../support/table.js';

function parseArgs(argv: readonly string[]): { runs: number; binary: string | undefined } {
  const opts = { runs: 9, binary: undefined as string | undefined };
  for (let i = 0; i < argv.length; i += 2) {
    if (argv[i] === '--runs') opts.runs = Number(argv[i + 1]);
    else if (argv[i] === '--binary') opts.binary = argv[i + 1];
    else throw new Error(`unknown argument ${argv[i]}; usage: binary-disk-merge [--runs N] [--binary PATH]`);
  }
  if (!(opts.runs >= 1)) throw new Error('--runs needs a positive number');
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const binary = opts.binary ?? (await buildFixture('connpair')).path;
const bin = new BinaryCache().open(binary);
const facts = storedFactsOf(bin);
const key =
  factsKey(bin.elf) ??
  (() => {
    throw new Error(`${binary}: no file identity`);
  })();
const root = mkdtempSync(join(tmpdir(), 'periscope-bench-merge-'));
const loadBefore = loadAverage();
try {
  const disk = new BinaryDiskCache({ dir: join(root, 'binaries') });
  if (!disk.store(key, facts)) throw new Error('the first store failed');
  const bytes = statSync(disk.entryPath(key)).size;
  const replace: number[] = [];
  const merge: number[] = [];
  const time = (f: () => boolean): number => {
    const t0 = performance.now();
    if (!f()) throw new Error('not stored');
    return performance.now() - t0;
  };
  for (let i = 0; i < opts.runs; i++) {
    const order = i % 2 === 0 ? ['replace', 'merge'] : ['merge', 'replace'];
    for (const which of order)
      if (which === 'replace') replace.push(time(() => disk.store(key, facts)));
      else merge.push(time(() => disk.store(key, facts, mergeWithStored(facts))));
  }
  const r = summarize(replace);
  const m = summarize(merge);
  const f = (x: number) => `${x.toFixed(1)} ms`;
  console.log(`${binary}: entry of ${(bytes / 2 ** 20).toFixed(1)} MiB, ${opts.runs} runs each, interleaved`);
  console.log(
    formatTable([
      ['write', 'median', 'min', 'max'],
      ['merged with the entry (now)', f(m.median), f(m.min), f(m.max)],
      ['replacing it (anchor: before)', f(r.median), f(r.min), f(r.max)],
    ]),
  );
  console.log(`ratio anchor/now: ${ratio(r.median, m.median)}; load ${loadBefore} -> ${loadAverage()}`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
