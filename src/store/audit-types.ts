/**
 * What the audit log holds: one entry per action that reads or changes what Periscope captured
 * or who may use it. Plain data without Node imports, so the API messages (and the web app)
 * can use it.
 */

/** The kinds of audited actions. */
export const AUDIT_ACTIONS = [
  'snapshot',
  'spec.set',
  'query',
  'token.create',
  'token.revoke',
  'token.rotate',
  'token.programs',
  'retention.delete',
  'audit.read',
  'investigation.add',
  'investigation.close',
  'investigation.fire',
  'denied',
] as const;

/** One kind of audited action. */
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** Whether a string names an audited action. */
export function isAuditAction(v: unknown): v is AuditAction {
  return typeof v === 'string' && (AUDIT_ACTIONS as readonly string[]).includes(v);
}

/** Who acted: a token (id, name, role), or someone on the server's machine working on its data directory. */
export interface AuditActor {
  /** The token's id; absent for local actions (`periscope token create --data DIR`). */
  readonly tokenId?: string;
  /** The token's name, or `local:USER` for the data directory's own user. */
  readonly name: string;
  readonly role?: string;
}

/** How the action ended. */
export type AuditOutcome = 'ok' | 'refused' | 'error';

/** An entry before it is written (the log adds seq, time and the chain hash). */
export interface AuditRecord {
  readonly action: AuditAction;
  readonly actor: AuditActor;
  /** The peer address of the request (`local` for the data directory's own user). */
  readonly source: string;
  readonly outcome: AuditOutcome;
  /** What was acted on: snapshot id and selector, SQL text and row count, token id, … */
  readonly details: Readonly<Record<string, unknown>>;
}

/** An entry as stored: the record, its sequence number, time, and the hash of the line before it. */
export interface AuditEntry extends AuditRecord {
  readonly seq: number;
  /** ISO time the server wrote it. */
  readonly at: string;
  /** Hex SHA-256 of the previous line of the file ('' for the first), so an edit or a removal shows. */
  readonly prev: string;
}

/** Which entries to list. */
export interface AuditFilter {
  /** ISO times, inclusive. */
  readonly since?: string;
  readonly until?: string;
  readonly actions?: readonly AuditAction[];
  /** A token's name or id. */
  readonly actor?: string;
  /** The newest N (default all). */
  readonly limit?: number;
}

/** Whether the chain of hashes holds over the whole file. */
export interface AuditIntegrity {
  readonly ok: boolean;
  readonly entries: number;
  /** The first line whose `prev` is not the hash of the line before it (1-based, in `file`). */
  readonly brokenAtLine?: number;
  /** The file that line is in (`audit.jsonl`, or a rotated `audit.<seq>.jsonl`). */
  readonly file?: string;
  /**
   * When older rotated files were deleted by retention: the `prev` of the oldest entry kept,
   * which the `retention.delete` entry that deleted them names as the last hash of the file deleted.
   */
  readonly startsAfter?: string;
}
