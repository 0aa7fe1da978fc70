/**
 * What the store does not keep about a fleet snapshot yet: the request id, the selector, who
 * asked, the capture skew and duration, and each process's agent, key and error kind. One JSON
 * line per snapshot in `fleet-snapshots.jsonl` of the data directory, appended after the store
 * has the snapshot. (A stop-gap until the store's `snapshots` table has a column for it.)
 * Retention rewrites it without what it deleted from the store, whole and atomically.
 * With the scaled-out store (`--store`), the metadata lives in its PostgreSQL instead, so that
 * every server sees what any of them took.
 */
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProcessResult } from '../api/responses.js';
import { writeFileAtomic } from '../common/atomic-file.js';
import { processId } from '../store/ingest.js';
import type { RetentionResult } from '../store/retention.js';

/** The server-side facts of one fleet snapshot. */
export interface SnapshotMeta {
  readonly snapshotId: number;
  readonly requestId: string;
  readonly selector: string;
  readonly requestedBy: string;
  /** Max minus min capture start across processes, ms (0 with fewer than two). */
  readonly captureSkewMs: number;
  /** From request to stored, ms. */
  readonly durationMs: number;
  readonly processes: readonly ProcessResult[];
}

/** The file of snapshot metadata in a data directory. */
export const META_FILE = 'fleet-snapshots.jsonl';

/** Where servers that share a store keep the metadata (the scaled-out store's PostgreSQL). */
export interface SharedMeta {
  putFleetMeta(snapshotId: number, meta: unknown): Promise<void>;
  fleetMeta(snapshotId: number): Promise<unknown>;
}

/** Append-only metadata of fleet snapshots, indexed in memory by snapshot id. */
export class SnapshotMetaLog {
  private readonly path: string;
  private readonly byId = new Map<number, SnapshotMeta>();

  constructor(
    dataDir: string,
    private readonly shared?: SharedMeta,
  ) {
    mkdirSync(dataDir, { recursive: true });
    this.path = join(dataDir, META_FILE);
    if (shared) return;
    let text = '';
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      return;
    }
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        const m = JSON.parse(line) as SnapshotMeta;
        if (typeof m.snapshotId === 'number') this.byId.set(m.snapshotId, m);
      } catch {
        // A torn last line (crash mid-append) loses only that snapshot's metadata.
      }
    }
  }

  /** Records a snapshot's metadata. */
  async add(meta: SnapshotMeta): Promise<void> {
    if (this.shared) return this.shared.putFleetMeta(meta.snapshotId, meta);
    this.byId.set(meta.snapshotId, meta);
    appendFileSync(this.path, `${JSON.stringify(meta)}\n`);
  }

  /**
   * Forgets what a retention pass deleted from the store (snapshots deleted whole, processes
   * deleted from trimmed ones) and rewrites the file without it, atomically (a crash leaves the
   * old file or the new one). Sharing a store, the metadata of trimmed snapshots is rewritten
   * in PostgreSQL instead (that of deleted ones went with them). Returns how many entries went
   * or changed.
   */
  async applyRetention(pass: Pick<RetentionResult, 'snapshotIds' | 'trimmedProcesses'>): Promise<number> {
    let changed = 0;
    for (const id of pass.snapshotIds) if (this.byId.delete(id)) changed++;
    const trimmed = new Map<number, Set<string>>();
    for (const t of pass.trimmedProcesses) {
      const set = trimmed.get(t.snapshotId) ?? new Set<string>();
      set.add(t.processId);
      trimmed.set(t.snapshotId, set);
    }
    for (const [id, gone] of trimmed) {
      const m = await this.get(id);
      if (!m) continue;
      const processes = m.processes.filter((p) => !gone.has(processId(p.hostname, p.pid)));
      if (processes.length === m.processes.length) continue;
      if (this.shared) await this.shared.putFleetMeta(id, { ...m, processes });
      else this.byId.set(id, { ...m, processes });
      changed++;
    }
    if (changed > 0 && !this.shared)
      writeFileAtomic(
        this.path,
        [...this.byId.values()].map((m) => `${JSON.stringify(m)}\n`).join(''),
        0o644,
      );
    return changed;
  }

  /**
   * The metadata of one snapshot, if it was taken by this server (or, sharing a store, by any:
   * read from PostgreSQL each time, so what another server's retention changed shows at once).
   */
  async get(snapshotId: number): Promise<SnapshotMeta | undefined> {
    if (!this.shared) return this.byId.get(snapshotId);
    return (await this.shared.fleetMeta(snapshotId)) as SnapshotMeta | undefined;
  }
}
