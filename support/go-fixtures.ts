/**
 * Builds the Go fixture programs under testdata/ with the machine's Go or an older
 * toolchain (GOTOOLCHAIN=goX.Y.Z through the module proxy), cached by content hash.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Repository root (tests run from dist/test/..., sources are read from the checkout). */
export const ROOT = resolve(import.meta.dirname, '..', '..');
export const TESTDATA = join(ROOT, 'testdata');
const CACHE = join(ROOT, '.cache', 'fixtures');

/** The Go releases the tests build fixtures with; 'local' is the machine's own Go. */
export const GO_TOOLCHAINS = ['local', 'go1.22.12', 'go1.23.12', 'go1.24.13', 'go1.25.9'] as const;
export type Toolchain = (typeof GO_TOOLCHAINS)[number] | string;

export interface BuildOptions {
  toolchain?: Toolchain;
  /** Extra `go build` flags, e.g. ['-ldflags=-s -w'] or ['-gcflags=all=-N -l']. */
  flags?: string[];
  /** Extra environment, e.g. { CGO_ENABLED: '1' }. */
  env?: Record<string, string>;
}

export interface BuiltFixture {
  path: string;
  toolchain: string;
  goVersion: string;
}

function hashDir(h: ReturnType<typeof createHash>, dir: string): void {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) hashDir(h, p);
    else {
      h.update(p.slice(TESTDATA.length));
      h.update(readFileSync(p));
    }
  }
}

/** Names the fixture module dir holding a program: testdata/<name> with its own go.mod, or the shared one. */
function moduleDirFor(program: string): string {
  const own = join(TESTDATA, program);
  return existsSync(join(own, 'go.mod')) ? own : TESTDATA;
}

const pending = new Map<string, Promise<BuiltFixture>>();

/** Builds testdata/<program> (once per content hash, toolchain and flags) and returns the binary. */
export function buildFixture(program: string, opts: BuildOptions = {}): Promise<BuiltFixture> {
  const toolchain = opts.toolchain ?? 'local';
  const flags = opts.flags ?? [];
  const modDir = moduleDirFor(program);
  const h = createHash('sha256');
  h.update(JSON.stringify({ toolchain, flags, env: opts.env ?? {} }));
  hashDir(h, join(TESTDATA, program));
  for (const f of ['go.mod', 'go.sum']) {
    const p = join(modDir, f);
    if (existsSync(p)) h.update(readFileSync(p));
  }
  const key = `${program}-${toolchain}-${h.digest('hex').slice(0, 16)}`;
  let p = pending.get(key);
  if (!p) {
    p = doBuild(program, modDir, key, toolchain, flags, opts.env ?? {});
    pending.set(key, p);
  }
  return p;
}

async function doBuild(
  program: string,
  modDir: string,
  key: string,
  toolchain: string,
  flags: string[],
  env: Record<string, string>,
): Promise<BuiltFixture> {
  const dir = join(CACHE, key);
  const out = join(dir, program.replace(/\//g, '_'));
  const goEnv = { ...process.env, GOTOOLCHAIN: toolchain, GOFLAGS: '-buildvcs=false', ...env };
  if (!existsSync(out)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${out}.tmp${process.pid}`;
    const pkg = modDir === TESTDATA ? `./${program}` : '.';
    await run('go', ['build', ...flags, '-o', tmp, pkg], { cwd: modDir, env: goEnv, maxBuffer: 16 << 20 });
    renameSync(tmp, out);
  }
  const { stdout } = await run('go', ['env', 'GOVERSION'], { cwd: modDir, env: goEnv });
  return { path: out, toolchain, goVersion: stdout.trim() };
}

const availability = new Map<string, Promise<string | undefined>>();

/**
 * Whether a toolchain can be had (the machine's, or fetched through the module proxy);
 * resolves to the reason when it cannot, so the caller can skip visibly.
 */
export function toolchainUnavailable(toolchain: Toolchain): Promise<string | undefined> {
  let p = availability.get(toolchain);
  if (!p) {
    p = run('go', ['version'], {
      cwd: TESTDATA,
      env: { ...process.env, GOTOOLCHAIN: toolchain },
      timeout: 600_000,
    }).then(
      () => undefined,
      (e: Error & { stderr?: string }) =>
        `Go toolchain ${toolchain} could not be fetched: ${(e.stderr || e.message).trim().split('\n').pop()}`,
    );
    availability.set(toolchain, p);
  }
  return p;
}

/** Runs a Go tool (nm, objdump, ...) of the given toolchain and returns its stdout. */
export async function goTool(toolchain: Toolchain, args: string[]): Promise<string> {
  const { stdout } = await run('go', ['tool', ...args], {
    cwd: TESTDATA,
    env: { ...process.env, GOTOOLCHAIN: toolchain },
    maxBuffer: 1 << 30,
  });
  return stdout;
}
