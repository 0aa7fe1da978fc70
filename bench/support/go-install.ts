/**
 * Builds benchmark inputs with `go install` through the module proxy into .cache/bench,
 * idempotently: an existing binary is reused, a new one is written under a temporary
 * GOBIN and renamed into place, so concurrent builders never see a half-written file.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BENCH_CACHE } from './paths.js';

const run = promisify(execFile);

/** A Go program to install: its package path, version and the binary name it produces. */
export interface GoProgram {
  readonly pkg: string;
  readonly version: string;
  readonly binary: string;
}

/** A benchmark input on disk. */
export interface InstalledBinary {
  readonly path: string;
  readonly bytes: number;
  /** Whether this run built it (false: reused from .cache/bench). */
  readonly built: boolean;
}

/**
 * gopls v0.23.0: the last release that builds with Go 1.26 (v0.24.0 needs Go 1.27);
 * about 42 MB with DWARF, the "large real Go binary" of the load benchmarks.
 */
export const GOPLS: GoProgram = { pkg: 'golang.org/x/tools/gopls', version: 'v0.23.0', binary: 'gopls' };

/** Delve, the anchor debugger. */
export const DELVE: GoProgram = {
  pkg: 'github.com/go-delve/delve/cmd/dlv',
  version: 'latest',
  binary: 'dlv',
};

/** Returns the program's binary in .cache/bench, running `go install pkg@version` if it is absent. */
export async function ensureGoInstall(
  prog: GoProgram,
  log: (line: string) => void = () => {},
): Promise<InstalledBinary> {
  const path = join(BENCH_CACHE, prog.binary);
  if (existsSync(path)) return { path, bytes: statSync(path).size, built: false };
  mkdirSync(BENCH_CACHE, { recursive: true });
  const gobin = mkdtempSync(join(BENCH_CACHE, `.install-${prog.binary}-`));
  try {
    log(`building ${prog.pkg}@${prog.version} through the module proxy (a minute or more)...`);
    await run('go', ['install', `${prog.pkg}@${prog.version}`], {
      cwd: BENCH_CACHE,
      env: { ...process.env, GOBIN: gobin, GOFLAGS: '-buildvcs=false' },
      maxBuffer: 64 << 20,
      timeout: 30 * 60_000,
    });
    // Another builder may have finished first: keep theirs (rename would replace it atomically anyway).
    if (!existsSync(path)) renameSync(join(gobin, prog.binary), path);
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`go install ${prog.pkg}@${prog.version} failed: ${(err.stderr || err.message).trim()}`);
  } finally {
    rmSync(gobin, { recursive: true, force: true });
  }
  return { path, bytes: statSync(path).size, built: true };
}
