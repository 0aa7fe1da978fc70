/**
 * Test support for the fleet: the real `periscope server` and `periscope agent` started from
 * bin/periscope.js as child processes, the CLI run once per call, and fixture processes
 * tagged so that each agent (through `--match env.FLEET_AGENT=…`) sees exactly its share,
 * and nothing another test on this machine runs.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { deriveAgentId, readMachineIdentity } from '../src/agent/agent-id.js';
import { ROOT } from './go-fixtures.js';
import { TEST_PAUSE_CAP_ARGS, withTestPauseCap } from './pause-cap.js';
import { startTarget, type Target } from './target.js';

/** The CLI entry point. */
export const CLI = join(ROOT, 'bin', 'periscope.js');

/** The environment variable fixtures carry so that only their agent reports them. */
export const TAG_VAR = 'FLEET_AGENT';

/** What one CLI run printed. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `periscope ARGS` to completion (PERISCOPE_TOKEN/SERVER cleared unless given in env). */
export function cli(args: readonly string[], env: Record<string, string> = {}, timeoutMs = 90_000) {
  return new Promise<CliResult>((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...withTestPauseCap(args)],
      {
        timeout: timeoutMs,
        maxBuffer: 64 << 20,
        env: { ...process.env, PERISCOPE_TOKEN: '', PERISCOPE_SERVER: '', ...env },
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/**
 * Runs the CLI and parses its stdout as JSON; throws with its stderr when it exits with another
 * code than `code` (0; `periscope snapshot` exits 3 when only some processes were captured).
 */
export async function cliJson<T>(
  args: readonly string[],
  env: Record<string, string> = {},
  code = 0,
): Promise<T> {
  const r = await cli(args, env);
  if (r.code !== code) throw new Error(`periscope ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** One output line of a long-running process and when it arrived (performance.now()). */
export interface Line {
  readonly t: number;
  readonly text: string;
}

/** A long-running periscope process (server or agent) with its output lines. */
export class Proc {
  readonly lines: Line[] = [];
  private readonly waiters = new Set<() => void>();
  private done = false;
  private readonly exitP: Promise<number | string>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    this.exitP = new Promise((resolve) =>
      child.once('exit', (code, sig) => {
        this.done = true;
        for (const w of this.waiters) w();
        resolve(code ?? `${sig}`);
      }),
    );
    const onLine = (text: string): void => {
      this.lines.push({ t: performance.now(), text });
      for (const w of this.waiters) w();
    };
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', onLine);
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (s) =>
      onLine(`stderr: ${s}`),
    );
  }

  /** The process id. */
  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** Whether it has exited. */
  exited(): boolean {
    return this.done;
  }

  /** Resolves with its exit code (or signal name). */
  exitStatus(): Promise<number | string> {
    return this.exitP;
  }

  /** Resolves with the first line at or after `since` matching `re`; rejects after `ms` or on exit. */
  waitFor(re: RegExp, ms = 10_000, since = 0): Promise<Line> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const hit = this.lines.find((l) => l.t >= since && re.test(l.text));
        if (hit) finish(() => resolve(hit));
        else if (this.done)
          finish(() => reject(new Error(`${this.name} exited before printing ${re}: ${this.tail()}`)));
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`${this.name}: no ${re} within ${ms} ms: ${this.tail()}`))),
        ms,
      );
      const finish = (f: () => void): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        f();
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Lines matching `re` (at or after `since`). */
  matching(re: RegExp, since = 0): Line[] {
    return this.lines.filter((l) => l.t >= since && re.test(l.text));
  }

  /** Sends a signal (ignored when it has exited). */
  signal(sig: NodeJS.Signals): void {
    if (!this.done) this.child.kill(sig);
  }

  /** SIGTERM (or `sig`), then SIGKILL after `graceMs`; resolves when it has exited. */
  async stop(sig: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<number | string> {
    if (!this.done) {
      this.child.kill('SIGCONT'); // a stopped process cannot act on SIGTERM
      this.child.kill(sig);
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      await this.exitP;
      clearTimeout(timer);
    }
    return this.exitP;
  }

  /** The last lines, for failure messages. */
  tail(n = 12): string {
    return JSON.stringify(this.lines.slice(-n).map((l) => l.text));
  }
}

function spawnPeriscope(name: string, args: readonly string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PERISCOPE_TOKEN: '', PERISCOPE_SERVER: '', ...env },
  });
  return new Proc(name, child);
}

/** A running `periscope server` and its base URL. */
export interface ServerProc {
  readonly proc: Proc;
  readonly url: string;
  readonly port: number;
}

/** Starts `periscope server --listen LISTEN --data DIR ARGS` (with ENV added) and waits for its URL. */
export async function startServerProc(
  dataDir: string,
  listen = '127.0.0.1:0',
  args: readonly string[] = [],
  env: Record<string, string> = {},
): Promise<ServerProc> {
  const proc = spawnPeriscope('server', ['server', '--listen', listen, '--data', dataDir, ...args], env);
  const line = await proc.waitFor(/listening on (\S+)/, 30_000);
  const url = /listening on (\S+)/.exec(line.text)![1]!;
  return { proc, url, port: Number(new URL(url).port) };
}

/** A unique tag for this test run (fixtures and agents of other runs never match it). */
export function fleetTag(): string {
  return `fleet${process.pid}x${randomBytes(3).toString('hex')}`;
}

/** The environment a fixture needs to be reported by the agent of `host`. */
export function tagEnv(tag: string, host: string): Record<string, string> {
  return { [TAG_VAR]: `${tag}:${host}` };
}

/** The id an agent started with `--hostname host` and no `--id` takes on this machine. */
export function agentIdOf(host: string): string {
  return deriveAgentId(host, readMachineIdentity()).id;
}

/**
 * Starts `periscope agent` for `host` (its --hostname; its id is the default, agentIdOf(host)),
 * reporting only fixtures started with tagEnv(tag, share): by default its own, `host`. The
 * token goes in the environment, as docs/agent.md advises. Its pause cap is TEST_PAUSE_CAP_MS
 * unless `args` sets --pause-cap-ms; its binary cache on disk is off unless `args` sets --cache-dir.
 */
export function startAgentProc(
  serverUrl: string,
  token: string,
  host: string,
  tag: string,
  args: readonly string[] = [],
  share = host,
): Proc {
  return spawnPeriscope(
    `agent ${host}${share === host ? '' : ` (${share})`}`,
    [
      'agent',
      '--server',
      serverUrl,
      '--hostname',
      host,
      '--env-allow',
      TAG_VAR,
      '--match',
      `env.${TAG_VAR}=^${tag}:${share}$`,
      '--interval',
      '0.5',
      // Not a test of the pause cap unless it sets its own (support/pause-cap.ts).
      ...(args.includes('--pause-cap-ms') ? [] : TEST_PAUSE_CAP_ARGS),
      // Not a test of the binary cache on disk unless it sets its own: as root the default is
      // /var/cache/periscope, shared by every test run on the machine (test/agent/binary-disk-cache.test.ts).
      ...(args.includes('--cache-dir') ? [] : ['--cache-dir', 'off']),
      ...args,
    ],
    { PERISCOPE_TOKEN: token },
  );
}

/** Starts a fixture reported by the agent of `host` (ready within `readyMs`). */
export function startTagged(
  path: string,
  args: string[],
  tag: string,
  host: string,
  extraEnv: Record<string, string> = {},
  readyMs?: number,
): Promise<Target> {
  return startTarget(path, args, { ...tagEnv(tag, host), ...extraEnv }, /^ready/, readyMs);
}

/** A fresh temp directory. */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Creates a token with the CLI on a data directory and returns its secret. */
export function createToken(dataDir: string, role: 'agent' | 'user' | 'admin', name: string) {
  return tokenCreate(['--data', dataDir], role, name);
}

/** Creates a token with the CLI in a scaled-out store (`--store URL`, no server needed) and returns its secret. */
export function createStoreToken(storeUrl: string, role: 'agent' | 'user' | 'admin', name: string) {
  return tokenCreate(['--store', storeUrl], role, name);
}

async function tokenCreate(where: readonly string[], role: 'agent' | 'user' | 'admin', name: string) {
  const t = await cliJson<{ token: string; role: string }>([
    'token',
    'create',
    '--role',
    role,
    '--name',
    name,
    ...where,
    '--json',
  ]);
  if (t.role !== role) throw new Error(`token create gave role ${t.role}, not ${role}`);
  return t.token;
}

/** A process as `periscope processes --json` lists it. */
export interface ListedProcess {
  readonly key: string;
  readonly agentId: string;
  readonly hostname: string;
  readonly pid: number;
}

/** An agent as `periscope agents --json` lists it. */
export interface ListedAgent {
  readonly id: string;
  readonly hostname: string;
  readonly state: 'connected' | 'unresponsive' | 'refused' | 'disconnected';
  readonly connected: boolean;
  readonly lastSeen: string;
  readonly processes: number;
  readonly instance?: string;
  readonly unresponsiveSince?: string;
  readonly refusal?: string;
  readonly attempts?: number;
}

/** Polls `periscope processes --json` until each host reports exactly the given pids. */
export async function waitForFleet(
  url: string,
  token: string,
  want: Readonly<Record<string, readonly number[]>>,
  ms = 30_000,
): Promise<ListedProcess[]> {
  const end = Date.now() + ms;
  const wanted = JSON.stringify(
    Object.entries(want)
      .map(([h, pids]) => [h, [...pids].sort((a, b) => a - b)] as const)
      .sort(),
  );
  let last = '';
  for (;;) {
    const r = await cli(['processes', '--server', url, '--json'], { PERISCOPE_TOKEN: token });
    if (r.code === 0) {
      const list = JSON.parse(r.stdout) as ListedProcess[];
      const by: Record<string, number[]> = {};
      for (const p of list) by[p.hostname] = [...(by[p.hostname] ?? []), p.pid];
      last = JSON.stringify(
        Object.entries(by)
          .map(([h, pids]) => [h, pids.sort((a, b) => a - b)] as const)
          .sort(),
      );
      if (last === wanted) return list;
    } else last = r.stderr;
    if (Date.now() > end) throw new Error(`the fleet never became ${wanted}; last: ${last}`);
    await sleep(250);
  }
}

/** Waits `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The scheduler state of a process (`/proc/PID/stat` field 3: S, R, t, T, Z, …), or 'gone'. */
export function procState(pid: number): string {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return text.slice(text.lastIndexOf(')') + 2).split(' ')[0] ?? '?';
  } catch {
    return 'gone';
  }
}

/** Waits until a killed process has finished exiting (gone, or a zombie); its threads take a moment. */
export async function exited(pid: number, ms = 5000): Promise<string> {
  const deadline = performance.now() + ms;
  let state = procState(pid);
  while (!/^(gone|Z|X)$/.test(state) && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
    state = procState(pid);
  }
  return state;
}

/** A process result of a fleet snapshot, as `periscope snapshot --server … --json` prints it. */
export interface FleetProcessResult {
  readonly key: string;
  readonly agentId: string;
  readonly hostname: string;
  readonly pid: number;
  readonly ok: boolean;
  readonly error?: { readonly kind: string; readonly message: string };
  readonly startedAt?: string;
  readonly pauseNs?: number;
  readonly goroutines?: number;
  readonly captureErrors?: number;
}

/** `periscope snapshot --server … --json` output. */
export interface FleetSnapshot {
  readonly snapshotId: number;
  readonly captureSkewMs: number;
  readonly durationMs: number;
  readonly labels: Record<string, string>;
  readonly processes: readonly FleetProcessResult[];
}
