/**
 * Benchmark of issue 18 (scale-out): a simulated fleet of A agents x P processes (default
 * 1,000 x 10) against S `periscope server`s sharing one PostgreSQL and one SeaweedFS (side
 * "scaled-out"), and against one embedded `periscope server --data DIR` with every agent (the
 * anchor). The agents are bench/replay-agents.ts: real agent connections in W worker processes
 * replaying snapshots recorded once here from real Go fixtures (testdata/exprs and linkpair,
 * built-in spec), with pid, executable and time rewritten per process.
 *
 * Per side: request -> stored of a fleet snapshot of every process (client wall and the
 * server's durationMs; the first round apart, median of the others), capture skew
 * (captureSkewMs), each server's peak RSS (VmHWM), and the latency of two queries (goroutines
 * by program; top stacks) over every stored snapshot once `--snapshots` are stored in all (the
 * fleet rounds, then snapshots of a shard of the fleet, `env.SHARD=0`: agents / shards agents;
 * `--snapshots 0`: no shard snapshots and no queries).
 *
 * Usage: npx tsc -p . && node dist/bench/scale-fleet.js [--agents 1000] [--procs-per-agent 10]
 *   [--servers 3] [--workers 4] [--reps 3] [--snapshots 100] [--shards 100] [--side both|shared|embedded]
 *   [--cpu-prof DIR] (the servers' CPU profiles, written when they stop; with it, the share of
 *   each server's busy time spent in the PostgreSQL client is printed) [--idle 10] (seconds with
 *   every agent connected and nothing asked, after the fleet snapshots: the servers' CPU then,
 *   /proc/PID/stat, is what keeping the fleet costs: heartbeats, agent lists)
 */
import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient } from '../src/cli/api-client.js';
import { encodeSnapshot } from '../src/protocol/snapshot-wire.js';
import { snapshotProcess } from '../src/snapshot/take-snapshot.js';
import { effectiveSpec } from '../src/spec/effective-spec.js';
import { EMPTY_SPEC } from '../src/spec/spec-types.js';
import { cliJson, createToken, type ServerProc, sleep, startServerProc, tempDir } from '../support/fleet.js';
import { freePort } from '../support/free-ports.js';
import { buildFixture } from '../support/go-fixtures.js';
import { describeMachine, loadAverage, today } from '../support/machine.js';
import { startPostgres } from '../support/postgres-server.js';
import { type S3Server, startS3Server } from '../support/s3-server.js';
import { median, ratio } from '../support/stats.js';
import { formatTable } from '../support/table.js';
import { startTarget } from '../support/target.js';
import { pgShares } from './cpu-profile-summary.js';
import type { ReplayConfig } from './replay-agents.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}
function textArg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
}
const AGENTS = arg('agents', 1000);
const PROCS = arg('procs-per-agent', 10);
const SERVERS = arg('servers', 3);
const WORKERS = arg('workers', 4);
const REPS = arg('reps', 3);
const SNAPSHOTS = arg('snapshots', 100);
const SHARDS = arg('shards', 100);
const SIDE = textArg('side', 'both');
const IDLE_S = arg('idle', 10);
/** A directory for the servers' CPU profiles (bench/cpu-profile-hook.ts, written when they stop), or ''. */
const PROFILE_DIR = textArg('cpu-prof', '');
const PROFILE_ENV: Record<string, string> = PROFILE_DIR
  ? {
      NODE_OPTIONS: `--import=${join(import.meta.dirname, 'cpu-profile-hook.js')}`,
      PERISCOPE_BENCH_PROFILE_DIR: PROFILE_DIR,
    }
  : {};
const TIMEOUT_MS = 900_000;

const QUERIES: readonly (readonly [string, string])[] = [
  [
    'goroutines by program',
    'SELECT p.program, count(*) AS goroutines FROM goroutines g JOIN processes p USING (snapshot_id, process_id) GROUP BY p.program ORDER BY goroutines DESC',
  ],
  [
    'top 10 stacks',
    'SELECT stack_id, top_function, count(*) AS n FROM goroutines GROUP BY stack_id, top_function ORDER BY n DESC LIMIT 10',
  ],
];

/** One fleet snapshot as the client saw it. */
interface Round {
  readonly wallMs: number;
  readonly serverMs: number;
  readonly skewMs: number;
  readonly ok: number;
  readonly failed: number;
  readonly firstError?: string;
}

/** What one side measured. */
interface SideResult {
  readonly name: string;
  readonly rounds: Round[];
  readonly fill: Round[];
  /** Per query: the slowest first run of a server (cold cache), and the median of 5 runs after, ms. */
  readonly queries: { cold: number; warm: number; rows: number }[];
  /** Peak RSS (VmHWM) of each server, KiB: after the fleet snapshots, and at the end. */
  readonly hwmAfterRounds: number[];
  readonly hwmEnd: number[];
  readonly connectMs: number;
  /** Each server's CPU (all threads) per second of the idle window, ms. */
  readonly idleCpuMs: number[];
}

const fmtMs = (x: number): string => (x >= 100 ? `${Math.round(x)} ms` : `${x.toFixed(1)} ms`);
const fmtMiB = (kib: number): string => `${Math.round(kib / 1024)} MiB`;

/** A process's CPU time so far (user + system, all threads), ms. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat (utime, stime), in clock ticks of 10 ms.
  return (Number(f[11]) + Number(f[12])) * 10;
}

function vmHwmKiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

/** Records the replay material: wire snapshots of real fixture processes, taken here with the built-in spec. */
async function record(file: string): Promise<string> {
  const spec = effectiveSpec(EMPTY_SPEC);
  const texts: string[] = [];
  const notes: string[] = [];
  for (const name of ['exprs', 'linkpair']) {
    const { path } = await buildFixture(name);
    for (let i = 0; i < 2; i++) {
      const t = await startTarget(path);
      try {
        await sleep(200);
        const s = snapshotProcess(t.pid, { spec });
        texts.push(encodeSnapshot(s));
        notes.push(`${name}: ${s.goroutines.length} goroutines, ${texts.at(-1)!.length} bytes`);
      } finally {
        await t.kill();
      }
    }
  }
  writeFileSync(file, JSON.stringify(texts));
  return notes.join('; ');
}

/** Starts the workers of simulated agents, agent i on servers[i % servers.length]; resolves when all are welcomed. */
async function startAgents(
  servers: readonly ServerProc[],
  token: string,
  material: string,
): Promise<ChildProcess[]> {
  const per = Math.ceil(AGENTS / WORKERS);
  const children: ChildProcess[] = [];
  const ready: Promise<void>[] = [];
  for (let w = 0; w < WORKERS; w++) {
    const first = w * per;
    const count = Math.min(per, AGENTS - first);
    if (count <= 0) break;
    const cfg: ReplayConfig = {
      servers: Array.from({ length: count }, (_, i) => servers[(first + i) % servers.length]!.url),
      first,
      procsPerAgent: PROCS,
      token,
      material,
      shards: SHARDS,
    };
    const child = fork(join(import.meta.dirname, 'replay-agents.js'), [], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    child.send(cfg);
    let said = 0;
    const say = (b: Buffer): void => {
      if (said++ < 20) process.stdout.write(`  [agents ${w}] ${b.toString()}`);
    };
    child.stdout!.on('data', say);
    child.stderr!.on('data', say);
    children.push(child);
    ready.push(
      new Promise((resolve, reject) => {
        child.on('message', (m: { ready?: number }) => m.ready && resolve());
        child.once('exit', (code) => reject(new Error(`agent worker ${w} exited (${code})`)));
      }),
    );
  }
  await Promise.all(ready);
  return children;
}

async function stopAgents(children: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.send({ cmd: 'stop' });
          setTimeout(() => c.kill('SIGKILL'), 5000).unref();
        }),
    ),
  );
}

/** Waits until `client`'s server lists `n` processes. */
async function waitForProcesses(client: ApiClient, n: number): Promise<void> {
  const end = Date.now() + 300_000;
  let seen = 0;
  while (Date.now() < end) {
    seen = (await client.processes()).length;
    if (seen === n) return;
    await sleep(500);
  }
  throw new Error(`the server lists ${seen} processes, not ${n}, after 5 minutes`);
}

async function snapshotRound(client: ApiClient, body: { all?: boolean; select?: string }): Promise<Round> {
  const t0 = performance.now();
  const r = await client.snapshot({ ...body, labels: { bench: 'scale-fleet' } });
  const wallMs = performance.now() - t0;
  const failed = r.processes.filter((p) => !p.ok);
  return {
    wallMs,
    serverMs: r.durationMs,
    skewMs: r.captureSkewMs,
    ok: r.processes.length - failed.length,
    failed: failed.length,
    ...(failed[0] ? { firstError: `${failed[0].error?.kind}: ${failed[0].error?.message}` } : {}),
  };
}

/** Server log lines worth showing (fleet-snapshot trouble), since `since` (performance.now()). */
const NOTABLE = /fleet snapshot|failed|error|cannot|timed? ?out|dead|stopped/i;
function showServerLines(servers: readonly ServerProc[], since: number): void {
  servers.forEach((s, i) => {
    const lines = s.proc.matching(NOTABLE, since);
    for (const l of lines.slice(0, 5)) console.log(`    server ${i}: ${l.text.slice(0, 300)}`);
    if (lines.length > 5) console.log(`    server ${i}: … ${lines.length - 5} more such lines`);
  });
}

function showRound(label: string, r: Round): void {
  console.log(
    `  ${label}: ${fmtMs(r.wallMs)} (server ${fmtMs(r.serverMs)}), skew ${fmtMs(r.skewMs)}, ` +
      `${r.ok} stored, ${r.failed} failed${r.firstError ? ` (${r.firstError.slice(0, 200)})` : ''}; load ${loadAverage()}`,
  );
}

/** Runs the load against `servers` (already started) and measures. */
async function measure(
  name: string,
  servers: readonly ServerProc[],
  agentToken: string,
  userToken: string,
  material: string,
): Promise<SideResult> {
  console.log(`${name}: ${servers.length} server(s), starting ${AGENTS} agents in ${WORKERS} workers`);
  const t0 = performance.now();
  const workers = await startAgents(servers, agentToken, material);
  const clients = servers.map((s) => new ApiClient({ server: s.url, token: userToken }));
  try {
    await waitForProcesses(clients[0]!, AGENTS * PROCS);
    const connectMs = performance.now() - t0;
    console.log(`  ${AGENTS} agents connected, ${AGENTS * PROCS} processes listed in ${fmtMs(connectMs)}`);
    const rounds: Round[] = [];
    for (let rep = 0; rep <= REPS; rep++) {
      const since = performance.now();
      rounds.push(await snapshotRound(clients[rep % clients.length]!, { all: true }));
      showRound(`fleet snapshot ${rep}${rep === 0 ? ' (first)' : ''}`, rounds.at(-1)!);
      showServerLines(servers, since);
    }
    const hwmAfterRounds = servers.map((s) => vmHwmKiB(s.proc.pid));
    // The fleet kept and nothing asked: what the servers spend on it (heartbeats, agent lists).
    const cpu0 = servers.map((s) => cpuMs(s.proc.pid));
    const i0 = performance.now();
    await sleep(IDLE_S * 1000);
    const idleS = (performance.now() - i0) / 1000;
    const idleCpuMs = servers.map((s, i) => (cpuMs(s.proc.pid) - cpu0[i]!) / idleS);
    console.log(
      `  idle ${idleS.toFixed(1)} s: servers' CPU ${idleCpuMs.map((x) => `${Math.round(x)}`).join(', ')} ms/s; load ${loadAverage()}`,
    );
    const fill: Round[] = [];
    for (let i = 0; i < SNAPSHOTS - rounds.length; i++) {
      fill.push(await snapshotRound(clients[i % clients.length]!, { select: 'env.SHARD=0' }));
      if (i % 10 === 0) showRound(`shard snapshot ${i}`, fill.at(-1)!);
    }
    const queries: SideResult['queries'] = [];
    for (const [label, sql] of SNAPSHOTS > 0 ? QUERIES : []) {
      // First on each server (a scaled-out server fetches into its own cache), then 5 more in turn.
      const times: number[] = [];
      let rows = 0;
      for (let i = 0; i < clients.length + 5; i++) {
        const q0 = performance.now();
        const r = await clients[i % clients.length]!.query(sql, { all: true });
        times.push(performance.now() - q0);
        rows = r.rows.length;
      }
      console.log(`  query ${label}: ${times.map(fmtMs).join(', ')} (${rows} rows); load ${loadAverage()}`);
      queries.push({
        cold: Math.max(...times.slice(0, clients.length)),
        warm: median(times.slice(clients.length)),
        rows,
      });
    }
    return {
      name,
      rounds,
      fill,
      queries,
      hwmAfterRounds,
      hwmEnd: servers.map((s) => vmHwmKiB(s.proc.pid)),
      connectMs,
      idleCpuMs,
    };
  } finally {
    await stopAgents(workers);
  }
}

/** What a side must stop and remove, also on SIGINT/SIGTERM (PostgreSQL and the servers outlive this process otherwise). */
const stoppers = new Set<() => Promise<void>>();
function onceStopper(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    done ??= fn().finally(() => stoppers.delete(stop));
    return done;
  };
  stoppers.add(stop);
  return stop;
}
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => {
    console.log(`${sig}: stopping the servers, PostgreSQL and SeaweedFS`);
    void Promise.allSettled([...stoppers].map((s) => s())).then(() => process.exit(130));
  });

const SERVER_ARGS = ['--capture-timeout', String(TIMEOUT_MS), '--prepare-timeout', String(TIMEOUT_MS)];

async function sharedSide(material: string): Promise<SideResult> {
  const pgDir = tempDir('periscope-bench-scale-pg-');
  const pg = startPostgres(pgDir, await freePort());
  if ('missing' in pg) throw new Error(pg.missing);
  let s3: S3Server | undefined;
  const dirs = Array.from({ length: SERVERS }, () => tempDir('periscope-bench-scale-'));
  const servers: ServerProc[] = [];
  const stop = onceStopper(async () => {
    for (const s of servers) await s.proc.stop();
    await s3?.stop();
    pg.stop();
    for (const d of [...dirs, pgDir]) rmSync(d, { recursive: true, force: true });
  });
  try {
    s3 = await startS3Server();
    const store = `postgres://postgres@127.0.0.1:${pg.port}/postgres`;
    const token = async (role: string): Promise<string> =>
      (
        await cliJson<{ token: string }>([
          'token',
          'create',
          '--role',
          role,
          '--name',
          `bench-${role}`,
          '--store',
          store,
          '--json',
        ])
      ).token;
    const agentToken = await token('agent');
    const userToken = await token('admin');
    const shared = ['--store', store, '--objects', s3.url('scale').href, ...SERVER_ARGS];
    for (const d of dirs)
      servers.push(await startServerProc(d, '127.0.0.1:0', shared, { ...s3.env, ...PROFILE_ENV }));
    return await measure(
      `scaled-out (${SERVERS} servers, PostgreSQL ${pg.version}, SeaweedFS)`,
      servers,
      agentToken,
      userToken,
      material,
    );
  } finally {
    await stop();
    if (PROFILE_DIR)
      for (const p of pgShares(PROFILE_DIR))
        console.log(
          `  ${p.file}: busy ${p.busyS.toFixed(1)} of ${p.wallS.toFixed(1)} s, PostgreSQL client ${p.pgS.toFixed(2)} s = ${((100 * p.pgS) / p.busyS).toFixed(1)}% of busy`,
        );
  }
}

async function embeddedSide(material: string): Promise<SideResult> {
  const dir = tempDir('periscope-bench-embedded-');
  let server: ServerProc | undefined;
  const stop = onceStopper(async () => {
    await server?.proc.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  try {
    const agentToken = await createToken(dir, 'agent', 'bench-agents');
    const userToken = await createToken(dir, 'admin', 'bench');
    server = await startServerProc(dir, '127.0.0.1:0', SERVER_ARGS, PROFILE_ENV);
    return await measure('embedded (1 server, --data)', [server], agentToken, userToken, material);
  } finally {
    await stop();
  }
}

function row(
  label: string,
  a: SideResult | undefined,
  b: SideResult | undefined,
  pick: (s: SideResult) => number,
  fmt: (x: number) => string,
): string[] {
  const x = a ? pick(a) : Number.NaN;
  const y = b ? pick(b) : Number.NaN;
  return [label, a ? fmt(x) : '-', b ? fmt(y) : '-', a && b ? ratio(x, y).replace(/x$/, '') : '-'];
}

function roundsSummary(rs: readonly Round[], pick: (r: Round) => number): number {
  return rs.length ? median(rs.map(pick)) : Number.NaN;
}

async function main(): Promise<void> {
  const machine = describeMachine();
  console.log(
    `scale-fleet: ${AGENTS} simulated agents x ${PROCS} processes, ${SERVERS} servers vs embedded, ${REPS} warm rounds, ${SNAPSHOTS} snapshots stored for the queries`,
  );
  console.log(`machine: ${machine.short}; Node ${machine.node}; load ${machine.load}; ${today()}`);
  const workDir = tempDir('periscope-bench-replay-');
  const material = join(workDir, 'material.json');
  const removeWork = onceStopper(async () => rmSync(workDir, { recursive: true, force: true }));
  try {
    console.log(`recorded: ${await record(material)}`);
    const shared = SIDE !== 'embedded' ? await sharedSide(material) : undefined;
    const embedded = SIDE !== 'shared' ? await embeddedSide(material) : undefined;
    const warm = (s: SideResult): Round[] => s.rounds.slice(1);
    const all = (s: SideResult): Round[] => [...s.rounds, ...s.fill];
    const fillN = shared?.fill.length ?? embedded?.fill.length ?? 0;
    console.log('');
    console.log(
      formatTable([
        ['figure', 'scaled-out', 'embedded (anchor)', 'scaled-out / embedded'],
        row('agents connected, processes listed', shared, embedded, (s) => s.connectMs, fmtMs),
        row(
          `request -> stored, ${AGENTS * PROCS} processes, client, median of ${REPS}`,
          shared,
          embedded,
          (s) => roundsSummary(warm(s), (r) => r.wallMs),
          fmtMs,
        ),
        row(
          "  same, the server's durationMs",
          shared,
          embedded,
          (s) => roundsSummary(warm(s), (r) => r.serverMs),
          fmtMs,
        ),
        row('  first round, client', shared, embedded, (s) => s.rounds[0]!.wallMs, fmtMs),
        row(
          `capture skew, median of ${REPS}`,
          shared,
          embedded,
          (s) => roundsSummary(warm(s), (r) => r.skewMs),
          fmtMs,
        ),
        ...(fillN === 0
          ? []
          : [
              row(
                `shard snapshot (${Math.ceil(AGENTS / SHARDS) * PROCS} processes), median of ${fillN}`,
                shared,
                embedded,
                (s) => roundsSummary(s.fill, (r) => r.wallMs),
                fmtMs,
              ),
            ]),
        row(
          'failed processes, all snapshots',
          shared,
          embedded,
          (s) => all(s).reduce((n, r) => n + r.failed, 0),
          String,
        ),
        row(
          'peak RSS after fleet snapshots, largest server',
          shared,
          embedded,
          (s) => Math.max(...s.hwmAfterRounds),
          fmtMiB,
        ),
        row('peak RSS at the end, largest server', shared, embedded, (s) => Math.max(...s.hwmEnd), fmtMiB),
        row(
          `CPU of a server, fleet idle ${IDLE_S} s, mean (ms per s)`,
          shared,
          embedded,
          (s) => s.idleCpuMs.reduce((a, b) => a + b, 0) / s.idleCpuMs.length,
          (x) => x.toFixed(0),
        ),
        row(
          'peak RSS at the end, all servers',
          shared,
          embedded,
          (s) => s.hwmEnd.reduce((a, b) => a + b, 0),
          fmtMiB,
        ),
        ...(SNAPSHOTS > 0 ? QUERIES : []).flatMap(([label], i) => [
          row(
            `${label}, ${SNAPSHOTS} snapshots, first (slowest server)`,
            shared,
            embedded,
            (s) => s.queries[i]!.cold,
            fmtMs,
          ),
          row(
            `${label}, ${SNAPSHOTS} snapshots, median of 5`,
            shared,
            embedded,
            (s) => s.queries[i]!.warm,
            fmtMs,
          ),
        ]),
      ]),
    );
    console.log(`machine: ${machine.short}; load at the end: ${loadAverage()}; ${today()}`);
  } finally {
    await removeWork();
  }
}

await main();
