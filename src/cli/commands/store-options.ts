/**
 * Opening the store a command works on: the local store of a data directory (without creating
 * one to read it), or the scaled-out store of `--store` and `--objects`.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PeriscopeError } from '../../common/errors.js';
import { DB_FILE } from '../../store/data-dir.js';
import type { DuckDBStore } from '../../store/duckdb-store.js';
import type { SharedStore } from '../../store/shared/shared-store.js';
import type { OptionSpec, OptionValues } from '../command.js';
import { textOption } from '../options.js';
import { useSpecCacheDir } from '../spec-cache-dir.js';

/** `--store` and `--objects` of a command that can work on the scaled-out store. */
export const SCALED_OUT_OPTIONS: Record<'store' | 'objects', OptionSpec> = {
  store: {
    type: 'string',
    value: 'URL',
    help: 'work on the scaled-out store in this PostgreSQL instead of --data (postgres://…, the servers’ --store; env PERISCOPE_STORE)',
  },
  objects: {
    type: 'string',
    value: 'URL',
    help: 'with --store: its object store (file:///DIR or s3://BUCKET/PREFIX, the servers’ --objects; env PERISCOPE_OBJECTS)',
  },
};

/** Where the scaled-out store is. */
export interface ScaledOut {
  readonly store: string;
  readonly objects: string;
}

/**
 * `--store URL --objects URL` (or PERISCOPE_STORE, PERISCOPE_OBJECTS): the scaled-out store,
 * or undefined for the local one (also when --data is given and --store is not).
 */
export function scaledOutOption(values: OptionValues): ScaledOut | undefined {
  const given = textOption(values, 'store');
  if (given === undefined && textOption(values, 'data') !== undefined) return undefined;
  const store = given ?? (process.env.PERISCOPE_STORE || undefined);
  const objects = textOption(values, 'objects') ?? (process.env.PERISCOPE_OBJECTS || undefined);
  if (store === undefined) {
    if (textOption(values, 'objects') !== undefined)
      throw new PeriscopeError('bad-usage', '--objects needs --store postgres://… (the scaled-out store)');
    return undefined;
  }
  if (given !== undefined && textOption(values, 'data') !== undefined)
    throw new PeriscopeError('bad-usage', 'give --data DIR (the local store) or --store URL, not both');
  if (!/^postgres(ql)?:\/\//.test(store))
    throw new PeriscopeError(
      'bad-usage',
      '--store wants a postgres:// URL (postgres://USER:PASSWORD@HOST:PORT/DB)',
    );
  if (objects === undefined)
    throw new PeriscopeError(
      'bad-usage',
      '--store needs --objects URL (file:///DIR or s3://BUCKET/PREFIX): where the snapshot data is',
    );
  return { store, objects };
}

/**
 * Runs `fn` on the scaled-out store, opened as a server opens it with a throw-away cache
 * directory (removed after). The PostgreSQL client is imported only here.
 */
export async function withScaledOut<T>(where: ScaledOut, fn: (store: SharedStore) => Promise<T>): Promise<T> {
  useSpecCacheDir();
  const { SharedStore } = await import('../../store/shared/shared-store.js');
  const cacheDir = mkdtempSync(join(tmpdir(), 'periscope-cli-cache-'));
  try {
    const store = await SharedStore.open({ ...where, cacheDir });
    try {
      return await fn(store);
    } finally {
      await store.close();
    }
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

/** How a command uses the store: read it, write an existing one, or write one (created if missing). */
export type StoreUse = 'read' | 'update' | 'create';

/**
 * Opens the store of a data directory; 'read' and 'update' never create it. DuckDB is imported
 * here, not at load: commands that end before (usage errors, --help, --server) never load it.
 */
export async function openCliStore(dataDir: string, use: StoreUse): Promise<DuckDBStore> {
  if (use === 'update' && !existsSync(join(dataDir, DB_FILE)))
    throw new PeriscopeError(
      'not-found',
      `no store in ${dataDir} yet; take a snapshot with \`periscope snapshot --pid PID\` (or give --data DIR)`,
    );
  useSpecCacheDir();
  const { DuckDBStore } = await import('../../store/duckdb-store.js');
  return DuckDBStore.open(dataDir, { readOnly: use === 'read' });
}
