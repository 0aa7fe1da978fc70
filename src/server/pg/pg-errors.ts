/**
 * SQLSTATE codes for what goes wrong, so that clients can tell a refused write from a typo:
 * statements that would change the store get 25006 (read_only_sql_transaction), DuckDB's
 * parser, catalog and binder errors get PostgreSQL's codes for the same faults.
 */
import { PeriscopeError } from '../../common/errors.js';

/** An error to send: its SQLSTATE and message. */
export interface PgError {
  readonly code: string;
  readonly message: string;
}

/** A failure of a statement as an ErrorResponse's code and message. */
export function pgErrorOf(e: unknown): PgError {
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof PgFault) return { code: e.code, message };
  if (/ statements are refused: /.test(message)) return { code: '25006', message };
  if (e instanceof PeriscopeError && e.kind === 'bad-usage' && !message.startsWith('query failed'))
    return { code: '42601', message };
  if (/Parser Error/.test(message)) return { code: '42601', message };
  if (/Catalog Error: Table/.test(message)) return { code: '42P01', message };
  if (/Catalog Error: Scalar Function|Catalog Error: .*Function/.test(message))
    return { code: '42883', message };
  if (/Binder Error: .*column/i.test(message)) return { code: '42703', message };
  if (/Conversion Error|Invalid Input Error/.test(message)) return { code: '22P02', message };
  if (/Out of Memory/i.test(message)) return { code: '53200', message };
  if (/INTERRUPT|Interrupted/i.test(message)) return { code: '57014', message };
  if (/Permission Error/.test(message)) return { code: '42501', message };
  // Only the DuckDB read transaction of a REPEATABLE READ block (pg-runner.ts) is ever aborted.
  if (/Current transaction is aborted/.test(message))
    return {
      code: '40001',
      message:
        "could not keep this transaction block's view of the store: a statement failed in it after its first query, and ROLLBACK TO a savepoint does not bring that view back here; end the block (ROLLBACK) and run it again",
    };
  return { code: 'XX000', message };
}

/** An error raised by the protocol itself with its SQLSTATE. */
export class PgFault extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
