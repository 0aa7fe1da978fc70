/**
 * Where the embedded store keeps its data: `--data DIR`, else $PERISCOPE_DATA, else
 * $XDG_DATA_HOME/periscope, else ~/.local/share/periscope. The directory holds one DuckDB file.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** The DuckDB file inside a data directory. */
export const DB_FILE = 'periscope.duckdb';

/** The data directory to use, from the flag, the environment or the default. */
export function resolveDataDir(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return resolve(flag);
  if (env.PERISCOPE_DATA) return resolve(env.PERISCOPE_DATA);
  const base = env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(base, 'periscope');
}
