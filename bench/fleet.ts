/**
 * Benchmark: one fleet snapshot of N fixture processes (testdata/exprs: parked, not spinning)
 * behind K real `periscope agent`s on this machine (each with --match on its share) and a real
 * `periscope server`: time from the request to the stored snapshot (client wall and the
 * server's `durationMs`), the capture skew (the server's `captureSkewMs`: latest minus earliest
 * capture start) and the per-process pause distribution (`processes.pause_ns`).
 *
 * The anchor, in the same run: the same N processes snapshotted one after another in this
 * process with snapshotProcess (what a loop of `periscope snapshot --pid` does, without the
 * Node start-up of each command), with the same built-in spec the agents use, then stored as
 * one snapshot in a DuckDB store; its "skew" is the spread from the first capture start to
 * the last. The first round of each side is cold (binaries loaded) and reported apart.
 *
 * Usage: npx tsc -p . && node dist/bench/fleet.js [--procs 50] [--agents 5] [--reps 5]
 */
import { rmSync } from 'node:fs';
import { ApiClient } from '../src/cli/api-client.js';
import type { ProcessSnapshot } from '../src/snapshot/snapshot-types.js';
import { snapshotProcess } from '../src/snapshot/take-snapshot.js';
import { effectiveSpec } from '../src/spec/effective-spec.js';
import { EMPTY_SPEC } from '../src/spec/spec-types.js';
import { DuckDBStore } from '../src/store/duckdb-store.js';
import { type Distribution, distribution, formatDistribution } from '../support/distribution.js';
import {
  createToken,
  fleetTag,
  type Proc,
  type ServerProc,
  startAgentProc,
  startServerProc,
  startTagged,
  tempDir,
  waitForFleet,
} from '../support/fleet.js';
import { buildFixture } from '../support/go-fixtures.js';
import { describeMachine, loadAverage, today } from '../support/machine.js';
import { PRODUCT_PAUSE_CAP_ARGS } from '../support/pause-cap.js';
import { median, ratio } from '../support/stats.js';
import { formatTable } from '../support/table.js';
import type { Target } from '../support/target.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}
const PROCS = arg('procs', 50);
const AGENTS = arg('agents', 5);
const REPS = arg('reps', 5);

/** One round of either side. */
interface Round {
  /** Request to stored, ms. */
  readonly totalMs: number;
  /** Capture start spread (first to last), ms. */
  readonly skewMs: number;
  /** Per-process pauses, ns. */
  readonly pausesNs: readonly number[];
  /** Fleet only: the server's own request-to-stored figure, ms. */
  readonly serverMs?: number;
  /** Fleet only: the slowest agent's prepare, and its prepare-to-last-capture time, ms (from its log). */
  readonly agentPrepareMs?: number;
  readonly agentDoneMs?: number;
  readonly failed: number;
}

const fmtMs = (x: number): string => (x >= 100 ? `${Math.round(x)} ms` : `${x.toFixed(1)} ms`);
const fmtPause = (ns: number): string => `${(ns / 1e6).toFixed(2)} ms`;

const PREPARED = /request \S+: prepared \d+ of \d+ processes in (\d+) ms/;
const CAPTURED =
  /request \S+: captured \d+ processes, \d+ errors, longest pause \S+ ms, (\d+) ms since prepare/;

/** The slowest agent's figure from the log line each agent writes per request (after `since`). */
async function agentFigure(agents: readonly Proc[], re: RegExp, since: number): Promise<number> {
  const lines = await Promise.all(agents.map((a) => a.waitFor(re, 5000, since)));
  return Math.max(...lines.map((l) => Number(re.exec(l.text)![1])));
}

async function fleetRound(client: ApiClient, agents: readonly Proc[], rep: number): Promise<Round> {
  const t0 = performance.now();
  const r = await client.snapshot({ all: true, labels: { bench: 'fleet', rep: String(rep) } });
  const totalMs = performance.now() - t0;
  const q = await client.query('SELECT pause_ns FROM processes WHERE error IS NULL', {
    snapshot: r.snapshotId,
  });
  const failed = r.processes.filter((p) => !p.ok);
  for (const p of failed.slice(0, 3))
    console.log(`  fleet round ${rep}: ${p.key} ${p.error?.kind}: ${p.error?.message}`);
  return {
    totalMs,
    serverMs: r.durationMs,
    agentPrepareMs: await agentFigure(agents, PREPARED, t0),
    agentDoneMs: await agentFigure(agents, CAPTURED, t0),
    skewMs: r.captureSkewMs,
    pausesNs: q.rows.map((row) => Number(row[0])),
    failed: failed.length,
  };
}

async function anchorRound(pids: readonly number[], dataDir: string): Promise<Round> {
  const spec = effectiveSpec(EMPTY_SPEC);
  const store = await DuckDBStore.open(dataDir);
  try {
    const t0 = performance.now();
    const starts: number[] = [];
    const snaps: ProcessSnapshot[] = [];
    for (const pid of pids) {
      starts.push(Date.now());
      snaps.push(snapshotProcess(pid, { spec }));
    }
    await store.addSnapshot({
      processes: snaps.map((snapshot) => ({ hostname: 'local', snapshot })),
      specText: '',
      labels: { bench: 'anchor' },
    });
    return {
      totalMs: performance.now() - t0,
      skewMs: starts.at(-1)! - starts[0]!,
      pausesNs: snaps.map((s) => s.pauseNs),
      failed: 0,
    };
  } finally {
    await store.close();
  }
}

function summary(rounds: readonly Round[], pick: (r: Round) => number): string {
  const xs = rounds.map(pick);
  return `${fmtMs(median(xs))} (${fmtMs(Math.min(...xs))}–${fmtMs(Math.max(...xs))})`;
}

async function main(): Promise<void> {
  const machine = describeMachine();
  console.log(
    `fleet snapshot: ${PROCS} processes of testdata/exprs behind ${AGENTS} agents, ${REPS} warm rounds`,
  );
  console.log(
    `machine: ${machine.short}; Node ${machine.node}, ${machine.go}; load ${machine.load}; ${today()}`,
  );
  const exprs = await buildFixture('exprs');
  const tag = fleetTag();
  const dataDir = tempDir('periscope-bench-fleet-');
  const anchorDir = tempDir('periscope-bench-anchor-');
  const hosts = Array.from({ length: AGENTS }, (_, i) => `bench-${i}`);
  const targets: Target[] = [];
  const agents: Proc[] = [];
  let server: ServerProc | undefined;
  try {
    const userToken = await createToken(dataDir, 'user', 'bench');
    const agentToken = await createToken(dataDir, 'agent', 'bench-agents');
    server = await startServerProc(dataDir);
    for (const h of hosts)
      agents.push(startAgentProc(server.url, agentToken, h, tag, PRODUCT_PAUSE_CAP_ARGS));
    const want: Record<string, number[]> = Object.fromEntries(hosts.map((h) => [h, []]));
    const t0 = performance.now();
    for (let i = 0; i < PROCS; i += 10) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(10, PROCS - i) }, (_, j) =>
          startTagged(exprs.path, [], tag, hosts[(i + j) % AGENTS]!),
        ),
      );
      batch.forEach((t, j) => {
        targets.push(t);
        want[hosts[(i + j) % AGENTS]!]!.push(t.pid);
      });
    }
    await waitForFleet(server.url, userToken, want, 120_000);
    console.log(
      `${PROCS} processes started and reported by ${AGENTS} agents in ${fmtMs(performance.now() - t0)}`,
    );
    const pids = targets.map((t) => t.pid);
    const client = new ApiClient({ server: server.url, token: userToken });

    const fleet: Round[] = [];
    for (let rep = 0; rep <= REPS; rep++) {
      fleet.push(await fleetRound(client, agents, rep));
      console.log(
        `  fleet  round ${rep}${rep === 0 ? ' (cold)' : '       '}: ${fmtMs(fleet.at(-1)!.totalMs)} ` +
          `(server ${fmtMs(fleet.at(-1)!.serverMs!)}), skew ${fmtMs(fleet.at(-1)!.skewMs)}, failed ${fleet.at(-1)!.failed}`,
      );
    }
    const anchor: Round[] = [];
    for (let rep = 0; rep <= REPS; rep++) {
      anchor.push(await anchorRound(pids, anchorDir));
      console.log(
        `  anchor round ${rep}${rep === 0 ? ' (cold)' : '       '}: ${fmtMs(anchor.at(-1)!.totalMs)}, ` +
          `spread ${fmtMs(anchor.at(-1)!.skewMs)}`,
      );
    }
    const [fCold, ...fWarm] = fleet;
    const [aCold, ...aWarm] = anchor;
    const fPause: Distribution = distribution(fWarm.flatMap((r) => r.pausesNs));
    const aPause: Distribution = distribution(aWarm.flatMap((r) => r.pausesNs));
    const medTotal = (rs: Round[]) => median(rs.map((r) => r.totalMs));
    const medSkew = (rs: Round[]) => median(rs.map((r) => r.skewMs));
    console.log('');
    console.log(
      formatTable([
        ['figure', `fleet (server + ${AGENTS} agents)`, 'anchor (sequential, in-process)', 'anchor/fleet'],
        [
          `request -> stored, median of ${REPS} (min-max)`,
          summary(fWarm, (r) => r.totalMs),
          summary(aWarm, (r) => r.totalMs),
          ratio(medTotal(aWarm), medTotal(fWarm)),
        ],
        ["  same, the server's durationMs", summary(fWarm, (r) => r.serverMs ?? 0), '', ''],
        ['  of which: prepare (slowest agent)', summary(fWarm, (r) => r.agentPrepareMs ?? 0), '', ''],
        [
          '  of which: prepare -> last capture sent (slowest agent)',
          summary(fWarm, (r) => r.agentDoneMs ?? 0),
          '',
          '',
        ],
        [
          'first (cold) round',
          fmtMs(fCold!.totalMs),
          fmtMs(aCold!.totalMs),
          ratio(aCold!.totalMs, fCold!.totalMs),
        ],
        [
          `capture skew, first -> last start, median of ${REPS} (min-max)`,
          summary(fWarm, (r) => r.skewMs),
          summary(aWarm, (r) => r.skewMs),
          ratio(medSkew(aWarm), medSkew(fWarm)),
        ],
        [
          `pause per process, min / median / p90 / max (${fPause.n} pauses)`,
          formatDistribution(fPause, fmtPause),
          formatDistribution(aPause, fmtPause),
          ratio(aPause.median, fPause.median),
        ],
        ['failed processes (all rounds)', String(fleet.reduce((n, r) => n + r.failed, 0)), '0', ''],
      ]),
    );
    console.log(`load at the end: ${loadAverage()}`);
  } finally {
    for (const a of agents) await a.stop();
    for (const t of targets) await t.kill();
    await server?.proc.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(anchorDir, { recursive: true, force: true });
  }
}

await main();
