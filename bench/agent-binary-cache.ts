/**
 * Benchmark: an agent's first prepare of a large binary after a restart, starting from its
 * binary cache on disk (`--cache-dir DIR`, filled by the agent before it) against loading the
 * binary anew (`--cache-dir off`, the anchor: what every restart cost before the agent had a
 * cache), in the same run; and the agent's memory after that first snapshot, both ways.
 *
 * A real `periscope server` and, per run, a fresh real `periscope agent` (each run is a restart)
 * with one process of the binary (default: the connpair fixture, the largest the tests build;
 * --binary PATH for another, run without arguments, e.g. testdata/bigservice's). Per run: start the agent, wait until it
 * reports the process, take one snapshot through the server (`periscope snapshot --all`),
 * read the agent's own line `prepared 1 of 1 processes in T ms`, its CPU time (all threads,
 * schedstat) from start to after the snapshot, and its VmRSS and VmHWM; then stop it. One
 * untimed run of each first (page cache, and the cache filled: its prepare is reported apart,
 * as the cost of loading and storing); the timed runs alternate which goes first.
 *
 * Usage: npx tsc -p . && node dist/bench/agent-binary-cache.js [--runs N] [--binary PATH]
 */
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  CLI,
  cli,
  createToken,
  fleetTag,
  type Proc,
  startAgentProc,
  startServerProc,
  startTagged,
  tempDir,
  waitForFleet,
} from '../support/fleet.js';
import { buildFixture } from '../support/go-fixtures.js';
import { describeMachine, loadAverage, today } from '../support/machine.js';
import { procCpuNs } from '../support/proc.js';
import { median, ratio } from '../support/stats.js';
import { formatTable } from '../support/table.js';

function arg(name: string, def: string | undefined): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
}
const RUNS = Number(arg('runs', '5'));
const HOST = 'cache-bench';

interface Run {
  prepareMs: number;
  cpuMs: number;
  rssMiB: number;
  hwmMiB: number;
  hits: number;
}

function statusKiB(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
  return m ? Number(m[1]) : Number.NaN;
}

async function main(): Promise<void> {
  const given = arg('binary', undefined);
  const binary = given ?? (await buildFixture('connpair')).path;
  const size = statSync(binary).size;
  const dataDir = tempDir('periscope-cache-bench-');
  const cacheRoot = tempDir('periscope-cache-bench-dir-');
  const server = await startServerProc(dataDir);
  const agentToken = await createToken(dataDir, 'agent', 'bench-agent');
  const userToken = await createToken(dataDir, 'user', 'bench-user');
  const tag = fleetTag();
  // connpair in pipe mode: an HTTP call over net.Pipe, no port; another binary runs without arguments.
  const target = await startTagged(binary, given ? [] : ['pipe'], tag, HOST, {}, 120_000);
  const load0 = loadAverage();
  let n = 0;

  async function once(cacheDir: string): Promise<Run> {
    const agent: Proc = startAgentProc(server.url, agentToken, HOST, tag, ['--cache-dir', cacheDir]);
    try {
      await waitForFleet(server.url, userToken, { [HOST]: [target.pid] }, 60_000);
      const since = performance.now();
      const r = await cli(
        ['snapshot', '--server', server.url, '--all', '--json'],
        { PERISCOPE_TOKEN: userToken },
        300_000,
      );
      if (r.code !== 0) throw new Error(`snapshot failed (${r.code}): ${r.stderr}`);
      const line = await agent.waitFor(/prepared 1 of 1 processes in (\d+) ms/, 10_000, since);
      await agent.waitFor(/captured 1 processes, 0 errors/, 30_000, since);
      n++;
      return {
        prepareMs: Number(/in (\d+) ms/.exec(line.text)![1]),
        cpuMs: (procCpuNs(agent.pid) ?? Number.NaN) / 1e6,
        rssMiB: statusKiB(agent.pid, 'VmRSS') / 1024,
        hwmMiB: statusKiB(agent.pid, 'VmHWM') / 1024,
        hits: agent.matching(/^.*binary cache \(capture thread\): hit /).length,
      };
    } finally {
      await agent.stop();
    }
  }

  const dir = join(cacheRoot, 'cache');
  try {
    await once('off'); // page cache
    const first = await once(dir); // empty cache: loads and stores
    const stored = readdirSync(join(dir, 'binaries')).map((f) => statSync(join(dir, 'binaries', f)).size);
    const off: Run[] = [];
    const on: Run[] = [];
    for (let i = 0; i < RUNS; i++) {
      if (i % 2 === 0) {
        off.push(await once('off'));
        on.push(await once(dir));
      } else {
        on.push(await once(dir));
        off.push(await once('off'));
      }
    }
    if (on.some((r) => r.hits === 0)) throw new Error('an agent with the filled cache did not start from it');
    const load1 = loadAverage();
    const med = (rs: Run[], k: keyof Run) => median(rs.map((r) => r[k]));
    const f = (x: number, unit: string) => `${x.toFixed(unit === 'ms' ? 0 : 1)} ${unit}`;
    console.log(`binary: ${binary} (${(size / 2 ** 20).toFixed(1)} MiB); ${n} agent starts`);
    console.log(
      `cache after the first agent: ${stored.length} files, ${(stored.reduce((a, b) => a + b, 0) / 2 ** 20).toFixed(1)} MiB`,
    );
    console.log(
      `first agent, empty cache (loads and stores): prepare ${first.prepareMs} ms, CPU ${first.cpuMs.toFixed(0)} ms`,
    );
    console.log(
      formatTable([
        [`median of ${RUNS}`, 'cache filled', 'cache off (anchor)', 'ratio off / cache'],
        [
          'first prepare (agent line)',
          f(med(on, 'prepareMs'), 'ms'),
          f(med(off, 'prepareMs'), 'ms'),
          ratio(med(off, 'prepareMs'), med(on, 'prepareMs')),
        ],
        [
          'agent CPU, start to snapshot',
          f(med(on, 'cpuMs'), 'ms'),
          f(med(off, 'cpuMs'), 'ms'),
          ratio(med(off, 'cpuMs'), med(on, 'cpuMs')),
        ],
        [
          'agent VmRSS after',
          f(med(on, 'rssMiB'), 'MiB'),
          f(med(off, 'rssMiB'), 'MiB'),
          ratio(med(off, 'rssMiB'), med(on, 'rssMiB')),
        ],
        [
          'agent VmHWM after',
          f(med(on, 'hwmMiB'), 'MiB'),
          f(med(off, 'hwmMiB'), 'MiB'),
          ratio(med(off, 'hwmMiB'), med(on, 'hwmMiB')),
        ],
      ]),
    );
    console.log(
      `prepares, cache: ${on.map((r) => r.prepareMs).join(' ')}; off: ${off.map((r) => r.prepareMs).join(' ')}`,
    );
    const m = describeMachine();
    console.log(`machine: ${JSON.stringify(m)}; load ${load0} -> ${load1}; ${today()}; ${CLI}`);
  } finally {
    await target.kill();
    await server.proc.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(cacheRoot, { recursive: true, force: true });
  }
}

await main();
