/**
 * Benchmark: cold load of a large real Go binary (gopls, ~42 MB) until functions, types and
 * line tables can be queried — Periscope beside Delve, same binary, same run, same machine.
 *
 * Periscope: a fresh Node process per run (cold: process start, module loading and JIT
 * included) opens the binary with GoBinary.open and runs a first query of each kind;
 * wall time is from spawn to its result line, memory is the child's maxRSS.
 * Delve: `dlv exec --headless` per run, timed from spawn to the answers of the same three
 * queries over its JSON-RPC API (answered only after LoadBinaryInfo); memory is dlv's VmHWM.
 * The binary is read once before the first run, so both sides start with a warm page cache.
 *
 * Usage: npx tsc -p . && node dist/bench/binary-load.js [--runs N] [--binary PATH] [--facade MODULE]
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildResult } from '../support/binary-load-child.js';
import { delveVersion } from '../support/delve.js';
import { type DelveLoadRun, timeDelveLoad } from '../support/delve-anchor.js';
import { DELVE, ensureGoTool, GOPLS } from '../support/go-tools.js';
import { describeMachine, loadAverage, today } from '../support/machine.js';
import { timeNodeScript } from '../support/proc.js';
import { ratio, type Summary, summarize } from '../support/stats.js';
import { formatTable, mib, ms } from '../support/table.js';

const FUNCTION = 'main.main';
const TYPE = 'runtime.g';
const AIM_MS = 2000;
const MIN_BYTES = 30 * 1024 * 1024;

interface Options {
  runs: number;
  binary: string | undefined;
  facade: string | undefined;
}

function parseArgs(argv: readonly string[]): Options {
  const opts: Options = { runs: 5, binary: undefined, facade: undefined };
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    switch (argv[i]) {
      case '--runs':
        opts.runs = Number(value);
        i++;
        break;
      case '--binary':
        opts.binary = value;
        i++;
        break;
      case '--facade':
        opts.facade = value;
        i++;
        break;
      default:
        throw new Error(
          `unknown argument ${argv[i]}; usage: binary-load [--runs N] [--binary PATH] [--facade MODULE]`,
        );
    }
  }
  if (!(opts.runs >= 1)) throw new Error('--runs needs a positive number');
  return opts;
}

interface PeriscopeRun extends ChildResult {
  readonly readyMs: number;
}

async function timePeriscopeLoad(binary: string, facade: string | undefined): Promise<PeriscopeRun> {
  const child = join(import.meta.dirname, '..', 'support', 'binary-load-child.js');
  const r = await timeNodeScript(child, [binary, FUNCTION, TYPE, ...(facade ? [facade] : [])]);
  return { ...(r.json as ChildResult), readyMs: r.readyMs ?? r.wallMs };
}

const log = (line: string): void => console.log(line);
const briefly = (e: unknown): string =>
  (e instanceof Error ? e.message : String(e)).split('\n').slice(0, 3).join(' | ');
const cell = (s: Summary | undefined, fmt: (x: number) => string): string =>
  s ? `${fmt(s.median)} (min ${fmt(s.min)})` : 'pending';

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const machine = describeMachine();
  log('binary-load: cold load of a large Go binary until functions, types and lines can be queried');
  log(
    `machine: ${machine.short}; ${machine.node}; ${machine.go}; date ${today()}; load average ${machine.load}`,
  );

  const dlv = await ensureGoTool(DELVE, log);
  const target = opts.binary
    ? { path: opts.binary, bytes: statSync(opts.binary).size, built: false }
    : await ensureGoTool(GOPLS, log);
  log(
    `binary: ${target.path} (${(target.bytes / 2 ** 20).toFixed(1)} MiB${target.built ? ', built now' : ''})`,
  );
  if (target.bytes < MIN_BYTES) log(`warning: the binary is under ${MIN_BYTES / 2 ** 20} MiB`);
  const dlvVersion = await delveVersion(dlv.path);
  log(`anchor: Delve ${dlvVersion} (${dlv.path}); queries: function ${FUNCTION}, type ${TYPE}, pc -> line`);
  if (opts.facade)
    log(`facade: ${opts.facade} -- a stand-in, NOT src/gobinary/go-binary.ts: figures are not Periscope's`);
  // One untimed run of each side first: page cache warm for the binary, dlv, node and dist/
  // alike, so every timed run is a cold process on a warm cache.
  readFileSync(target.path);
  await timeDelveLoad(dlv.path, target.path, FUNCTION, TYPE);
  let ourError: string | undefined;
  await timePeriscopeLoad(target.path, opts.facade).catch((e: unknown) => {
    ourError = briefly(e);
    log(`  periscope failed, reported as pending: ${ourError}`);
  });
  log(`warm-up done; ${opts.runs} timed runs of each side, alternating which goes first`);

  const delveRuns: DelveLoadRun[] = [];
  const ourRuns: PeriscopeRun[] = [];
  for (let i = 0; i < opts.runs; i++) {
    // Alternate which side goes first, so neither always runs right after the other.
    const order = i % 2 === 0 ? (['delve', 'periscope'] as const) : (['periscope', 'delve'] as const);
    for (const side of order) {
      if (side === 'delve') {
        const d = await timeDelveLoad(dlv.path, target.path, FUNCTION, TYPE);
        delveRuns.push(d);
        log(
          `  run ${i + 1} delve:     ${ms(d.readyMs)} ready (listening at ${ms(d.listeningMs)}), ` +
            `peak ${mib(d.peakRssKiB)}, cpu ${ms(d.cpuMs)}; ${d.answers.fn} -> ${d.answers.line}, ` +
            `${d.answers.types} type(s)${d.killed.length ? `; had to SIGKILL ${d.killed.join(',')}` : ''}`,
        );
      } else if (ourError === undefined) {
        try {
          const p = await timePeriscopeLoad(target.path, opts.facade);
          ourRuns.push(p);
          log(
            `  run ${i + 1} periscope: ${ms(p.readyMs)} ready (imports done ${ms(p.importedMs)}, ` +
              `opened ${ms(p.openedMs)}, queried ${ms(p.queriedMs)} after process start; function ${ms(p.queryMs.fn)}, ` +
              `type ${ms(p.queryMs.type)}, line ${ms(p.queryMs.line)}), ` +
              `peak ${mib(p.maxRssKiB)}, cpu ${ms(p.cpuMs)}; ${p.functionCount} functions, ` +
              `${p.typeCount} types; ${p.fn} -> ${p.line}`,
          );
        } catch (e) {
          ourError = briefly(e);
          log(`  periscope failed, reported as pending: ${ourError}`);
        }
      }
    }
  }

  const dWall = summarize(delveRuns.map((d) => d.readyMs));
  const dRss = summarize(delveRuns.map((d) => d.peakRssKiB));
  const pWall = ourRuns.length ? summarize(ourRuns.map((p) => p.readyMs)) : undefined;
  const pRss = ourRuns.length ? summarize(ourRuns.map((p) => p.maxRssKiB)) : undefined;
  const dCpu = summarize(delveRuns.map((d) => d.cpuMs));
  const pCpu = ourRuns.length ? summarize(ourRuns.map((p) => p.cpuMs)) : undefined;
  log('');
  log(
    `results over ${opts.runs} runs each: median (min); ratio = Delve / Periscope, above 1 is better for us`,
  );
  log(
    formatTable([
      ['figure', 'Periscope', 'Delve (anchor)', 'ratio'],
      [
        'cold load to first queries, wall',
        cell(pWall, ms),
        cell(dWall, ms),
        pWall ? ratio(dWall.median, pWall.median) : 'pending',
      ],
      ['peak RSS', cell(pRss, mib), cell(dRss, mib), pRss ? ratio(dRss.median, pRss.median) : 'pending'],
      [
        'CPU time (user+sys), until ready',
        cell(pCpu, ms),
        cell(dCpu, ms),
        pCpu ? ratio(dCpu.median, pCpu.median) : 'pending',
      ],
    ]),
  );
  log(
    `load average now ${loadAverage()} (${machine.load} at start): wall figures are noisy when the machine is busy`,
  );
  log('');
  if (pWall) {
    const faster = pWall.median < dWall.median;
    const under = pWall.median < AIM_MS;
    log(`aim: faster than Delve: ${faster ? 'yes' : 'NO'}; under ${AIM_MS} ms: ${under ? 'yes' : 'NO'}`);
  } else {
    log(`Periscope figures pending: ${ourError ?? 'no runs'}`);
  }
  const size = `${(target.bytes / 1e6).toFixed(0)} MB`;
  log('');
  log('docs/performance.md rows:');
  log(
    `| Cold load of gopls (${size}) to first function/type/line query, wall (median of ${opts.runs}) | ` +
      `${pWall ? ms(pWall.median) : 'pending'} | Delve ${dlvVersion} \`dlv exec --headless\`: ${ms(dWall.median)} | ` +
      `${pWall ? ratio(dWall.median, pWall.median) : 'pending'} | ${machine.short} | ${today()} |`,
  );
  log(
    `| Same, peak RSS | ${pRss ? mib(pRss.median) : 'pending'} | Delve: ${mib(dRss.median)} | ` +
      `${pRss ? ratio(dRss.median, pRss.median) : 'pending'} | ${machine.short} | ${today()} |`,
  );
  log(
    `| Same, CPU time (user+sys) | ${pCpu ? ms(pCpu.median) : 'pending'} | Delve: ${ms(dCpu.median)} | ` +
      `${pCpu ? ratio(dCpu.median, pCpu.median) : 'pending'} | ${machine.short} | ${today()} |`,
  );
  if (ourError !== undefined) process.exitCode = 2;
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
});
