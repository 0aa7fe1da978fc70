/**
 * Go programs the tests and benches need besides the fixtures (Delve as an oracle, real
 * binaries with dependencies), installed with `go install pkg@version` through the module
 * proxy into .cache/tools. Pinned versions; a binary already there is reused when its build
 * info names the same package and module version. One build per tool at a time across
 * processes (a lock file holding the builder's pid); the build goes to a temporary GOBIN
 * and is renamed into place, so no one sees a half-written binary. A failed install (e.g.
 * the module proxy is unreachable) is an error, never a reason to skip.
 */
import { execFile } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { ROOT } from './go-fixtures.js';

const run = promisify(execFile);

/** Where installed tools live (gitignored). */
export const TOOLS_DIR = join(ROOT, '.cache', 'tools');

/** A Go program to install: package path, module version, and the binary name it produces. */
export interface GoTool {
  readonly pkg: string;
  readonly version: string;
  readonly binary: string;
  /**
   * Set for a module whose go.mod has replace directives, which `go install pkg@version`
   * refuses: the package is then built with `go build` inside the module's own downloaded
   * source (so its replaces apply), into `BINARY-VERSION` (its build info says "(devel)").
   */
  readonly module?: string;
}

/** Delve, the oracle for values: v1.27.2 builds with Go 1.26 and reads binaries of Go 1.22–1.26. */
export const DELVE: GoTool = { pkg: 'github.com/go-delve/delve/cmd/dlv', version: 'v1.27.2', binary: 'dlv' };

/** stringer (golang.org/x/tools): a small real binary with module dependencies. */
export const STRINGER: GoTool = {
  pkg: 'golang.org/x/tools/cmd/stringer',
  version: 'v0.52.0',
  binary: 'stringer',
};

/** gopls v0.23.0 (the last release that builds with Go 1.26), ~42 MB: the benches' large binary. */
export const GOPLS: GoTool = { pkg: 'golang.org/x/tools/gopls', version: 'v0.23.0', binary: 'gopls' };

/** A tool on disk. */
export interface InstalledTool {
  readonly path: string;
  readonly bytes: number;
  /** Whether this call built it (false: reused from .cache/tools). */
  readonly built: boolean;
  /** Wall time of the build, or of waiting for another process's build (0 when reused). */
  readonly ms: number;
}

const BUILD_TIMEOUT_MS = 30 * 60_000;
const pending = new Map<string, Promise<InstalledTool>>();

/** Returns the tool's binary in .cache/tools, running `go install pkg@version` when it is absent or stale. */
export function ensureGoTool(tool: GoTool, log: (line: string) => void = () => {}): Promise<InstalledTool> {
  const key = `${tool.pkg}@${tool.version}`;
  let p = pending.get(key);
  if (!p) {
    p = install(tool, log);
    pending.set(key, p);
    p.catch(() => pending.delete(key));
  }
  return p;
}

async function install(tool: GoTool, log: (line: string) => void): Promise<InstalledTool> {
  const path = join(TOOLS_DIR, tool.module ? `${tool.binary}-${tool.version}` : tool.binary);
  const t0 = performance.now();
  if (await isInstalled(path, tool)) return { path, bytes: statSync(path).size, built: false, ms: 0 };
  mkdirSync(TOOLS_DIR, { recursive: true });
  const lock = join(TOOLS_DIR, `${tool.binary}.lock`);
  await acquire(lock, tool, log);
  try {
    // Another process may have built it while we waited for the lock.
    if (await isInstalled(path, tool))
      return { path, bytes: statSync(path).size, built: false, ms: performance.now() - t0 };
    await build(tool, path, log);
  } finally {
    rmSync(lock, { force: true });
  }
  if (!(await isInstalled(path, tool)))
    throw new Error(
      `go install ${tool.pkg}@${tool.version} produced ${path}, but its build info does not match`,
    );
  const ms = performance.now() - t0;
  log(`built ${tool.pkg}@${tool.version} in ${(ms / 1000).toFixed(1)} s`);
  return { path, bytes: statSync(path).size, built: true, ms };
}

/** Whether `path` exists and its build info (`go version -m`) names the tool's package and module version. */
async function isInstalled(path: string, tool: GoTool): Promise<boolean> {
  if (!existsSync(path)) return false;
  try {
    const { stdout } = await run('go', ['version', '-m', path], { maxBuffer: 16 << 20 });
    const pkg = /^\tpath\t(\S+)$/m.exec(stdout)?.[1];
    const version = /^\tmod\t\S+\t(\S+)/m.exec(stdout)?.[1];
    // A module build's version is in its file name (renamed into place only when complete).
    return pkg === tool.pkg && (tool.module !== undefined || version === tool.version);
  } catch {
    return false;
  }
}

async function build(tool: GoTool, path: string, log: (line: string) => void): Promise<void> {
  const gobin = mkdtempSync(join(TOOLS_DIR, `.install-${tool.binary}-`));
  try {
    log(`building ${tool.pkg}@${tool.version} through the module proxy (a minute or more)...`);
    const env = {
      ...process.env,
      GOBIN: gobin,
      // The machine's Go, and no C compiler needed: the same binary on every machine.
      GOTOOLCHAIN: 'local',
      CGO_ENABLED: '0',
      GOFLAGS: '-buildvcs=false',
    };
    const options = { cwd: TOOLS_DIR, env, maxBuffer: 64 << 20, timeout: BUILD_TIMEOUT_MS };
    if (tool.module) {
      const { stdout } = await run(
        'go',
        ['mod', 'download', '-json', `${tool.module}@${tool.version}`],
        options,
      );
      const dir = (JSON.parse(stdout) as { Dir: string }).Dir;
      const rel = `.${tool.pkg.slice(tool.module.length)}`;
      await run('go', ['build', '-trimpath', '-o', join(gobin, tool.binary), rel], { ...options, cwd: dir });
    } else await run('go', ['install', `${tool.pkg}@${tool.version}`], options);
    renameSync(join(gobin, tool.binary), path);
  } catch (e) {
    const err = e as Error & { stderr?: string };
    const proxy = process.env.GOPROXY || 'https://proxy.golang.org (default)';
    throw new Error(
      `could not install ${tool.pkg}@${tool.version} (the tests need it; is the Go module proxy ${proxy} reachable?): ` +
        (err.stderr || err.message).trim(),
    );
  } finally {
    rmSync(gobin, { recursive: true, force: true });
  }
}

/** Takes the lock file (created exclusively, holding our pid); waits while a live process holds it. */
async function acquire(lock: string, tool: GoTool, log: (line: string) => void): Promise<void> {
  const deadline = Date.now() + BUILD_TIMEOUT_MS;
  let told = false;
  for (;;) {
    try {
      const fd = openSync(lock, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = Number(readText(lock));
    if (holder > 0 ? !alive(holder) : ageMs(lock) > 10_000) {
      rmSync(lock, { force: true }); // its builder died: take over
      continue;
    }
    if (Date.now() > deadline)
      throw new Error(`gave up waiting for process ${holder} to build ${tool.pkg} (lock ${lock})`);
    if (!told) log(`waiting for process ${holder} building ${tool.pkg}@${tool.version}...`);
    told = true;
    await sleep(500);
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
