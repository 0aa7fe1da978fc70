#!/usr/bin/env node
// `npm start`: the demo on the embedded defaults. Starts `periscope server` (data directory
// under .cache/demo), the demo fleet (demo/: loadgen -> gateway -> orders -> inventory, built
// with the machine's Go), stores the starter spec (demo/spec/starter.yaml), starts an agent
// on this machine, waits until it reports the demo's processes, takes a first snapshot of the
// fleet and prints the commands that answer the demo's questions.
//
// Stopping: SIGINT, SIGTERM or SIGHUP to this script stops everything it started, once each
// and in order (load first, server last; the children have their own process group, so Ctrl-C
// reaches only this script). package.json runs it as `exec node scripts/start.js`: npm forwards
// SIGINT and SIGTERM to its child, and the `sh -c` npm runs scripts with would otherwise be that
// child (dash holds a SIGINT until its child exits and dies of a SIGTERM, leaving this script
// running). If npm goes away without a word (SIGKILL, a shell that does not exec), this script
// sees its parent change and stops everything too. If this script itself is killed, the Go
// services exit when their stdin closes (-lifeline) and scripts/demo-reaper.js stops the rest.
//
//   node scripts/start.js [--dir DIR] [--port N] [--stuck-after DUR] [--stuck-for DUR]
//                         [--exit-after-snapshot]
//
// --dir (env PERISCOPE_DEMO_DIR, default .cache/demo): binaries, data directory, logs and
// demo.json (server URL, user token, pids). --port: 7070 unless taken, then a free one;
// 0 picks a free one.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildFleet } from './demo-build.js';
import { Child, startFleet } from './demo-fleet.js';
import { printNextSteps } from './demo-guide.js';

const root = resolve(import.meta.dirname, '..');
const { values: opts } = parseArgs({
  options: {
    dir: { type: 'string' },
    port: { type: 'string' },
    'stuck-after': { type: 'string', default: '3s' },
    'stuck-for': { type: 'string', default: '10m' },
    'exit-after-snapshot': { type: 'boolean', default: false },
  },
});
const dir = resolve(opts.dir ?? process.env.PERISCOPE_DEMO_DIR ?? join(root, '.cache', 'demo'));
const dataDir = join(dir, 'data');
const binDir = join(dir, 'bin');
const logDir = join(dir, 'logs');
for (const d of [dataDir, binDir, logDir]) mkdirSync(d, { recursive: true });
const cli = join(root, 'bin', 'periscope.js');
const say = (text) => console.log(`npm start: ${text}`);

if (!existsSync(join(root, 'dist', 'src', 'cli', 'main.js'))) {
  console.error('npm start: Periscope is not compiled yet; run `npm ci` (or `npm run build`) first');
  process.exit(1);
}

// The safety net: if this script dies without stopping what it started, the reaper does. It
// gets the demo directory as an argument only so that it can be told apart in `ps`.
const reaper = spawn(process.execPath, [join(root, 'scripts', 'demo-reaper.js'), dir], {
  stdio: ['pipe', 'ignore', 'ignore'],
  detached: true,
});
reaper.stdin.on('error', () => {});
/** Aborts the Go build if a stop comes while it runs. */
const build = new AbortController();
/** Everything started, stopped in reverse order (load first, server last). */
const children = [];
/** Adds a started process to `children` and tells the reaper its pid; once stopping, kills it. */
function track(c) {
  children.push(c);
  reaper.stdin.write(`${c.pid}\n`);
  if (stopping) c.stop('SIGKILL');
}
// Output may go to a pipe that closes (`npm start | head`): keep running, stop on signals only.
process.stdout.on('error', () => {});
process.stderr.on('error', () => {});
let stopping;
/** Stops every child (and a build in progress); resolves when none is left. */
function stopAll(reason) {
  if (!stopping) {
    if (reason) say(reason);
    stopping = (async () => {
      build.abort();
      const running = () => children.filter((c) => !c.done);
      for (let left = running(); left.length > 0; left = running()) {
        const fleet = left.filter((c) => c.name !== 'agent' && c.name !== 'server').reverse();
        await Promise.all(fleet.map((c) => c.stop('SIGTERM')));
        for (const name of ['agent', 'server']) await left.find((c) => c.name === name)?.stop('SIGINT', 10_000);
      }
      reaper.stdin.end('done\n');
    })();
  }
  return stopping;
}
/** Stops everything, says so and exits. */
function shutdown(reason) {
  stopAll(reason).then(() => {
    say('stopped; nothing is left running');
    process.exit(0);
  });
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'])
  process.on(sig, () => shutdown(`${sig}: stopping the demo fleet, the agent and the server`));

// npm (or whatever started this script) gone: the parent changes to init or a subreaper.
// (process.ppid is read once at start in Node 20; /proc/self/stat has the current one.)
const parentAtStart = parentPid();
const parentWatch = setInterval(() => {
  const now = parentPid();
  if (parentAtStart === undefined || now === undefined || now === parentAtStart) return;
  clearInterval(parentWatch);
  shutdown(`the process that started this script (pid ${parentAtStart}) is gone: stopping everything`);
}, 500);
parentWatch.unref();

async function main() {
  if (process.getuid?.() !== 0) {
    const scope = ptraceScope();
    say(
      'not running as root. The agent pauses processes with ptrace and reads their memory\n' +
        '  (process_vm_readv): on a fleet it runs as root, or with CAP_SYS_PTRACE and\n' +
        "  CAP_DAC_READ_SEARCH, to reach every user's processes (docs/agent.md). Here everything\n" +
        '  runs as you, so the agent needs only to trace your own processes, ' +
        (scope === undefined || scope === 0
          ? 'which this kernel allows.'
          : `which kernel.yama.ptrace_scope=${scope} forbids\n  (it allows tracing only of one's own children): snapshots will fail with PERMISSION;\n  run \`sudo npm start\` to see them.`),
    );
  }

  await buildFleet(root, binDir, { say, signal: build.signal, shownAs: rel(binDir) });

  const tokens = ensureTokens();
  const port = await choosePort(opts.port);
  const server = new Child(
    'server',
    process.execPath,
    [cli, 'server', '--listen', `127.0.0.1:${port}`, '--data', dataDir],
    {
      logDir,
    },
  );
  track(server);
  const [, url] = await server.line(/listening on (\S+)/);
  say(`server ${url} (data ${rel(dataDir)}, log ${rel(server.logPath)})`);
  const api = apiClient(url, tokens.user);

  const spec = readFileSync(join(root, 'demo', 'spec', 'starter.yaml'), 'utf8');
  // ?source: the server's errors then name demo/spec/starter.yaml:LINE:COLUMN.
  const set = await api('PUT', '/v1/spec?source=demo/spec/starter.yaml', spec, 'application/yaml');
  say(
    set.changed
      ? `stored the starter spec as version ${set.version}`
      : `starter spec unchanged (version ${set.version})`,
  );

  const fleet = await startFleet(binDir, logDir, {
    stuckAfter: opts['stuck-after'],
    stuckFor: opts['stuck-for'],
    onStart: track,
  });
  const startedAt = Date.now();
  say(
    `demo fleet: ${fleet.children.map((c) => `${c.name} (pid ${c.pid})`).join(', ')}; gateway http://${fleet.gatewayAddr}`,
  );

  const agent = new Child(
    'agent',
    process.execPath,
    [cli, 'agent', '--server', url, '--match', `executable=^${escapeRe(binDir)}/`, '--interval', '1'],
    { logDir, env: { ...process.env, PERISCOPE_TOKEN: tokens.agent } },
  );
  track(agent);
  say(`agent on ${hostname()} (pid ${agent.pid}, log ${rel(agent.logPath)})`);

  const pids = new Set(fleet.children.map((c) => c.pid));
  await waitFor(
    async () => {
      const { processes } = await api('GET', '/v1/processes');
      return processes.filter((p) => pids.has(p.pid)).length === pids.size;
    },
    30_000,
    'the agent to report the demo processes (see its log)',
  );
  say('the agent reports all four demo processes');

  // Let the load run until the stuck request has been stuck for a moment.
  const settle = goDurationMs(opts['stuck-after']) + 3000 - (Date.now() - startedAt);
  if (settle > 0) await sleep(settle);
  const snap = await api(
    'POST',
    '/v1/snapshots',
    JSON.stringify({ all: true, labels: { source: 'npm-start' } }),
  );
  const failed = snap.processes.filter((p) => !p.ok);
  say(
    `snapshot ${snap.snapshotId}: ${snap.processes.length} processes, ` +
      `${snap.processes.reduce((n, p) => n + (p.goroutines ?? 0), 0)} goroutines, ` +
      `pauses ${snap.processes
        .filter((p) => p.ok)
        .map((p) => `${(p.pauseNs / 1e6).toFixed(1)} ms`)
        .join(', ')}`,
  );
  for (const p of failed) say(`  ${p.program} (pid ${p.pid}) failed: ${p.error.kind}: ${p.error.message}`);
  if (failed.some((p) => p.error.kind === 'PERMISSION'))
    say('snapshots need ptrace rights over the demo processes: run `sudo npm start` (see docs/agent.md)');

  const info = {
    server: url,
    userToken: tokens.user,
    dataDir,
    snapshotId: snap.snapshotId,
    pids: Object.fromEntries([...children].map((c) => [c.name, c.pid])),
    gateway: `http://${fleet.gatewayAddr}`,
  };
  writeFileSync(join(dir, 'demo.json'), `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'env'), `export PERISCOPE_SERVER=${url} PERISCOPE_TOKEN=${tokens.user}\n`, {
    mode: 0o600,
  });
  printNextSteps({ url, token: tokens.user, envFile: rel(join(dir, 'env')), logDir: rel(logDir) });

  if (opts['exit-after-snapshot']) return stopAll('--exit-after-snapshot: stopping');
  say('running; Ctrl-C (or SIGTERM) stops the demo fleet, the agent and the server');
  // A child that dies on its own is reported; the rest keeps running.
  for (const c of children)
    c.exited.then(({ code, signal }) => {
      if (!stopping) say(`${c.name} exited (${signal ?? `code ${code}`}); its log: ${rel(c.logPath)}`);
    });
  setInterval(() => {}, 1 << 30);
  await new Promise(() => {});
}

/** The current parent pid (field 4 of /proc/self/stat), or undefined if unreadable. */
function parentPid() {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** kernel.yama.ptrace_scope, or undefined without Yama. */
function ptraceScope() {
  try {
    return Number(readFileSync('/proc/sys/kernel/yama/ptrace_scope', 'utf8').trim());
  } catch {
    return undefined;
  }
}

/** The agent and user tokens of the demo's data directory, created on its first start. */
function ensureTokens() {
  const file = join(dir, 'tokens.json');
  if (existsSync(file) && existsSync(join(dataDir, 'tokens.json')))
    return JSON.parse(readFileSync(file, 'utf8'));
  const create = (role) => {
    const r = spawnSync(
      process.execPath,
      [cli, 'token', 'create', '--role', role, '--name', `demo-${role}`, '--data', dataDir, '--json'],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`periscope token create --role ${role} failed: ${r.stderr}`);
    return JSON.parse(r.stdout).token;
  };
  const tokens = { agent: create('agent'), user: create('user') };
  writeFileSync(file, `${JSON.stringify(tokens)}\n`, { mode: 0o600 });
  return tokens;
}

/** `--port`, else 7070 if free, else any free port. */
async function choosePort(flag) {
  if (flag !== undefined) return Number(flag) === 0 ? freePort(0) : Number(flag);
  return (await freePort(7070).catch(() => undefined)) ?? freePort(0);
}

function freePort(port) {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(port, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => ok(p));
    });
  });
}

/** A tiny client of the server's API with the user token; throws the server's error message. */
function apiClient(url, token) {
  return async (method, path, body, type = 'application/json') => {
    const res = await fetch(url + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': type } : {}) },
      body,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text);
  };
}

async function waitFor(check, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

function goDurationMs(text) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
  if (!m) return 0;
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2]];
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const rel = (p) => (p.startsWith(`${root}/`) ? p.slice(root.length + 1) : p);

try {
  await main();
  process.exit(0);
} catch (e) {
  // A stop during the start makes the step in progress fail: that is no error to report.
  if (!stopping) console.error(`npm start: ${e instanceof Error ? e.message : e}`);
  await stopAll();
  process.exit(stopping ? 0 : 1);
}
