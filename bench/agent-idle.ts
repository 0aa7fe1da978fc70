/**
 * Benchmark: the CPU an idle agent uses against the number of processes on the machine.
 *
 * For each N, brings the machine to N processes by starting idle non-Go ones (`sleep`; none
 * when it already has N or more, and the count printed is the real one), optionally with --go
 * G Go processes (testdata/exprs) among them, half of which the agents report (`--match`) and
 * half not. Then
 * runs, side by side over the same window:
 *   - a real `periscope agent` connected to a real `periscope server` (default discovery),
 *   - the same agent with PERISCOPE_PROC_EVENTS=0 (polling /proc, the fallback),
 *   - the agent's discovery alone in a Node process (both ways), to tell discovery's cost
 *     from the rest of the agent (connection, heartbeats, capture thread),
 *   - the anchor: a bare `node -e 'setInterval(() => {}, 250)'`, the floor of an idle Node
 *     process that wakes four times a second,
 *   - with --baseline DIR, the agent of another build (a checkout of main, built: DIR/bin/periscope.js)
 *     beside this one, for a before/after in the same window.
 * CPU time is the sum of every thread's schedstat (ns) over the window, after a warm-up
 * that excludes start-up; printed as % of one core. Also prints what one plain scan of
 * /proc costs here (readdir + every /proc/PID/stat), the work a polling design repeats.
 *
 * Usage: npx tsc -p . && node dist/bench/agent-idle.js [--procs 70,500] [--seconds 30] [--warmup 15] [--go 0] [--baseline DIR]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CLI,
  createToken,
  fleetTag,
  Proc,
  type ServerProc,
  sleep,
  startServerProc,
  tempDir,
} from '../support/fleet.js';
import { buildFixture, ROOT } from '../support/go-fixtures.js';
import { describeMachine, loadAverage, today } from '../support/machine.js';
import { procCpuNs } from '../support/proc.js';
import { median, ratio } from '../support/stats.js';
import { formatTable } from '../support/table.js';
import { startTarget, type Target } from '../support/target.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
}
const COUNTS = arg('procs', '70,500').split(',').map(Number);
const SECONDS = Number(arg('seconds', '30'));
const GO = Number(arg('go', '0'));
/** Start-up (JIT compilation of the hot paths, the first passes) is over well before this. */
const WARMUP_MS = Number(arg('warmup', '15')) * 1000;

const TAG_VAR = 'BENCH_AGENT';
const BASELINE = arg('baseline', '');

/** A measured process: a name, and how to stop it. */
interface Measured {
  readonly name: string;
  readonly pid: number;
  stop(): Promise<unknown>;
}

function spawnProc(name: string, args: readonly string[], env: Record<string, string>): Proc {
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PERISCOPE_TOKEN: '', PERISCOPE_SERVER: '', ...env },
  });
  return new Proc(name, child);
}

function startAgent(
  server: ServerProc,
  token: string,
  tag: string,
  name: string,
  env: Record<string, string>,
  cli = CLI,
) {
  const args = [cli, 'agent', '--server', server.url, '--hostname', name, '--id', `${name}-${tag}`];
  args.push('--env-allow', TAG_VAR, '--match', `env.${TAG_VAR}=^${tag}$`);
  return spawnProc(name, args, { PERISCOPE_TOKEN: token, ...env });
}

/** Processes on the machine now (numeric entries of /proc). */
function machineProcesses(): number {
  return readdirSync('/proc').filter((n) => n.charCodeAt(0) >= 48 && n.charCodeAt(0) <= 57).length;
}

/** One plain scan of /proc as a polling design makes it: the directory and every process's stat. */
function scanOnce(): number {
  let n = 0;
  for (const name of readdirSync('/proc')) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    try {
      n += readFileSync(`/proc/${name}/stat`, 'latin1').length;
    } catch {
      // Exited meanwhile.
    }
  }
  return n;
}

function scanCostMs(): number {
  const xs: number[] = [];
  for (let i = 0; i < 21; i++) {
    const t0 = performance.now();
    scanOnce();
    xs.push(performance.now() - t0);
  }
  return median(xs);
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

const pct = (ns: number, ms: number): string => `${((ns / 1e6 / ms) * 100).toFixed(3)}%`;

interface Row {
  readonly n: number;
  readonly machine: string;
  readonly scanMs: number;
  readonly cpuNs: Map<string, number>;
  readonly windowMs: number;
  /** How discovery alone worked (events or polling), and the machine's process activity it saw in the window. */
  readonly mode: string;
  readonly activity: string;
}

type Stats = Record<'execEvents' | 'exitEvents' | 'binariesRead', number> & { mode: string };

/** The two counter lines the discovery child printed on SIGUSR2 since `since`. */
async function statsLines(p: Proc, since: number): Promise<[Stats, Stats]> {
  const deadline = performance.now() + 5000;
  for (;;) {
    const lines = p.matching(/^\{/, since);
    if (lines.length >= 2) return [JSON.parse(lines[0]!.text), JSON.parse(lines[1]!.text)] as [Stats, Stats];
    if (performance.now() > deadline) throw new Error(`no counters from ${p.name}: ${p.tail()}`);
    await sleep(20);
  }
}

async function measure(
  n: number,
  server: ServerProc,
  token: string,
  tag: string,
  goPath?: string,
): Promise<Row> {
  const sleepers: ChildProcess[] = [];
  const targets: Target[] = [];
  const measured: Measured[] = [];
  try {
    const goCount = GO;
    // Five (six) measured processes join below; each Go fixture runs under an `sh`.
    const missing = n - machineProcesses() - (BASELINE ? 6 : 5) - goCount * 2;
    for (let i = 0; i < missing; i++) {
      sleepers.push(spawn('sleep', ['86400'], { stdio: 'ignore' }));
    }
    for (let i = 0; i < goCount; i++) {
      const env = i % 2 === 0 ? { [TAG_VAR]: tag } : { [TAG_VAR]: `${tag}-unmatched` };
      targets.push(await startTarget(goPath!, [], env));
    }
    const agents = [
      startAgent(server, token, tag, `idle-events-${n}`, {}),
      startAgent(server, token, tag, `idle-polling-${n}`, { PERISCOPE_PROC_EVENTS: '0' }),
    ];
    if (BASELINE)
      agents.push(
        startAgent(server, token, tag, `idle-baseline-${n}`, {}, join(BASELINE, 'bin', 'periscope.js')),
      );
    const child = join(ROOT, 'dist', 'support', 'discovery-child.js');
    const discoveries = [
      spawnProc('discovery-events', [child, 'events'], {}),
      spawnProc('discovery-polling', [child, 'polling'], {}),
    ];
    const floor = spawn(process.execPath, ['-e', 'setInterval(() => {}, 250)'], { stdio: 'ignore' });
    measured.push(
      { name: 'agent', pid: agents[0]!.pid, stop: () => agents[0]!.stop() },
      { name: 'agent, polling', pid: agents[1]!.pid, stop: () => agents[1]!.stop() },
      { name: 'discovery', pid: discoveries[0]!.pid, stop: () => discoveries[0]!.stop() },
      { name: 'discovery, polling', pid: discoveries[1]!.pid, stop: () => discoveries[1]!.stop() },
      { name: 'anchor: idle node', pid: floor.pid ?? 0, stop: () => stopChild(floor) },
    );
    if (agents[2])
      measured.push({ name: 'agent, baseline', pid: agents[2].pid, stop: () => agents[2]!.stop() });
    const reported = Math.ceil(goCount / 2);
    await Promise.all(
      agents.map((a) => a.waitFor(new RegExp(`monitoring ${reported} Go processes`), 60_000)),
    );
    await Promise.all(discoveries.map((d) => d.waitFor(/^ready/, 30_000)));
    await sleep(WARMUP_MS);
    const statsAt = performance.now();
    discoveries[0]!.signal('SIGUSR2');
    const before = measured.map((m) => procCpuNs(m.pid) ?? NaN);
    const procsAtStart = machineProcesses();
    const t0 = performance.now();
    await sleep(SECONDS * 1000);
    const after = measured.map((m) => procCpuNs(m.pid) ?? NaN);
    const windowMs = performance.now() - t0;
    discoveries[0]!.signal('SIGUSR2');
    const [s0, s1] = await statsLines(discoveries[0]!, statsAt);
    const procsAtEnd = machineProcesses();
    const cpuNs = new Map(measured.map((m, i) => [m.name, after[i]! - before[i]!]));
    for (const a of agents) if (a.exited()) throw new Error(`${a.name} exited: ${a.tail()}`);
    return {
      n,
      machine: procsAtStart === procsAtEnd ? `${procsAtStart}` : `${procsAtStart}–${procsAtEnd}`,
      scanMs: scanCostMs(),
      cpuNs,
      windowMs,
      mode: String(s1.mode),
      activity: `${s1.execEvents - s0.execEvents} execs, ${s1.exitEvents - s0.exitEvents} exits, ${s1.binariesRead - s0.binariesRead} Go binaries read`,
    };
  } finally {
    await Promise.all(measured.map((m) => m.stop()));
    await Promise.all([...sleepers.map(stopChild), ...targets.map((t) => t.kill())]);
  }
}

async function main(): Promise<void> {
  const machine = describeMachine();
  console.log(
    `idle agent CPU: machine brought to ${COUNTS.join(', ')} processes${GO ? ` (${GO} of them Go, half reported)` : ''}, ` +
      `${SECONDS} s windows after ${WARMUP_MS / 1000} s of warm-up`,
  );
  console.log(
    `machine: ${machine.short}; Node ${machine.node}, ${machine.go}; load ${machine.load}; ${today()}`,
  );
  const goPath = GO > 0 ? (await buildFixture('exprs')).path : undefined;
  const dataDir = tempDir('periscope-bench-idle-');
  const token = await createToken(dataDir, 'agent', 'bench-idle');
  const server = await startServerProc(dataDir);
  const tag = fleetTag();
  const rows: Row[] = [];
  try {
    for (const n of COUNTS) {
      const row = await measure(n, server, token, tag, goPath);
      rows.push(row);
      const parts = [...row.cpuNs].map(([k, v]) => `${k} ${pct(v, row.windowMs)}`);
      console.log(`  N=${n} (${row.machine} processes on the machine): ${parts.join(', ')}`);
      console.log(`    discovery alone: ${row.mode}; in the window the machine had ${row.activity}`);
    }
  } finally {
    await server.proc.stop();
  }
  console.log('');
  const names = [...rows[0]!.cpuNs.keys()];
  const table: string[][] = [['N', 'processes on the machine', ...names, 'anchor / agent', 'one /proc scan']];
  for (const r of rows) {
    const anchor = r.cpuNs.get('anchor: idle node')!;
    table.push([
      String(r.n),
      r.machine,
      ...names.map((k) => pct(r.cpuNs.get(k)!, r.windowMs)),
      ratio(anchor, r.cpuNs.get('agent')!),
      `${r.scanMs.toFixed(2)} ms`,
    ]);
  }
  console.log(formatTable(table));
  console.log(`% of one core over ${SECONDS} s; load ${loadAverage()} at the end`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
