/**
 * Benchmark: how long the `periscope` command takes to start and answer, as a script runs it.
 * Each command is a fresh process timed from spawn to exit, N runs in rounds (every command
 * once per round, the order rotating), median and p90. Beside Periscope, in the same rounds:
 * the floor of starting Node (`node -e 0`), the DuckDB command-line client on an export of
 * the same snapshot, and `psql` on the same goroutines loaded into a PostgreSQL server of its
 * own (started here from the machine's PostgreSQL binaries, on a Unix socket), and each
 * client's start-up alone (`--version`).
 *
 * The store: 3 snapshots of a synthetic process (--goroutines each, 10 frames) with the
 * synthetic spec set (its function tables, plus the built-in spec's). Local queries read
 * that directory; `--server` queries go to a server (in this process) over a copy of it.
 *
 * The DuckDB CLI is installed on first use under .cache/tools (PyPI's duckdb-cli, the same
 * DuckDB release as @duckdb/node-api); PostgreSQL's client and server come from Debian
 * (postgresql); a missing anchor is reported and left out.
 *
 * Each is timed by wall clock and by CPU time (GNU time, package `time`).
 *
 * Usage: npx tsc -p . && node dist/bench/cli-latency.js [--runs N] [--goroutines N] [--cli PATH]
 *   [--before PATH]
 * (--cli: the bin/periscope.js to time; --before: another checkout's bin/periscope.js, e.g. a
 * build of main, timed in the same rounds for --help and the two local queries.)
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../src/server/server.js';
import { DB_FILE } from '../src/store/data-dir.js';
import { DuckDBStore } from '../src/store/duckdb-store.js';
import { ROOT } from '../support/go-fixtures.js';
import { describeMachine, loadAverage, today } from '../support/machine.js';
import { startPostgres } from '../support/postgres-server.js';
import { median, quantile, ratio } from '../support/stats.js';
import { SYNTHETIC_SPEC, syntheticSnapshot } from '../support/synthetic-snapshot.js';
import { formatTable, ms } from '../support/table.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}
const RUNS = Number(arg('runs') ?? 15);
const GOROUTINES = Number(arg('goroutines') ?? 2000);
const CLI = arg('cli') ?? join(ROOT, 'bin', 'periscope.js');
const BEFORE = arg('before');
const ONE_ROW = 'SELECT goroutine_id, status FROM goroutines ORDER BY goroutine_id LIMIT 1';
const ONE_ROW_RAW =
  'SELECT goroutine_id, status FROM raw.goroutines WHERE snapshot_id = 3 ORDER BY goroutine_id LIMIT 1';
const SPEC_ROW = 'SELECT goroutine_id, path FROM handle ORDER BY goroutine_id LIMIT 1';
const DUCKDB_CLI_VERSION = '1.5.6';

/** A command to time; `expect` must be in its stdout. */
interface Case {
  readonly name: string;
  readonly cmd: string;
  readonly args: readonly string[];
  readonly expect: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

/** Wall time from spawn to exit, and the CPU time (user + system) of the process and its threads. */
interface Sample {
  readonly wall: number;
  readonly cpu: number;
}

// CPU time comes from GNU time (`-o FILE`): a machine shared with other work stretches wall
// time, much less the CPU a command uses.
const GNU_TIME = '/usr/bin/time';

function timeOnce(c: Case, cpuFile: string): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(GNU_TIME, ['-f', '%U %S', '-o', cpuFile, c.cmd, ...c.args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: c.env ?? process.env,
      cwd: c.cwd ?? process.cwd(),
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const wall = performance.now() - t0;
      if (code !== 0 || !out.includes(c.expect))
        reject(
          new Error(`${c.name}: exit ${code}, stdout ${JSON.stringify(out.slice(0, 300))}, stderr ${err}`),
        );
      else {
        const [user, sys] = readFileSync(cpuFile, 'utf8').trim().split(/\s+/).map(Number);
        resolve({ wall, cpu: ((user ?? 0) + (sys ?? 0)) * 1000 });
      }
    });
  });
}

/** The DuckDB CLI binary (installed from PyPI under .cache/tools on first use), or why there is none. */
function duckdbCli(): string | { missing: string } {
  const dir = join(ROOT, '.cache', 'tools', `duckdb-cli-${DUCKDB_CLI_VERSION}`);
  const bin = join(dir, 'duckdb_cli', 'duckdb');
  if (existsSync(bin)) return bin;
  try {
    console.log(`installing the DuckDB CLI ${DUCKDB_CLI_VERSION} (PyPI duckdb-cli) into ${dir}`);
    execFileSync(
      'python3',
      ['-m', 'pip', 'install', '--quiet', '--target', dir, `duckdb-cli==${DUCKDB_CLI_VERSION}`],
      {
        stdio: 'inherit',
      },
    );
    return bin;
  } catch (e) {
    return { missing: `pip install duckdb-cli failed: ${(e as Error).message.split('\n')[0]}` };
  }
}

/** psql's arguments to reach a server of ours over its Unix socket in `dir`. */
function psqlOverSocket(dir: string, port: number): string[] {
  return ['-h', dir, '-p', String(port), '-U', 'postgres', '-X', '-q', '-d', 'postgres'];
}

const PG_TYPE: Record<string, string> = {
  BIGINT: 'bigint',
  INTEGER: 'integer',
  BOOLEAN: 'boolean',
  DOUBLE: 'double precision',
  'TIMESTAMP WITH TIME ZONE': 'timestamptz',
};

async function main(): Promise<void> {
  // A bare `tsc` does not bundle @duckdb/node-api (`npm run build` does): the CLI would load the
  // package's eighty files instead, and the figures would not be those users get.
  const bundle = join(ROOT, 'dist', 'vendor', 'duckdb-node-api.cjs');
  if (!arg('cli') && !existsSync(bundle)) {
    console.log('bundling @duckdb/node-api as npm run build does (scripts/bundle-duckdb-api.js)');
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'bundle-duckdb-api.js')], { stdio: 'inherit' });
  }
  const machine = describeMachine();
  console.log(
    `cli-latency: ${RUNS} runs; ${machine.short}; Node ${machine.node}; load ${loadAverage()}; ${today()}`,
  );
  const root = mkdtempSync(join(tmpdir(), 'periscope-bench-cli-'));
  chmodSync(root, 0o755);
  const local = join(root, 'local');
  const served = join(root, 'served');
  const exported = join(root, 'export.duckdb');
  const csv = join(root, 'goroutines.csv');
  let pgCreate = '';
  {
    const store = await DuckDBStore.open(local);
    await store.setSpec(SYNTHETIC_SPEC, 'bench', 'synthetic.yaml');
    for (let i = 0; i < 3; i++)
      await store.addSnapshot({
        processes: [{ hostname: 'bench', snapshot: syntheticSnapshot(GOROUTINES, 10) }],
        specText: SYNTHETIC_SPEC,
      });
    await store.exportSnapshot(3, 'duckdb', exported);
    const cols = await store.query('DESCRIBE goroutines', { latest: true });
    pgCreate = `CREATE TABLE goroutines (${cols.rows.map((r) => `"${String(r[0])}" ${PG_TYPE[String(r[1])] ?? 'text'}`).join(', ')})`;
    await store.close();
  }
  mkdirSync(served);
  copyFileSync(join(local, DB_FILE), join(served, DB_FILE));
  const { DuckDBInstance } = await import('../src/store/duckdb-api.js');
  {
    const db = await DuckDBInstance.create(exported);
    const conn = await db.connect();
    await conn.run(`COPY goroutines TO '${csv}' (HEADER, FORMAT csv)`);
    conn.closeSync();
    db.closeSync();
  }
  chmodSync(csv, 0o644);
  const server = await startServer({ dataDir: served, port: 0 });
  const token = server.firstTokens?.admin ?? '';

  const node = process.execPath;
  const cases: Case[] = [
    { name: 'node -e 0 (the floor)', cmd: node, args: ['-e', '0'], expect: '' },
    { name: 'periscope --help', cmd: node, args: [CLI, '--help'], expect: 'Usage: periscope' },
    {
      name: 'periscope query, one row of goroutines (local store)',
      cmd: node,
      args: [CLI, 'query', '--data', local, ONE_ROW],
      expect: '(1 row)',
    },
    {
      name: 'periscope query, one row of a spec table (local store)',
      cmd: node,
      args: [CLI, 'query', '--data', local, SPEC_ROW],
      expect: '(1 row)',
    },
    {
      name: 'periscope query --server, one row of goroutines',
      cmd: node,
      args: [CLI, 'query', '--server', server.url, '--token', token, ONE_ROW],
      expect: '(1 row)',
    },
  ];
  cases.push({
    name: 'npx periscope --help (npm finds the local bin first)',
    cmd: 'npx',
    args: ['--no-install', 'periscope', '--help'],
    expect: 'Usage: periscope',
    cwd: ROOT,
  });
  if (BEFORE !== undefined)
    for (const c of cases.slice(1, 4))
      cases.push({ ...c, name: `before: ${c.name}`, args: [BEFORE, ...c.args.slice(1)] });
  // The floor of a Node CLI over DuckDB: Node, @duckdb/node-api (required, as duckdb-api.ts
  // does), the store opened read-only, the same query over the raw table of snapshot 3.
  const floorScript =
    "const { DuckDBInstance } = require('@duckdb/node-api');" +
    '(async () => { const db = await DuckDBInstance.create(process.argv[1], { access_mode: "READ_ONLY" });' +
    'const c = await db.connect(); const r = await c.runAndReadAll(process.argv[2]);' +
    'console.log(JSON.stringify(r.getRowsJS(), (k, v) => (typeof v === "bigint" ? Number(v) : v))); })();';
  cases.push({
    name: 'node -e: @duckdb/node-api opens the store, same query (floor of a Node CLI)',
    cmd: node,
    args: ['-e', floorScript, join(local, DB_FILE), ONE_ROW_RAW],
    expect: '[[',
    cwd: ROOT,
  });
  const notes: string[] = [];
  const duck = duckdbCli();
  if (typeof duck === 'string') {
    cases.push({ name: 'duckdb --version', cmd: duck, args: ['--version'], expect: 'v' });
    cases.push({
      name: 'duckdb -readonly EXPORT -c (same query, the export of snapshot 3)',
      cmd: duck,
      args: ['-readonly', exported, '-c', ONE_ROW],
      expect: 'goroutine_id',
    });
  } else notes.push(`DuckDB CLI not measured: ${duck.missing}`);
  let pg: ReturnType<typeof startPostgres>;
  const pgDir = join(root, 'pg');
  try {
    pg = startPostgres(pgDir, 5999);
  } catch (e) {
    pg = { missing: `PostgreSQL did not start: ${(e as Error).message.split('\n')[0]}` };
  }
  if ('psql' in pg) {
    const psqlArgs = psqlOverSocket(pgDir, pg.port);
    execFileSync('psql', [...psqlArgs, '-c', pgCreate]);
    execFileSync('psql', [...psqlArgs, '-c', `\\copy goroutines FROM '${csv}' CSV HEADER`]);
    cases.push({ name: 'psql --version', cmd: 'psql', args: ['--version'], expect: 'psql' });
    cases.push({
      name: 'psql -c (same query, same goroutines, PostgreSQL on a Unix socket)',
      cmd: 'psql',
      args: [...psqlArgs, '-c', ONE_ROW],
      expect: 'goroutine_id',
    });
  } else notes.push(`psql query not measured: ${pg.missing}`);

  if (!existsSync(GNU_TIME)) throw new Error(`${GNU_TIME} is missing (apt-get install time)`);
  const cpuFile = join(root, 'cpu.txt');
  const samples = new Map<string, Sample[]>(cases.map((c) => [c.name, []]));
  try {
    for (const c of cases) await timeOnce(c, cpuFile); // warm the page cache
    for (let r = 0; r < RUNS; r++) {
      for (let i = 0; i < cases.length; i++) {
        const c = cases[(i + r) % cases.length]!;
        samples.get(c.name)!.push(await timeOnce(c, cpuFile));
      }
    }
  } finally {
    await server.close();
    if ('stop' in pg) pg.stop();
    rmSync(root, { recursive: true, force: true });
  }
  const wall = (name: string) => samples.get(name)!.map((x) => x.wall);
  const cpu = (name: string) => samples.get(name)!.map((x) => x.cpu);
  const floor = median(wall(cases[0]!.name));
  const rows = [['command', 'wall median', 'p90', 'min', 'above the floor', 'CPU median']];
  for (const c of cases) {
    const s = wall(c.name);
    rows.push([
      c.name,
      ms(median(s)),
      ms(quantile(s, 0.9)),
      ms(Math.min(...s)),
      ms(median(s) - floor),
      ms(median(cpu(c.name))),
    ]);
  }
  console.log(formatTable(rows));
  // Ratios of medians, wall (CPU).
  const both = (a: string, b: string) =>
    `${ratio(median(wall(a)), median(wall(b)))} (CPU ${ratio(median(cpu(a)), median(cpu(b)))})`;
  for (const c of cases.slice(5)) {
    if (c.name.startsWith('before: ')) console.log(`ratio ${c.name} / now: ${both(c.name, c.name.slice(8))}`);
    else if (c.cmd === 'npx')
      console.log(`ratio ${c.name} / periscope --help: ${both(c.name, cases[1]!.name)}`);
    else console.log(`ratio ${c.name} / periscope query (local): ${both(c.name, cases[2]!.name)}`);
  }
  for (const n of notes) console.log(`note: ${n}`);
  console.log(`load after: ${loadAverage()}`);
}

await main();
