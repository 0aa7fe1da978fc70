/**
 * Test support for the store: fresh data directories, real snapshots of fixture processes
 * (through snapshotProcess, as `periscope snapshot` takes them) and the CLI.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ProcessSnapshot } from '../../src/snapshot/snapshot-types.js';
import { snapshotProcess } from '../../src/snapshot/take-snapshot.js';
import { effectiveSpecOfText } from '../../src/spec/effective-spec.js';
import { DuckDBStore } from '../../src/store/duckdb-store.js';
import type { Cell, QueryResult, SnapshotInput } from '../../src/store/store.js';
import { buildFixture, ROOT } from '../../support/go-fixtures.js';
import { TEST_PAUSE_CAP_MS, withTestPauseCap } from '../../support/pause-cap.js';
import { startTarget, type Target } from '../../support/target.js';

const run = promisify(execFile);
const CLI = join(ROOT, 'bin', 'periscope.js');

/** A new, empty data directory. */
export function freshDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'periscope-store-'));
}

/** Starts a fixture and waits until it printed its ready line. */
export async function startFixture(name: string): Promise<Target> {
  const { path } = await buildFixture(name);
  return startTarget(path, [], {}, /^ready/);
}

/** Snapshots a running process with a spec (YAML text), without the built-in entries. */
export function takeSnapshot(pid: number, specText = ''): ProcessSnapshot {
  return snapshotProcess(pid, {
    pauseCapMs: TEST_PAUSE_CAP_MS,
    spec: effectiveSpecOfText(specText, 'test spec', { defaults: false }),
  });
}

/** The input that stores one process snapshot taken on this host. */
export function inputOf(
  s: ProcessSnapshot,
  specText = '',
  labels: Record<string, string> = {},
): SnapshotInput {
  return { processes: [{ hostname: hostname(), snapshot: s }], specText, labels };
}

/** Opens a store for writing. */
export function openStore(dir: string): Promise<DuckDBStore> {
  return DuckDBStore.open(dir);
}

/** A query result's rows as objects by column name. */
export function objects(r: QueryResult): Record<string, Cell>[] {
  return r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c.name, row[i] ?? null])));
}

/** Runs the periscope CLI; never throws. */
export async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...withTestPauseCap(args)], {
      timeout: 120_000,
      maxBuffer: 1 << 26,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout: string; stderr: string };
    return { code: err.code ?? -1, stdout: err.stdout, stderr: err.stderr };
  }
}
