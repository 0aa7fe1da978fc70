/** What the store commands share: the --data option, opening the store, parsing ids. */
import { PeriscopeError } from '../../common/errors.js';
import { resolveDataDir } from '../../store/data-dir.js';
import { DuckDBStore } from '../../store/duckdb-store.js';
import type { OptionSpec } from '../command.js';

/** The --data option of every command that uses the store. */
export const DATA_OPTION: OptionSpec = {
  type: 'string',
  value: 'DIR',
  help: 'the data directory (default $PERISCOPE_DATA, else ~/.local/share/periscope)',
};

/** Opens the store of the data directory given by --data (or the default). */
export function openCliStore(
  values: Record<string, string | boolean | undefined>,
  readOnly: boolean,
): Promise<DuckDBStore> {
  const dir = resolveDataDir(typeof values.data === 'string' ? values.data : undefined);
  return DuckDBStore.open(dir, { readOnly });
}

/** Parses a snapshot id option (a positive integer). */
export function snapshotIdOption(
  text: string | boolean | undefined,
  flag = '--snapshot',
): number | undefined {
  if (text === undefined) return undefined;
  if (typeof text !== 'string' || !/^[1-9]\d*$/.test(text))
    throw new PeriscopeError(
      'bad-usage',
      `${flag} takes a snapshot id (a positive integer), not "${String(text)}"`,
    );
  return Number(text);
}

/** Refuses positional arguments a command does not take. */
export function noPositionals(cmd: string, positionals: string[], max = 0): void {
  if (positionals.length > max)
    throw new PeriscopeError(
      'bad-usage',
      `unexpected argument "${positionals[max]}"; see \`periscope ${cmd} --help\``,
    );
}
