/**
 * `periscope snapshot --pid PID`: one process of this machine, captured here. Which spec to
 * capture with (--spec FILE, else the local store's current spec), and storing the snapshot with
 * its labels. A --spec file is a one-off: the snapshot keeps its text, and its tables show when
 * that snapshot is queried (store/spec-history.ts), while the store's spec, which every other
 * snapshot is read with, stays as it was. With --set-current the file becomes the store's next
 * spec version (author $USER) instead, checked before the pause like `periscope spec set`. A
 * function of the file that the binary lacks is refused before the pause, with the nearest names.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { PeriscopeError } from '../../common/errors.js';
import { writeJsonFile } from '../../common/json-stream.js';
import { poolReserves } from '../../proc/vm-reader.js';
import type { ProcessSnapshot } from '../../snapshot/snapshot-types.js';
import { absentFunctionMessage, absentUserFunctions } from '../../snapshot/spec-fit.js';
import { captureProcess, type PreparedProcess, prepareProcess } from '../../snapshot/take-snapshot.js';
import { type EffectiveSpec, effectiveSpec } from '../../spec/effective-spec.js';
import { parseSpec, SpecError } from '../../spec/spec-parse.js';
import { EMPTY_SPEC, type Spec } from '../../spec/spec-types.js';
import { DB_FILE } from '../../store/data-dir.js';
import { DuckDBStore } from '../../store/duckdb-store.js';
import { useBinaryDiskCache } from '../binary-cache-dir.js';
import { EXIT, ExitError } from '../command.js';
import { out, printJson } from '../output.js';
import { renderSnapshot } from './snapshot-view.js';
import { openCliStore } from './store-options.js';

/** What `periscope snapshot --pid PID` was asked to do. */
export interface LocalSnapshotOptions {
  readonly pid: number;
  readonly dataDir: string;
  readonly specFile: string | undefined;
  /** Make the --spec file the store's spec (else it is attached to this snapshot only). */
  readonly setCurrent: boolean;
  readonly defaultSpec: boolean;
  readonly noPause: boolean;
  /** The pause's hard cap, ms (default 100). */
  readonly pauseCapMs?: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly store: boolean;
  readonly json: boolean;
  readonly outFile: string | undefined;
  readonly system: boolean;
}

/** The spec to capture with and its YAML text ('' for none). */
async function snapshotSpec(o: LocalSnapshotOptions): Promise<{ spec: Spec; text: string }> {
  if (o.specFile !== undefined) {
    let text: string;
    try {
      text = await readFile(o.specFile, 'utf8');
    } catch (e) {
      throw new PeriscopeError(
        'not-found',
        `cannot read the spec ${o.specFile}: ${(e as NodeJS.ErrnoException).code}`,
      );
    }
    return { spec: parseSpec(text, o.specFile), text };
  }
  if (!existsSync(join(o.dataDir, DB_FILE))) return { spec: EMPTY_SPEC, text: '' };
  const store = await DuckDBStore.open(o.dataDir, { readOnly: true });
  try {
    const v = await store.currentSpec();
    return v
      ? { spec: parseSpec(v.yaml, `spec version ${v.version}`), text: v.yaml }
      : { spec: EMPTY_SPEC, text: '' };
  } finally {
    await store.close();
  }
}

/**
 * Before the pause: a --spec file that will become the store's next version (--set-current)
 * must build its derived tables and links over the stored data, or nothing is captured (a
 * snapshot taken and then refused by the store would be lost).
 */
async function checkSnapshotSpec(o: LocalSnapshotOptions, specText: string): Promise<void> {
  if (!o.store || !o.setCurrent || o.specFile === undefined || specText === '') return;
  const store = await DuckDBStore.open(o.dataDir, { readOnly: existsSync(join(o.dataDir, DB_FILE)) });
  try {
    if ((await store.currentSpec())?.yaml === specText) return;
    const problems = await store.checkSpec(specText, o.specFile);
    if (problems.length > 0)
      throw new SpecError(
        o.specFile,
        problems,
        `nothing was captured: ${o.specFile} would become the spec of ${o.dataDir}, and its derived tables or links do not build (fix it, store it anyway with \`periscope spec set ${o.specFile} --force\`, or snapshot with --no-store):`,
      );
  } finally {
    await store.close();
  }
}

/** Stores the snapshot; returns the line to print. */
async function storeSnapshot(
  o: LocalSnapshotOptions,
  snap: ProcessSnapshot,
  specText: string,
): Promise<string> {
  const store = await openCliStore(o.dataDir, 'create');
  try {
    const file = o.specFile;
    if (specText !== '' && file !== undefined && o.setCurrent) {
      let who = process.env.USER ?? '';
      if (who === '') who = userInfo().username;
      // Checked before the pause (checkSnapshotSpec): store the snapshot whatever changed since.
      const r = await store.setSpec(specText, who, file, { force: true });
      if (r.changed) process.stderr.write(`periscope: ${file} stored as spec version ${r.version}\n`);
    }
    const current = file === undefined ? undefined : await store.currentSpec();
    const id = await store.addSnapshot({
      processes: [{ hostname: hostname(), snapshot: snap }],
      labels: o.labels,
      specText,
    });
    if (file !== undefined && specText !== '' && current?.yaml !== specText)
      process.stderr.write(
        `periscope: ${file} captured snapshot ${id} only: its tables show when that snapshot is queried; ` +
          `the store's spec (${current ? `version ${current.version}` : 'none set'}) is unchanged ` +
          `(--set-current or \`periscope spec set ${file}\` would make it the spec of every snapshot)\n`,
      );
    return `snapshot ${id} stored in ${o.dataDir}`;
  } finally {
    await store.close();
  }
}

/** Snapshots one local process, prints it, stores it; a process not captured exits with EXIT.noneCaptured. */
export async function localSnapshot(o: LocalSnapshotOptions): Promise<number> {
  const { spec, text: specText } = await snapshotSpec(o);
  await checkSnapshotSpec(o, specText);
  // Testing aids: hold the pause (synchronously) this long; allow it at most this long.
  const hold = Number(process.env.PERISCOPE_TEST_HOLD_PAUSE_MS ?? 0);
  const maxHold = Number(process.env.PERISCOPE_TEST_MAX_HOLD_MS ?? 0);
  useBinaryDiskCache();
  // The pause copies into the memory its warm-up reserved and faulted in, as an agent's does,
  // instead of reserving afresh (PERISCOPE_POOL_RESERVE=0: afresh, for comparisons).
  if (process.env.PERISCOPE_POOL_RESERVE !== '0') poolReserves();
  const effective = effectiveSpec(spec, { defaults: o.defaultSpec });
  let plan: PreparedProcess;
  try {
    plan = prepareProcess(o.pid, effective);
  } catch (e) {
    throw new ExitError(EXIT.noneCaptured, e);
  }
  if (o.specFile !== undefined) refuseAbsentFunctions(plan, effective, o.specFile);
  let snap: ProcessSnapshot;
  try {
    snap = captureProcess(o.pid, plan, {
      spec: effective,
      noPause: o.noPause,
      ...(o.pauseCapMs !== undefined ? { pauseCapMs: o.pauseCapMs } : {}),
      ...(hold > 0 ? { holdPauseMs: hold } : {}),
      ...(maxHold > 0 ? { pause: { maxHoldMs: maxHold } } : {}),
    });
  } catch (e) {
    throw new ExitError(EXIT.noneCaptured, e);
  }
  if (o.outFile !== undefined) await writeJsonFile(o.outFile, snap);
  if (o.json) await printJson(snap);
  else out(renderSnapshot(snap, { system: o.system, specSource: spec.source }));
  if (o.store) {
    const stored = await storeSnapshot(o, snap, specText);
    if (o.json) process.stderr.write(`${stored}\n`);
    else out(stored);
  }
  return EXIT.ok;
}

/**
 * A function of the --spec FILE that this process's binary does not have is a mistake (the
 * file was given for this process): refused before the pause, with the nearest names. The
 * built-in entries a binary lacks are expected and stay silent.
 */
function refuseAbsentFunctions(plan: PreparedProcess, spec: EffectiveSpec, file: string): void {
  const absent = absentUserFunctions(plan.bin, spec, plan.functionsAbsent);
  if (absent.length === 0) return;
  throw new SpecError(
    file,
    absent.map((a) => ({
      line: a.at?.line ?? 1,
      column: a.at?.column ?? 1,
      message: absentFunctionMessage(a, 'this binary'),
    })),
    `nothing was captured: ${absent.length === 1 ? 'a function' : `${absent.length} functions`} of ${file} ${absent.length === 1 ? 'is' : 'are'} not in this binary (${plan.executable}):`,
  );
}
