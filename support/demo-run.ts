/**
 * Runs the demo as a user does: `npm start -- --dir DIR …` from the checkout, detached into its
 * own process group (as a shell runs a foreground job), and finds every process it started by
 * the demo directory in its command line or executable path.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './go-fixtures.js';

/** What scripts/start.js writes to DIR/demo.json once the demo runs. */
export interface DemoInfo {
  readonly server: string;
  readonly userToken: string;
  readonly snapshotId: number;
  readonly pids: Record<string, number>;
}

/** One `npm start` run. */
export interface DemoRun {
  readonly dir: string;
  /** The npm process (the leader of the run's process group). */
  readonly npm: ChildProcess;
  /** Everything npm and the script printed so far (stdout and stderr). */
  readonly output: () => string;
  /** Resolves when npm has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /**
   * Resolves when npm has exited and its output pipes are closed: then every process writing
   * to them (the script too, even when npm died first) has exited and `output` is complete.
   */
  readonly closed: Promise<void>;
  readonly info: DemoInfo;
}

/** Builds the demo services once into binDir with the script's own build (scripts/demo-build.js). */
export async function buildDemoOnce(binDir: string): Promise<void> {
  const fleet = (await import(pathToFileURL(join(ROOT, 'scripts', 'demo-build.js')).href)) as {
    buildFleet: (root: string, binDir: string, opts?: { say?: (text: string) => void }) => unknown;
  };
  await fleet.buildFleet(ROOT, binDir, { say: () => {} });
}

/**
 * Copies prebuilt services into DIR/bin: `go build` then finds them up to date (same build ID)
 * and does not link them again.
 */
export function seedDemoDir(dir: string, prebuiltBin: string): void {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  for (const name of readdirSync(prebuiltBin)) copyFileSync(join(prebuiltBin, name), join(dir, 'bin', name));
}

/** Starts `npm start -- --dir DIR --port 0 …args` and resolves once it says it is running. */
export async function startDemo(dir: string, args: string[] = [], readyMs = 240_000): Promise<DemoRun> {
  const npm = spawn('npm', ['start', '--', '--dir', dir, '--port', '0', ...args], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false' },
  });
  let text = '';
  const onData = (d: Buffer): void => {
    text += d.toString();
  };
  npm.stdout?.on('data', onData);
  npm.stderr?.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    npm.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const closed = new Promise<void>((resolve) => npm.once('close', () => resolve()));
  const deadline = Date.now() + readyMs;
  for (;;) {
    if (/npm start: running/.test(text)) break;
    if (npm.exitCode !== null || npm.signalCode !== null)
      throw new Error(`npm start exited (${npm.exitCode ?? npm.signalCode}) before it was running:\n${text}`);
    if (Date.now() > deadline)
      throw new Error(`npm start was not running after ${readyMs / 1000} s:\n${text}`);
    await sleep(200);
  }
  const info = JSON.parse(readFileSync(join(dir, 'demo.json'), 'utf8')) as DemoInfo;
  return { dir, npm, output: () => text, exited, closed, info };
}

/** The pid of scripts/start.js of the run in `dir` (npm's child, or the shell's if npm runs one). */
export function scriptPid(dir: string): number | undefined {
  return demoProcesses(dir).find((pid) => {
    const argv = cmdline(pid);
    return argv.some((a) => a.endsWith('scripts/start.js')) && argv.includes(dir);
  });
}

/**
 * Every live process started for the demo in `dir`: its command line or executable names the
 * directory (npm and the script get --dir, the server --data DIR/data, the agent a match on
 * DIR/bin, the reaper DIR, the services run from DIR/bin).
 */
export function demoProcesses(dir: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const pid = Number(name);
    try {
      if (state(pid) === 'Z') continue;
      let exe = '';
      try {
        exe = readlinkSync(`/proc/${pid}/exe`);
      } catch {
        // a kernel thread, or gone
      }
      if (exe.startsWith(`${dir}/`) || cmdline(pid).some((a) => a.includes(dir))) found.push(pid);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

/** Processes of the run in `dir` that are in tracing stop (a tracer died without detaching). */
export function tracedDemoProcesses(dir: string): number[] {
  return demoProcesses(dir).filter((pid) => {
    try {
      return state(pid) === 't';
    } catch {
      return false;
    }
  });
}

/** Waits until no process of the run in `dir` is left; returns the ones still there after `ms`. */
export async function waitDemoGone(dir: string, ms: number): Promise<string[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = demoProcesses(dir);
    if (left.length === 0) return [];
    if (Date.now() > deadline) return left.map((pid) => `${pid} ${cmdline(pid).join(' ')}`);
    await sleep(200);
  }
}

/** Test cleanup: SIGKILL whatever the run in `dir` left. */
export function killDemo(dir: string): void {
  for (const pid of demoProcesses(dir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

function state(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
