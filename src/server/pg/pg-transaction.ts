/**
 * Transaction blocks of the PostgreSQL port, as PostgreSQL keeps them for a read-only session:
 * BEGIN / START TRANSACTION [READ ONLY | ISOLATION LEVEL …], COMMIT / END, ROLLBACK / ABORT
 * [AND [NO] CHAIN], SAVEPOINT, RELEASE [SAVEPOINT], ROLLBACK TO [SAVEPOINT], SET
 * TRANSACTION / SET SESSION CHARACTERISTICS AS TRANSACTION, and PREPARE TRANSACTION / COMMIT
 * PREPARED / ROLLBACK PREPARED (refused as PostgreSQL without prepared transactions refuses
 * them) are parsed here and change the
 * connection's block: idle ('I' in ReadyForQuery), in a block ('T'), or in a failed block ('E')
 * where every statement but one that ends the block (or rolls back to a savepoint) is refused
 * with 25P02 (a malformed one with 42601, as PostgreSQL parses before it looks at the block;
 * for statements other than transaction control, DuckDB's parser tells: pg-runner.ts).
 * Nothing is written, so there is nothing to commit or undo: what a block gives clients is its
 * portals, which live until it ends (JDBC reads a fetch-size cursor with an Execute per chunk,
 * a Sync after each), those opened after a savepoint until it is rolled back to. Read-write
 * modes are refused (25006).
 */
import { statementStart } from '../../store/read-only-sql.js';
import { PgFault } from './pg-errors.js';
import type { Isolation, IsolationLevel } from './pg-settings.js';

/** The modes a BEGIN or SET TRANSACTION gives: its ISOLATION LEVEL (the last, when several), whether it names [NOT] DEFERRABLE. */
export interface TransactionModes {
  readonly level?: IsolationLevel;
  readonly deferrable?: true;
}

/** A transaction-control statement, parsed. */
export type TransactionStatement =
  | ({ readonly kind: 'begin'; readonly tag: 'BEGIN' | 'START TRANSACTION' } & TransactionModes)
  | ({ readonly kind: 'set'; readonly session: boolean } & TransactionModes)
  | { readonly kind: 'commit' | 'rollback'; readonly chain: boolean }
  | { readonly kind: 'savepoint' | 'release' | 'rollback-to'; readonly name: string }
  | { readonly kind: 'prepare'; readonly gid: string }
  | { readonly kind: 'prepared'; readonly word: 'COMMIT' | 'ROLLBACK'; readonly gid: string };

/** What a transaction-control statement answers: its command tag, and the warning PostgreSQL gives with it. */
export interface TransactionOutcome {
  readonly tag: string;
  readonly warning?: { readonly code: string; readonly message: string };
}

/** The transaction status byte of ReadyForQuery. */
export type TransactionStatus = 'I' | 'T' | 'E';

const ABORTED = 'current transaction is aborted, commands ignored until end of transaction block';
const NO_TRANSACTION = 'there is no transaction in progress';

/** The first words of transaction-control statements. */
const LEADING = new Set([
  'BEGIN',
  'START',
  'COMMIT',
  'END',
  'ABORT',
  'ROLLBACK',
  'SAVEPOINT',
  'RELEASE',
  'SET',
  'PREPARE',
]);

/** Words, quoted identifiers, string literals and commas of a statement (its leading comments gone), without its trailing semicolon. */
function tokens(text: string): string[] {
  return [...text.replace(/;\s*$/, '').matchAll(/"(?:[^"]|"")*"|'(?:[^']|'')*'|[A-Za-z_][\w$]*|,|\S/g)].map(
    (m) => m[0],
  );
}

/** A prepared transaction's identifier: a string literal ending the statement. */
function gid(t: readonly string[], at: number): string {
  if (!t[at]?.startsWith("'")) throw syntax(t[at]);
  if (t.length > at + 1) throw syntax(t[at + 1]);
  return t[at]!.slice(1, -1).replace(/''/g, "'");
}

/** A savepoint's name as PostgreSQL keeps it: unquoted names folded to lower case. */
function identifier(t: string | undefined): string {
  if (t === undefined) throw syntax(undefined);
  if (t.startsWith('"')) return t.slice(1, -1).replace(/""/g, '"');
  if (!/^[A-Za-z_]/.test(t)) throw syntax(t);
  return t.toLowerCase();
}

function syntax(at: string | undefined): PgFault {
  return new PgFault(
    '42601',
    at === undefined ? 'syntax error at end of input' : `syntax error at or near "${at}"`,
  );
}

function readWrite(): PgFault {
  return new PgFault(
    '25006',
    'cannot set transaction read-write mode: this server is read-only (BEGIN, BEGIN READ ONLY, START TRANSACTION [ISOLATION LEVEL …] and SET TRANSACTION READ ONLY are accepted)',
  );
}

/**
 * Reads transaction modes from `t[i]` to the end (READ ONLY, ISOLATION LEVEL …, [NOT]
 * DEFERRABLE, commas between); refuses READ WRITE. The isolation level given last, if any.
 */
function modes(t: readonly string[], i: number): TransactionModes {
  const word = (k: number): string => (t[k] ?? '').toUpperCase();
  let level: IsolationLevel | undefined;
  let deferrable = false;
  while (i < t.length) {
    if (t[i] === ',') i++;
    if (word(i) === 'READ' && word(i + 1) === 'ONLY') i += 2;
    else if (word(i) === 'READ' && word(i + 1) === 'WRITE') throw readWrite();
    else if (word(i) === 'DEFERRABLE') {
      deferrable = true;
      i += 1;
    } else if (word(i) === 'NOT' && word(i + 1) === 'DEFERRABLE') {
      deferrable = true;
      i += 2;
    } else if (word(i) === 'ISOLATION' && word(i + 1) === 'LEVEL') {
      const named = `${word(i + 2)} ${word(i + 3)}`;
      if (word(i + 2) === 'SERIALIZABLE') {
        level = 'serializable';
        i += 3;
      } else if (['REPEATABLE READ', 'READ COMMITTED', 'READ UNCOMMITTED'].includes(named)) {
        level = named.toLowerCase() as IsolationLevel;
        i += 4;
      } else throw syntax(t[i + 2]);
    } else throw syntax(t[i]);
  }
  return { ...(level ? { level } : {}), ...(deferrable ? { deferrable } : {}) };
}

/** Skips an optional WORK or TRANSACTION at `t[i]`. */
function noise(t: readonly string[], i: number): number {
  return /^(work|transaction)$/i.test(t[i] ?? '') ? i + 1 : i;
}

/** Reads an optional AND [NO] CHAIN at `t[i]`, which must end the statement; whether it chains. */
function chain(t: readonly string[], i: number): boolean {
  const w = t.slice(i).map((x) => x.toUpperCase());
  if (w.length === 0) return false;
  if (w.join(' ') === 'AND CHAIN') return true;
  if (w.join(' ') === 'AND NO CHAIN') return false;
  throw syntax(t[i]);
}

/**
 * The statement when it controls transactions; undefined for any other. Throws PgFault for a
 * malformed one (42601), a read-write mode (25006), or SET TRANSACTION SNAPSHOT (0A000).
 */
export function transactionStatement(sql: string): TransactionStatement | undefined {
  // Every statement comes here: only one that starts as transaction control is tokenized.
  const start = statementStart(sql);
  const first = /^[A-Za-z_]+/.exec(start)?.[0].toUpperCase();
  if (first === undefined || !LEADING.has(first)) return undefined;
  if (first === 'SET' && !/^set\s+(transaction|session\s+characteristics)\b/i.test(start)) return undefined;
  if (first === 'PREPARE' && !/^prepare\s+transaction\b/i.test(start)) return undefined;
  const t = tokens(start);
  const w = t.map((x) => x.toUpperCase());
  switch (w[0]) {
    case 'BEGIN':
      return { kind: 'begin', tag: 'BEGIN', ...modes(t, noise(t, 1)) };
    case 'START':
      if (w[1] !== 'TRANSACTION') throw syntax(t[1]);
      return { kind: 'begin', tag: 'START TRANSACTION', ...modes(t, 2) };
    case 'PREPARE':
      return { kind: 'prepare', gid: gid(t, 2) };
    case 'COMMIT':
    case 'END':
      if (w[0] === 'COMMIT' && w[1] === 'PREPARED')
        return { kind: 'prepared', word: 'COMMIT', gid: gid(t, 2) };
      return { kind: 'commit', chain: chain(t, noise(t, 1)) };
    case 'ABORT':
      return { kind: 'rollback', chain: chain(t, noise(t, 1)) };
    case 'ROLLBACK': {
      if (w[1] === 'PREPARED') return { kind: 'prepared', word: 'ROLLBACK', gid: gid(t, 2) };
      const i = noise(t, 1);
      if (w[i] !== 'TO') return { kind: 'rollback', chain: chain(t, i) };
      const at = w[i + 1] === 'SAVEPOINT' ? i + 2 : i + 1;
      if (t.length > at + 1) throw syntax(t[at + 1]);
      return { kind: 'rollback-to', name: identifier(t[at]) };
    }
    case 'SAVEPOINT':
      if (t.length > 2) throw syntax(t[2]);
      return { kind: 'savepoint', name: identifier(t[1]) };
    case 'RELEASE': {
      const at = w[1] === 'SAVEPOINT' ? 2 : 1;
      if (t.length > at + 1) throw syntax(t[at + 1]);
      return { kind: 'release', name: identifier(t[at]) };
    }
    case 'SET': {
      const session =
        w[1] === 'SESSION' && w[2] === 'CHARACTERISTICS' && w[3] === 'AS' && w[4] === 'TRANSACTION';
      if (!session && w[1] !== 'TRANSACTION') return undefined;
      if (!session && w[2] === 'SNAPSHOT')
        throw new PgFault(
          '0A000',
          'SET TRANSACTION SNAPSHOT is not supported: this server exports no snapshots',
        );
      return { kind: 'set', session, ...modes(t, session ? 5 : 2) };
    }
    default:
      return undefined;
  }
}

/** Whether `sql` controls transactions (a malformed one too): it has no rows to describe. */
export function isTransactionStatement(sql: string): boolean {
  try {
    return transactionStatement(sql) !== undefined;
  } catch {
    return true;
  }
}

/** Whether a statement is refused in a failed block: all are but COMMIT, ROLLBACK, ROLLBACK TO and PREPARE TRANSACTION. */
function endsFailure(s: TransactionStatement | undefined): boolean {
  return (
    s !== undefined &&
    (s.kind === 'commit' || s.kind === 'rollback' || s.kind === 'rollback-to' || s.kind === 'prepare')
  );
}

/**
 * What a block's end and its savepoints do to the connection's portals. A portal belongs to
 * the savepoint level it was opened at (`TransactionBlock.depth`, the savepoints then set).
 */
export interface BlockPortals {
  /** The block ended (COMMIT, ROLLBACK): every portal ends. */
  closePortals(): void;
  /** ROLLBACK TO the savepoint at `depth` (0: the first set): the portals opened after it was set end. */
  closePortalsAfter(depth: number): void;
  /** RELEASE of the savepoint at `depth`: the portals opened after it was set now belong to the level before it. */
  releasePortals(depth: number): void;
}

/** Whether a block of this isolation level reads one view of the store (taken at its first query). */
function oneView(level: IsolationLevel): boolean {
  return level === 'repeatable read' || level === 'serializable';
}

/**
 * A connection's transaction block, its savepoints and its isolation level. A block of
 * REPEATABLE READ or SERIALIZABLE reads one view of the store from its first query to its end
 * (the runner holds a DuckDB read transaction for it: pg-runner.ts); READ COMMITTED (and READ
 * UNCOMMITTED, as in PostgreSQL) reads the store as it is at each statement.
 */
export class TransactionBlock {
  private state: 'idle' | 'open' | 'failed' = 'idle';
  private savepoints: string[] = [];
  /** The level of blocks to come (SET SESSION CHARACTERISTICS, default_transaction_isolation). */
  private defaultLevel: IsolationLevel = 'read committed';
  /** The level of the block in progress. */
  private level: IsolationLevel = 'read committed';
  /** Whether a query ran in the block: its level is then fixed, as PostgreSQL's is after its first snapshot. */
  private queried = false;

  constructor(private readonly portals: BlockPortals) {}

  /** The savepoints set now: the level a portal opened now belongs to. */
  get depth(): number {
    return this.savepoints.length;
  }

  /** The isolation level of the block in progress (outside one, of the next) and the default. */
  get isolation(): Isolation {
    return { current: this.state === 'idle' ? this.defaultLevel : this.level, default: this.defaultLevel };
  }

  /** Whether the statements run now must read the block's one view of the store (a query of a REPEATABLE READ or SERIALIZABLE block ran). */
  get holdsView(): boolean {
    return this.state !== 'idle' && this.queried && oneView(this.level);
  }

  /** A query (not SHOW, SET or transaction control) runs: in a block, its isolation level is fixed from now on. */
  query(): void {
    if (this.state !== 'idle') this.queried = true;
  }

  /** `SET default_transaction_isolation` (undefined: back to read committed). */
  setDefaultLevel(level: IsolationLevel | undefined): void {
    this.defaultLevel = level ?? 'read committed';
  }

  /** The modes of a SET TRANSACTION (or a BEGIN) in a block: as PostgreSQL checks them (25001). */
  private setModes(s: TransactionModes): void {
    if (s.deferrable) {
      if (this.savepoints.length > 0)
        throw new PgFault(
          '25001',
          'SET TRANSACTION [NOT] DEFERRABLE cannot be called within a subtransaction',
        );
      if (this.queried)
        throw new PgFault('25001', 'SET TRANSACTION [NOT] DEFERRABLE must be called before any query');
    }
    if (s.level) this.setLevel(s.level);
  }

  /**
   * `SET TRANSACTION ISOLATION LEVEL` or `SET transaction_isolation`: the block's level, before
   * its first query and outside a savepoint, as in PostgreSQL (25001). Outside a block, nothing.
   */
  setLevel(level: IsolationLevel): void {
    if (this.state === 'idle' || level === this.level) return;
    if (this.queried)
      throw new PgFault('25001', 'SET TRANSACTION ISOLATION LEVEL must be called before any query');
    if (this.savepoints.length > 0)
      throw new PgFault('25001', 'SET TRANSACTION ISOLATION LEVEL must not be called in a subtransaction');
    this.level = level;
  }

  /** ReadyForQuery's status: idle, in a block, in a failed block. */
  get status(): TransactionStatus {
    return this.state === 'idle' ? 'I' : this.state === 'open' ? 'T' : 'E';
  }

  /** Whether a block is open (failed or not): portals then outlive Sync. */
  get inBlock(): boolean {
    return this.state !== 'idle';
  }

  /** An error happened: a block in progress is failed (nothing outside one). */
  fail(): void {
    if (this.state === 'open') this.state = 'failed';
  }

  /**
   * Throws 25P02 when the block failed and `sql` does not end it (nor roll back to a
   * savepoint); a malformed transaction-control statement gets its syntax error (42601) first,
   * as in PostgreSQL, whose parser runs before it looks at the block.
   */
  check(sql: string): void {
    if (this.state !== 'failed') return;
    let s: TransactionStatement | undefined;
    try {
      s = transactionStatement(sql);
    } catch (e) {
      if (e instanceof PgFault && e.code === '42601') throw e;
      s = undefined;
    }
    if (!endsFailure(s)) throw new PgFault('25P02', ABORTED);
  }

  /** Applies a transaction-control statement; its tag and warning, or a PgFault as PostgreSQL fails it. */
  apply(s: TransactionStatement): TransactionOutcome {
    if (this.state === 'failed' && !endsFailure(s)) throw new PgFault('25P02', ABORTED);
    switch (s.kind) {
      case 'begin':
        if (this.state !== 'idle') {
          // Its modes apply to the block in progress, as SET TRANSACTION's would.
          this.setModes(s);
          return {
            tag: s.tag,
            warning: { code: '25001', message: 'there is already a transaction in progress' },
          };
        }
        this.state = 'open';
        this.level = s.level ?? this.defaultLevel;
        this.queried = false;
        return { tag: s.tag };
      case 'set':
        if (s.session) {
          if (s.level) this.defaultLevel = s.level;
          return { tag: 'SET' };
        }
        if (this.state === 'idle')
          return {
            tag: 'SET',
            warning: { code: '25P01', message: 'SET TRANSACTION can only be used in transaction blocks' },
          };
        this.setModes(s);
        return { tag: 'SET' };
      case 'commit':
      case 'rollback': {
        const word = s.kind === 'commit' ? 'COMMIT' : 'ROLLBACK';
        if (this.state === 'idle') {
          if (s.chain) throw new PgFault('25P01', `${word} AND CHAIN can only be used in transaction blocks`);
          return { tag: word, warning: { code: '25P01', message: NO_TRANSACTION } };
        }
        // COMMIT of a failed block rolls it back, and says so.
        const tag = this.state === 'failed' ? 'ROLLBACK' : word;
        this.end();
        // The chained block has the same characteristics, and a view of its own.
        if (s.chain) this.state = 'open';
        return { tag };
      }
      case 'savepoint':
        if (this.state === 'idle')
          throw new PgFault('25P01', 'SAVEPOINT can only be used in transaction blocks');
        this.savepoints.push(s.name);
        return { tag: 'SAVEPOINT' };
      case 'release':
      case 'rollback-to': {
        const what = s.kind === 'release' ? 'RELEASE SAVEPOINT' : 'ROLLBACK TO SAVEPOINT';
        if (this.state === 'idle')
          throw new PgFault('25P01', `${what} can only be used in transaction blocks`);
        const at = this.savepoints.lastIndexOf(s.name);
        if (at < 0) throw new PgFault('3B001', `savepoint "${s.name}" does not exist`);
        // RELEASE drops the savepoint and those after it, their portals kept by the level before;
        // ROLLBACK TO keeps it, closes the portals opened since it was set, and the block works again.
        this.savepoints.length = s.kind === 'release' ? at : at + 1;
        if (s.kind === 'release') {
          this.portals.releasePortals(at);
          return { tag: 'RELEASE' };
        }
        this.portals.closePortalsAfter(at);
        this.state = 'open';
        return { tag: 'ROLLBACK' };
      }
      case 'prepare': {
        if (this.state === 'idle')
          return { tag: 'ROLLBACK', warning: { code: '25P01', message: NO_TRANSACTION } };
        // PostgreSQL without prepared transactions ends the block either way (a failed one rolled back).
        const failed = this.state === 'failed';
        this.end();
        if (failed) return { tag: 'ROLLBACK' };
        throw new PgFault(
          '55000',
          'prepared transactions are disabled: this server is read-only, so a transaction block has nothing to prepare (the block has ended; end the next one with COMMIT)',
        );
      }
      case 'prepared':
        if (this.state !== 'idle')
          throw new PgFault('25001', `${s.word} PREPARED cannot run inside a transaction block`);
        throw new PgFault(
          '42704',
          `prepared transaction with identifier "${s.gid}" does not exist (this server keeps no prepared transactions)`,
        );
    }
  }

  /** Ends the block (COMMIT, ROLLBACK): back to idle, its portals closed. */
  private end(): void {
    this.state = 'idle';
    this.savepoints = [];
    this.queried = false;
    this.portals.closePortals();
  }
}
