/**
 * The pause of a one-shot `periscope snapshot --pid P` (a fresh Node process each time: cold
 * code, nothing reserved) against the anchor measured in the same run: a warm snapshot from a
 * long-lived process (as an agent takes them), both with the built-in spec, on
 * testdata/pausebench with N parked goroutines. Prints the pause (pauseNs), its stop and copy
 * phases, the longest gap the target's ticker saw, and the ratios one-shot / warm.
 *
 * Usage: npx tsc -p . && node dist/bench/cli-snapshot.js [--n 10000] [--reps 7]
 *          [--variant 'name=NODE FLAGS' ...]   extra one-shot variants (flags given to node), e.g.
 *          --variant 'sparkplug=--always-sparkplug'
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { ProcessSnapshot } from '../src/snapshot/snapshot-types.js';
import { snapshotProcess } from '../src/snapshot/take-snapshot.js';
import { effectiveSpec } from '../src/spec/effective-spec.js';
import { EMPTY_SPEC } from '../src/spec/spec-types.js';
import { describeMachine, loadAverage, today } from '../support/machine.js';
import { startPauseTarget } from '../support/pause-target.js';
import { median, ratio } from '../support/stats.js';
import { formatTable } from '../support/table.js';

const run = promisify(execFile);
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const N = Number(arg('--n') ?? 10_000);
const REPS = Number(arg('--reps') ?? 7);
const VARIANTS: { name: string; nodeArgs: string[] }[] = [{ name: 'one-shot CLI', nodeArgs: [] }];
for (let i = 0; i < process.argv.length; i++) {
  if (process.argv[i] !== '--variant') continue;
  const v = process.argv[i + 1] ?? '';
  const eq = v.indexOf('=');
  VARIANTS.push({
    name: `one-shot, ${v.slice(0, eq)}`,
    nodeArgs: v
      .slice(eq + 1)
      .split(' ')
      .filter(Boolean),
  });
}
const CLI = resolve(import.meta.dirname, '..', '..', 'bin', 'periscope.js');
const fmtMs = (ns: number): string => `${(ns / 1e6).toFixed(2)} ms`;

interface Sample {
  pause: number;
  stop: number;
  copy: number;
  values: number;
  gap: number;
}

async function main(): Promise<void> {
  const target = await startPauseTarget(N, -10);
  const dir = mkdtempSync(join(tmpdir(), 'periscope-cli-bench-'));
  const spec = effectiveSpec(EMPTY_SPEC);
  const samples = new Map<string, Sample[]>();
  const add = (name: string, p: ProcessSnapshot, gapNs: number): void => {
    const list = samples.get(name) ?? [];
    list.push({
      pause: p.pauseNs,
      stop: p.phasesNs.stop,
      copy: p.phasesNs.copy,
      values: p.phasesNs.values,
      gap: gapNs,
    });
    samples.set(name, list);
  };
  try {
    // The warm anchor's first snapshot is not counted (it is the cold one of this process).
    snapshotProcess(target.pid, { spec });
    // Interleaved: each rep takes one sample of every variant.
    for (let rep = 0; rep < REPS; rep++) {
      await target.gap();
      const warm = snapshotProcess(target.pid, { spec });
      add('warm (long-lived process)', warm, (await target.gap()).maxNs);
      for (const v of VARIANTS) {
        const out = join(dir, 'snap.json');
        await target.gap();
        await run(
          process.execPath,
          [...v.nodeArgs, CLI, 'snapshot', '--pid', String(target.pid), '--no-store', '--out', out],
          { maxBuffer: 256 << 20 },
        );
        const gap = (await target.gap()).maxNs;
        add(v.name, JSON.parse(readFileSync(out, 'utf8')) as ProcessSnapshot, gap);
      }
    }
  } finally {
    await target.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const m = describeMachine();
  const warm = samples.get('warm (long-lived process)')!;
  const med = (xs: Sample[], k: keyof Sample) => median(xs.map((s) => s[k]));
  console.log(`cli-snapshot: ${m.short}; load ${loadAverage()}; ${N} goroutines; ${REPS} reps; ${today()}\n`);
  const rows = [...samples].map(([name, xs]) => [
    name,
    fmtMs(med(xs, 'pause')),
    fmtMs(med(xs, 'stop')),
    fmtMs(med(xs, 'copy')),
    fmtMs(med(xs, 'values')),
    fmtMs(med(xs, 'gap')),
    `${ratio(med(xs, 'pause'), med(warm, 'pause'))}`,
  ]);
  console.log(
    formatTable([['snapshot', 'pause', 'stop', 'copy', 'values', 'ticker gap', 'pause / warm'], ...rows]),
  );
  console.log('\nrows for docs/performance.md:');
  for (const [name, xs] of samples) {
    if (xs === warm) continue;
    console.log(
      `| Pause of \`periscope snapshot --pid\` (${name}), ${N} goroutines, built-in spec, median of ${REPS} | ${fmtMs(med(xs, 'pause'))} | warm snapshot in a long-lived process: ${fmtMs(med(warm, 'pause'))} | ${ratio(med(xs, 'pause'), med(warm, 'pause'))} | ${m.short} | ${today()} |`,
    );
  }
}

await main();
