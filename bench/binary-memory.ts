/**
 * Benchmark: a large Go binary (testdata/bigservice, ~180 MB with DWARF, built from modules
 * of the Go module proxy and cached under .cache/fixtures), in an agent and in the one-shot
 * commands.
 *
 * 1. Memory per loaded binary, as an agent holds it: a fresh Node process does what a capture
 *    thread does with a process of a binary it has not seen (prepare with the built-in spec,
 *    then one snapshot; support/binary-memory-child.ts); its peak RSS less a baseline process
 *    that loaded the same modules and no binary. Anchor: the binary's size (the aim is at most
 *    1.5x of it, which is what the systemd unit's MemoryMax is set from).
 * 2. One-shot commands: `periscope snapshot --pid --no-store` and `periscope inspect`, wall
 *    time, CPU time (the figure to compare on a busy machine) and peak RSS, with the binary cache empty (first run) and filled (second run); and
 *    `periscope --help` in the same run, the floor of any command (Node and module loading).
 *
 * Usage: npx tsc -p . && node dist/bench/binary-memory.js [--runs N] [--binary PATH]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MemoryChildResult } from '../support/binary-memory-child.js';
import { buildFixture, ROOT } from '../support/go-fixtures.js';
import { describeMachine, loadAverage, today } from '../support/machine.js';
import { timeChild, timeNodeScript } from '../support/proc.js';
import { ratio, summarize } from '../support/stats.js';
import { formatTable, mib, ms } from '../support/table.js';
import { startTarget } from '../support/target.js';

const CLI = join(ROOT, 'bin', 'periscope.js');
const CHILD = join(import.meta.dirname, '..', 'support', 'binary-memory-child.js');

interface Options {
  runs: number;
  binary: string | undefined;
}

function parseArgs(argv: readonly string[]): Options {
  const opts: Options = { runs: 3, binary: undefined };
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    if (argv[i] === '--runs') opts.runs = Number(value);
    else if (argv[i] === '--binary') opts.binary = value;
    else throw new Error(`unknown argument ${argv[i]}; usage: binary-memory [--runs N] [--binary PATH]`);
    i++;
  }
  if (!(opts.runs >= 1)) throw new Error('--runs needs a positive number');
  return opts;
}

interface CliRun {
  readonly wallMs: number;
  /** User + system CPU time: the figure that holds on a busy machine, where wall time does not. */
  readonly cpuMs: number;
  readonly peakKiB: number;
}

/** Runs the CLI under /usr/bin/time (for its peak RSS) with the cache in `cacheDir`. */
async function timeCli(cacheDir: string, args: readonly string[]): Promise<CliRun> {
  process.env.PERISCOPE_CACHE_DIR = cacheDir;
  const r = await timeChild('/usr/bin/time', ['-f', 'maxrss %M cpu %U %S', process.execPath, CLI, ...args]);
  if (r.exitCode !== 0) throw new Error(`periscope ${args.join(' ')} exited with ${r.exitCode}: ${r.stderr}`);
  const m = /maxrss (\d+) cpu ([\d.]+) ([\d.]+)/.exec(r.stderr);
  if (!m) throw new Error(`no figures from /usr/bin/time: ${r.stderr}`);
  return { wallMs: r.wallMs, cpuMs: (Number(m[2]) + Number(m[3])) * 1000, peakKiB: Number(m[1]) };
}

const log = (line: string): void => console.log(line);
const med = (xs: readonly number[]): number => summarize(xs).median;

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const binary = opts.binary ?? (await buildFixture('bigservice')).path;
  const size = statSync(binary).size;
  const machine = describeMachine();
  log(`binary ${binary}: ${mib(size / 1024)}; ${machine.short}; load ${loadAverage()}`);
  const target = await startTarget(binary, [], {}, /^ready/, 120_000);
  const dirs: string[] = [];
  try {
    const pid = String(target.pid);
    const base: MemoryChildResult[] = [];
    const loaded: MemoryChildResult[] = [];
    for (let i = 0; i < opts.runs; i++) {
      base.push((await timeNodeScript(CHILD, ['baseline'])).json as MemoryChildResult);
      loaded.push((await timeNodeScript(CHILD, ['prepare', pid])).json as MemoryChildResult);
      const l = loaded.at(-1)!;
      log(
        `run ${i + 1}: peak ${mib(l.peakKiB)} (baseline ${mib(base.at(-1)!.peakKiB)}), end RSS ${mib(l.rssKiB)}, ` +
          `prepare ${ms(l.prepareMs)}, snapshot ${ms(l.snapshotMs)}, read ${mib(l.bytesRead / 1024)} of the file, ` +
          `${l.goroutines} goroutines`,
      );
    }
    const perBinaryKiB = med(loaded.map((l) => l.peakKiB)) - med(base.map((b) => b.peakKiB));

    const rows: string[][] = [
      ['one-shot command', 'cache', 'wall, median', 'CPU, median', 'peak RSS, median'],
    ];
    const help: CliRun[] = [];
    const oneShot = new Map<string, CliRun[]>();
    for (let i = 0; i < opts.runs; i++) {
      help.push(await timeCli('off', ['--help']));
      for (const [name, args] of [
        ['snapshot --pid', ['snapshot', '--pid', pid, '--no-store']],
        ['inspect', ['inspect', binary]],
      ] as const) {
        const dir = mkdtempSync(join(tmpdir(), 'periscope-bench-cache-'));
        dirs.push(dir);
        for (const cache of ['empty', 'filled']) {
          const k = `${name}\u0000${cache}`;
          oneShot.set(k, [...(oneShot.get(k) ?? []), await timeCli(dir, args)]);
        }
      }
    }
    const cells = (runs: readonly CliRun[]): string[] => [
      ms(med(runs.map((r) => r.wallMs))),
      ms(med(runs.map((r) => r.cpuMs))),
      mib(med(runs.map((r) => r.peakKiB))),
    ];
    rows.push(['--help', '-', ...cells(help)]);
    for (const [k, runs] of oneShot) {
      const [name, cache] = k.split('\u0000');
      rows.push([name!, cache!, ...cells(runs)]);
    }
    log('');
    log(formatTable(rows));
    log('');
    log('| Figure | Periscope | Anchor | Ratio (anchor / Periscope) | Machine | Date |');
    log(
      `| Memory per loaded binary (an agent's capture thread: prepare with the built-in spec + one snapshot), ` +
        `${mib(size / 1024)} Go binary with DWARF: peak RSS less a process without it, median of ${opts.runs} | ` +
        `${mib(perBinaryKiB)} | the binary's size: ${mib(size / 1024)} | ${ratio(size / 1024, perBinaryKiB)} | ` +
        `${machine.short}; load ${loadAverage()} | ${today()} |`,
    );
    const cpu = (k: string): number => med(oneShot.get(k)!.map((r) => r.cpuMs));
    for (const name of ['snapshot --pid', 'inspect']) {
      const first = cpu(`${name}\u0000empty`);
      const second = cpu(`${name}\u0000filled`);
      log(
        `| One-shot \`periscope ${name}\` of the same binary, second run (binary cache filled): CPU time (user + ` +
          `system), median of ${opts.runs} (\`--help\` in the same run: ${ms(med(help.map((r) => r.cpuMs)))}) | ` +
          `${ms(second)} | first run (cache empty): ${ms(first)} | ${ratio(first, second)} | same run | ${today()} |`,
      );
    }
  } finally {
    await target.kill();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

await main();
