/**
 * Grafana's PostgreSQL driver, pgx, replayed: `testdata/pgxgrafana` (built with pgx/v5 from
 * the Go module proxy) runs steps as Grafana's data source does (pool, Ping, Exec over the
 * simple protocol, values decoded by OID) and reports what Grafana would get.
 */
import { execFile } from 'node:child_process';
import { buildFixture } from './go-fixtures.js';

/** One step: a query, or the health check when `sql` is empty. */
export interface PgxStep {
  readonly name: string;
  readonly sql: string;
}

/** One result of a query: fields (name, OID, pgx's type name), decoded rows, command tag. */
export interface PgxResult {
  readonly fields: { readonly name: string; readonly oid: number; readonly type: string }[];
  readonly rows: unknown[][];
  readonly tag: string;
}

/** What a step got: its results, or its error (SQLSTATE and message). */
export interface PgxOutcome {
  readonly name: string;
  readonly results: PgxResult[];
  readonly error?: { readonly code: string; readonly message: string };
}

/** Runs the steps through pgx against a connection string and returns what each got. */
export async function pgxReplay(conn: string, steps: readonly PgxStep[]): Promise<PgxOutcome[]> {
  const bin = await buildFixture('pgxgrafana');
  return new Promise((resolve, reject) => {
    const child = execFile(
      bin.path,
      [conn],
      { timeout: 120_000, maxBuffer: 256 << 20 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`pgxgrafana failed: ${err.message}\n${stderr}`));
        else resolve(JSON.parse(stdout) as PgxOutcome[]);
      },
    );
    child.stdin?.end(JSON.stringify(steps));
  });
}
