/**
 * What `periscope snapshot` does with the store: which spec to capture with (--spec FILE, else
 * the store's current spec), and storing the snapshot with its labels. A --spec file is a
 * one-off: the snapshot keeps its text, and its tables show when that snapshot is queried
 * (store/spec-history.ts), while the store's spec, which every other snapshot is read with,
 * stays as it was. With --set-current the file becomes the store's next spec version
 * (author $USER) instead, checked before the pause like `periscope spec set`.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { PeriscopeError } from '../../common/errors.js';
import type { ProcessSnapshot } from '../../snapshot/snapshot-types.js';
import { parseSpec, SpecError } from '../../spec/spec-parse.js';
import { EMPTY_SPEC, type Spec } from '../../spec/spec-types.js';
import { DB_FILE, resolveDataDir } from '../../store/data-dir.js';
import { DuckDBStore } from '../../store/duckdb-store.js';
import type { OptionSpec } from '../command.js';
import { DATA_OPTION } from './store-options.js';

type Values = Record<string, unknown>;

/** The options `periscope snapshot` adds for the store. */
export const SNAPSHOT_STORE_OPTIONS: Record<string, OptionSpec> = {
  label: {
    type: 'string',
    multiple: true,
    value: 'KEY=VALUE',
    help: 'a label of the stored snapshot (repeatable)',
  },
  'no-store': { type: 'boolean', help: 'do not store the snapshot (only print it)' },
  'set-current': {
    type: 'boolean',
    help: "with --spec: make FILE the store's spec, for every snapshot (checked like `periscope spec set`)",
  },
  data: DATA_OPTION,
};

/** The spec to capture with and its YAML text ('' for none). */
export async function snapshotSpec(values: Values): Promise<{ spec: Spec; text: string }> {
  if (typeof values.spec === 'string') {
    let text: string;
    try {
      text = await readFile(values.spec, 'utf8');
    } catch (e) {
      throw new PeriscopeError(
        'not-found',
        `cannot read the spec ${values.spec}: ${(e as NodeJS.ErrnoException).code}`,
      );
    }
    return { spec: parseSpec(text, values.spec), text };
  }
  const dir = resolveDataDir(typeof values.data === 'string' ? values.data : undefined);
  if (!existsSync(join(dir, DB_FILE))) return { spec: EMPTY_SPEC, text: '' };
  const store = await DuckDBStore.open(dir, { readOnly: true });
  try {
    const v = await store.currentSpec();
    return v
      ? { spec: parseSpec(v.yaml, `spec version ${v.version}`), text: v.yaml }
      : { spec: EMPTY_SPEC, text: '' };
  } finally {
    store.close();
  }
}

function labelsOf(values: Values): Record<string, string> {
  const raw = values.label === undefined ? [] : Array.isArray(values.label) ? values.label : [values.label];
  const out: Record<string, string> = {};
  for (const l of raw as string[]) {
    const eq = l.indexOf('=');
    if (eq <= 0) throw new PeriscopeError('bad-usage', `--label takes KEY=VALUE, not "${l}"`);
    out[l.slice(0, eq)] = l.slice(eq + 1);
  }
  return out;
}

/** Checks the store options before the process is paused. */
export function checkSnapshotStoreOptions(values: Values): void {
  labelsOf(values);
  if (values['set-current'] === true && typeof values.spec !== 'string')
    throw new PeriscopeError(
      'bad-usage',
      '--set-current makes the --spec FILE the store’s spec; give --spec FILE',
    );
  if (values['set-current'] === true && values['no-store'] === true)
    throw new PeriscopeError('bad-usage', '--set-current and --no-store contradict each other: choose one');
}

/**
 * Before the pause: a --spec file that will become the store's next version (--set-current)
 * must build its derived tables and links over the stored data, or nothing is captured (a
 * snapshot taken and then refused by the store would be lost).
 */
export async function checkSnapshotSpec(values: Values, specText: string): Promise<void> {
  if (values['set-current'] !== true || typeof values.spec !== 'string' || specText === '') return;
  const dir = resolveDataDir(typeof values.data === 'string' ? values.data : undefined);
  const store = await DuckDBStore.open(dir, { readOnly: existsSync(join(dir, DB_FILE)) });
  try {
    if ((await store.currentSpec())?.yaml === specText) return;
    const problems = await store.checkSpec(specText, values.spec);
    if (problems.length > 0)
      throw new SpecError(
        values.spec,
        problems,
        `nothing was captured: ${values.spec} would become the spec of ${dir}, and its derived tables or links do not build (fix it, store it anyway with \`periscope spec set ${values.spec} --force\`, or snapshot with --no-store):`,
      );
  } finally {
    store.close();
  }
}

/** Stores the snapshot unless --no-store; returns the line to print, or undefined. */
export async function storeSnapshot(
  values: Values,
  snap: ProcessSnapshot,
  specText: string,
): Promise<string | undefined> {
  if (values['no-store'] === true) return undefined;
  const dir = resolveDataDir(typeof values.data === 'string' ? values.data : undefined);
  const store = await DuckDBStore.open(dir);
  try {
    const file = typeof values.spec === 'string' ? values.spec : undefined;
    if (specText !== '' && file !== undefined && values['set-current'] === true) {
      let who = process.env.USER ?? '';
      if (who === '') who = userInfo().username;
      // Checked before the pause (checkSnapshotSpec): store the snapshot whatever changed since.
      const r = await store.setSpec(specText, who, file, { force: true });
      if (r.changed) process.stderr.write(`periscope: ${file} stored as spec version ${r.version}\n`);
    }
    const current = file === undefined ? undefined : await store.currentSpec();
    const id = await store.addSnapshot({
      processes: [{ hostname: hostname(), snapshot: snap }],
      labels: labelsOf(values),
      specText,
    });
    if (file !== undefined && specText !== '' && current?.yaml !== specText)
      process.stderr.write(
        `periscope: ${file} captured snapshot ${id} only: its tables show when that snapshot is queried; ` +
          `the store's spec (${current ? `version ${current.version}` : 'none set'}) is unchanged ` +
          `(--set-current or \`periscope spec set ${file}\` would make it the spec of every snapshot)\n`,
      );
    return `snapshot ${id} stored in ${dir}`;
  } finally {
    store.close();
  }
}
