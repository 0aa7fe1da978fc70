/**
 * The server's retention: on a timer (and on an admin's request), the processes older than
 * their program's rule are deleted from the store, the file is compacted when anything was
 * deleted, and the deletion is written to the audit log. Rotated audit files go when their
 * newest entry is older than the longest rule, and only when a `*` rule says every program's
 * data goes in the end (without one, some snapshots are kept forever, and so is their history).
 */
import type { DroppedAuditFile } from '../store/audit-log.js';
import type { RetentionResult, RetentionRule } from '../store/retention.js';
import type { ServerContext } from './context.js';

/** How the server applies retention. */
export interface RetentionOptions {
  readonly rules: readonly RetentionRule[];
  /** How often, ms (default one hour); the first pass runs at start. */
  readonly intervalMs?: number;
}

/** What one pass did (which processes of trimmed snapshots went is not repeated: the counts say it). */
export interface RetentionPass extends Omit<RetentionResult, 'trimmedProcesses'> {
  /** The store file's size before and after compaction, bytes (absent when nothing was deleted). */
  readonly bytesBefore?: number;
  readonly bytesAfter?: number;
  /** Rotated audit files deleted, each with the hash the next file's first entry chains to. */
  readonly auditFilesDeleted?: readonly DroppedAuditFile[];
}

/** Runs retention passes one at a time. */
export class Retention {
  private running: Promise<RetentionPass> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ctx: ServerContext,
    readonly rules: readonly RetentionRule[],
    private readonly log: (line: string) => void,
  ) {}

  /** Starts the timer (unref'd) with a first pass now. */
  start(intervalMs: number): void {
    void this.run('server').catch((e: unknown) => this.log(`retention failed: ${(e as Error).message}`));
    this.timer = setInterval(
      () =>
        void this.run('server').catch((e: unknown) => this.log(`retention failed: ${(e as Error).message}`)),
      intervalMs,
    );
    this.timer.unref();
  }

  /** One pass now (or the one in progress); `actor` is recorded with it. */
  run(actor: string, source = 'local'): Promise<RetentionPass> {
    this.running ??= this.pass(actor, source).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Stops the timer and waits for a pass in progress. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  private async pass(actor: string, source: string): Promise<RetentionPass> {
    const { trimmedProcesses, ...result } = await this.ctx.store.applyRetention(this.rules);
    await this.ctx.meta.applyRetention({ snapshotIds: result.snapshotIds, trimmedProcesses });
    let pass: RetentionPass = result;
    const stored = result.processes > 0 || result.probeRows > 0;
    const auditFiles = this.expiredAuditFiles();
    const deleted = stored || auditFiles.length > 0;
    if (auditFiles.length > 0) pass = { ...pass, auditFilesDeleted: auditFiles };
    if (stored) {
      const { before, after } = await this.ctx.store.compact();
      pass = { ...pass, bytesBefore: before, bytesAfter: after };
      this.log(
        `retention deleted ${result.processes} processes (${result.snapshotIds.length} whole snapshots) and ${result.probeRows} rows of probe data; store ${before} → ${after} bytes`,
      );
    }
    if (deleted || actor !== 'server')
      this.ctx.audit.append({
        action: 'retention.delete',
        actor: { name: actor },
        source,
        outcome: 'ok',
        details: { rules: this.rules, ...pass },
      });
    // Deleted only once the entry naming their last hashes is written: the chain stays checkable.
    this.ctx.audit.drop(auditFiles);
    return pass;
  }

  private expiredAuditFiles(): DroppedAuditFile[] {
    if (!this.rules.some((r) => r.program === '*')) return [];
    const longest = Math.max(...this.rules.map((r) => r.maxAgeSeconds));
    return this.ctx.audit.rotatedBefore(new Date(Date.now() - longest * 1000));
  }
}
