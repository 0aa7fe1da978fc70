// Builds the demo's Go services (demo/) for `npm start` (scripts/start.js), saying what takes
// the time on a first run: the module download (grpc-go and five more modules through the
// module proxy) and the first compile of grpc-go and the standard library into Go's build
// cache (about a minute on 2 cores; later builds only link, or find the binary up to date).
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The demo's services, in start order (each is given the address of the one before). */
export const SERVICES = ['inventory', 'orders', 'gateway', 'loadgen'];

/**
 * Builds demo/<service> into binDir/demo-<service> with the machine's Go; throws a clear error.
 * Says (through `say`) when modules are downloaded (each one as it arrives), when a service is
 * being compiled rather than linked, and every `everyMs` how long a slow step has run.
 * `signal` aborts a build in progress; `env` adds to the environment (GOCACHE, GOMODCACHE…);
 * `shownAs` is binDir as the messages show it.
 */
export async function buildFleet(
  root,
  binDir,
  { say = () => {}, signal, everyMs = 10_000, env: extra, shownAs = binDir } = {},
) {
  mkdirSync(binDir, { recursive: true });
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
  } catch {
    throw new Error('Go is not on PATH: the demo services are Go programs built here (Go 1.22 or newer)');
  }
  const cwd = join(root, 'demo');
  const env = { ...process.env, ...extra };
  env.GOFLAGS = `${env.GOFLAGS ?? ''} -mod=readonly`.trim();
  const started = Date.now();
  await downloadModules(cwd, env, { say, signal, everyMs });
  say(`building the demo services (demo/: ${SERVICES.join(', ')}) into ${shownAs}`);
  for (const s of SERVICES) {
    const t0 = Date.now();
    let compiled = 0;
    let told = false;
    const r = await runGo(['build', '-v', '-buildvcs=false', '-o', join(binDir, `demo-${s}`), `./${s}`], {
      cwd,
      env,
      signal,
      everyMs,
      // -v names each package as it is compiled (nothing when the build cache has them all).
      // The service's own package is compiled whenever its binary is missing: a few seconds.
      onLine: (line) => {
        compiled++;
        if (!told && !line.startsWith('periscope.demo/')) {
          told = true;
          say(
            `  ${s}: compiling (Go's build cache lacks some packages; the first build of grpc-go and the ` +
              'standard library takes a minute or two on 2 cores)',
          );
        }
      },
      onTick: () => say(`  ${s}: ${secs(Date.now() - t0)} s, ${compiled} packages compiled`),
    });
    if (r.code !== 0) throw new Error(`building demo/${s} failed:\n${r.stderr}`);
    if (told || Date.now() - t0 >= everyMs)
      say(`  ${s}: built in ${secs(Date.now() - t0)} s (${compiled} packages compiled)`);
  }
  say(`built the demo services in ${secs(Date.now() - started)} s`);
}

/**
 * Downloads the modules of the go.mod in `cwd` unless the module cache has them, naming each as
 * it arrives and saying every `everyMs` how far it is. Says nothing when they are all cached.
 */
export async function downloadModules(cwd, env, { say = () => {}, signal, everyMs = 10_000 } = {}) {
  // GOPROXY=off: succeeds at once if every module is in the cache, fails without the network.
  const cached = await runGo(['mod', 'download'], { cwd, env: { ...env, GOPROXY: 'off' }, signal });
  if (cached.code === 0) return;
  const modules = requiredModules(join(cwd, 'go.mod'));
  const t0 = Date.now();
  let done = 0;
  say(
    `downloading the demo's ${modules.length} Go modules (${modules[0]?.path} ${modules[0]?.version} and ` +
      `${modules.length - 1} more) through GOPROXY=${goEnv('GOPROXY', env)}`,
  );
  const r = await runGo(['mod', 'download', '-x'], {
    cwd,
    env,
    signal,
    everyMs,
    // -x prints "# get URL/@v/VERSION.zip: 200 OK (0.3s)" when a module's zip has arrived.
    onLine: (line) => {
      const m = /^# get (\S+)\/@v\/([^/\s]+)\.zip: 200\b/.exec(line);
      if (!m) return;
      done++;
      const mod = modules.find((x) => m[1].endsWith(`/${escapePath(x.path)}`));
      say(`  ${mod?.path ?? m[1]} ${m[2]} (${done} of ${modules.length}, ${secs(Date.now() - t0)} s)`);
    },
    onTick: () => say(`  downloading: ${done} of ${modules.length} modules, ${secs(Date.now() - t0)} s`),
  });
  if (r.code !== 0)
    throw new Error(
      `downloading the demo's Go modules failed (the module proxy must be reachable the first time):\n${r.stderr}`,
    );
  say(`Go modules downloaded in ${secs(Date.now() - t0)} s`);
}

/**
 * Runs go with `args`; calls onLine with each line of its stderr and onTick every `everyMs`.
 * Resolves with the exit code (null if killed) and the whole stderr.
 */
function runGo(args, { cwd, env, signal, everyMs, onLine = () => {}, onTick }) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Error('stopped before the build'));
    const child = spawn('go', args, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'], signal });
    let stderr = '';
    let partial = '';
    child.stderr.on('data', (d) => {
      stderr += d.toString();
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop();
      for (const line of lines) onLine(line);
    });
    const ticker = onTick ? setInterval(onTick, everyMs) : undefined;
    child.on('error', (e) => {
      clearInterval(ticker);
      reject(e.name === 'AbortError' ? new Error('stopped during the build') : e);
    });
    child.on('close', (code) => {
      clearInterval(ticker);
      if (partial) onLine(partial);
      resolve({ code, stderr });
    });
  });
}

/** The modules a go.mod requires: [{ path, version, indirect }], direct ones first. */
function requiredModules(goMod) {
  const text = readFileSync(goMod, 'utf8');
  const out = [];
  const add = (line) => {
    const m = /^\s*([^\s()]+)\s+(v\S+)/.exec(line);
    if (m) out.push({ path: m[1], version: m[2], indirect: /\/\/\s*indirect/.test(line) });
  };
  for (const block of text.matchAll(/^require\s*\(([\s\S]*?)^\)/gm)) for (const l of block[1].split('\n')) add(l);
  for (const single of text.matchAll(/^require\s+([^\s(].*)$/gm)) add(single[1]);
  return out.sort((a, b) => Number(a.indirect) - Number(b.indirect));
}

/** A module path as the module proxy protocol spells it (capitals as !lowercase). */
function escapePath(path) {
  return path.replace(/[A-Z]/g, (c) => `!${c.toLowerCase()}`);
}

function goEnv(name, env) {
  try {
    return execFileSync('go', ['env', name], { env, encoding: 'utf8' }).trim();
  } catch {
    return '?';
  }
}

const secs = (ms) => (ms / 1000).toFixed(1);
