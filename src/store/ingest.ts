/**
 * Turning a snapshot (plain data) into rows of the raw tables and appending them. Stacks are
 * deduplicated by content (function, file, line, inlined, hidden of every frame), so the same
 * code path has the same `stack_id` in every process and every snapshot.
 */
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ProcessSnapshot, SnapshotGoroutine } from '../snapshot/snapshot-types.js';
import { visibleFrames } from '../snapshot/stack-groups.js';
import { type CellInput, TableWriter } from './bulk-append.js';
import {
  CAPTURE_ERRORS,
  CAPTURED,
  FRAMES,
  GOROUTINES,
  LINK_NOTES,
  PROCESSES,
  recordValueTypes,
  SNAPSHOTS,
  STACKS,
} from './schema.js';
import type { SnapshotInput } from './store.js';

/** The process id of a process in a snapshot: "hostname:pid". */
export function processId(hostname: string, pid: number): string {
  return `${hostname}:${pid}`;
}

/** A stack's content key and its id (16 hex digits of SHA-256 of the key). */
export function stackKey(g: SnapshotGoroutine): { key: string; id: string } {
  const key = g.stack.frames
    .map((f) => `${f.function}\u0000${f.file}\u0000${f.line}\u0000${f.inlined ? 1 : 0}${f.hidden ? 1 : 0}`)
    .join('\u0001');
  return { key, id: createHash('sha256').update(key).digest('hex').slice(0, 16) };
}

/**
 * Stack ids of one process's goroutines, cached by the frames' pcs: within one binary the pcs
 * (and inlined flags) of a stack decide its functions, files and lines, so the content key
 * is built and hashed once per distinct stack, not once per goroutine.
 */
export class StackIds {
  /** Numeric hash of the pcs -> stacks with that hash (pcs and inlined flags, and the id). */
  private readonly byPcs = new Map<number, { frames: SnapshotGoroutine['stack']['frames']; id: string }[]>();
  private readonly known = new Set<string>();

  private static same(
    a: SnapshotGoroutine['stack']['frames'],
    b: SnapshotGoroutine['stack']['frames'],
  ): boolean {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++)
      if (a[i]!.pc !== b[i]!.pc || a[i]!.inlined !== b[i]!.inlined) return false;
    return true;
  }

  /** The goroutine's stack id, and whether this is the first time the id was seen here. */
  of(g: SnapshotGoroutine): { id: string; first: boolean } {
    const frames = g.stack.frames;
    let h = frames.length;
    for (const f of frames) h = (Math.imul(h, 31) + (f.pc % 0x7fffffff) * 2 + (f.inlined ? 1 : 0)) | 0;
    const bucket = this.byPcs.get(h);
    const hit = bucket?.find((c) => StackIds.same(c.frames, frames));
    if (hit) return { id: hit.id, first: false };
    const { id } = stackKey(g);
    if (bucket) bucket.push({ frames, id });
    else this.byPcs.set(h, [{ frames, id }]);
    const first = !this.known.has(id);
    this.known.add(id);
    return { id, first };
  }
}

/** Writers for every raw table of one snapshot. */
export interface SnapshotRows {
  readonly snapshots: TableWriter;
  readonly processes: TableWriter;
  readonly goroutines: TableWriter;
  readonly frames: TableWriter;
  readonly captured: TableWriter;
  readonly captureErrors: TableWriter;
  readonly linkNotes: TableWriter;
  /** New candidate stacks (deduplicated within this snapshot; the store skips known ones). */
  readonly stacks: TableWriter;
  readonly snapshotId: number;
}

/** The `goroutines` row of one goroutine, in column order. */
export function goroutineCells(sid: number, pid: string, g: SnapshotGoroutine, stackId: string): CellInput[] {
  const frames = g.stack.frames;
  return [
    sid,
    pid,
    g.id,
    g.status,
    g.waitReason ?? null,
    g.waitDurationNs ?? null,
    g.labels.length === 0 ? '{}' : JSON.stringify(Object.fromEntries(g.labels)),
    g.createdBy?.function ?? null,
    g.createdBy?.file ?? null,
    g.createdBy?.line ?? null,
    g.createdBy?.parentId ?? null,
    g.startFunction ?? null,
    stackId,
    frames.length,
    // The first frame Go's own traceback prints (runtime.gopark and the like are hidden).
    visibleFrames(g)[0]?.function ?? null,
    g.threadId ?? null,
    g.system,
    g.lockedToThread,
    g.address,
    g.stack.end,
    g.stack.error ?? null,
    g.errors.length === 0 ? '[]' : JSON.stringify(g.errors),
    g.inconsistent === true,
  ];
}

type Frame = SnapshotGoroutine['stack']['frames'][number];

/** The `frames` row of frame `d` of goroutine `gid`, in column order. */
export function frameCells(sid: number, pid: string, g: SnapshotGoroutine, d: number, f: Frame): CellInput[] {
  const sp = g.stack.sp + f.spOffset;
  const cfa = g.stack.sp + f.cfaOffset;
  return [sid, pid, g.id, d, f.function, f.file, f.line, f.pc, f.entry, sp, cfa, f.inlined, f.hidden];
}

/** The `stacks` row of frame `d` of stack `id`, in column order. */
export function stackCells(id: string, d: number, f: Frame): CellInput[] {
  return [id, d, f.function, f.file, f.line, f.inlined, f.hidden];
}

/** The `captured` rows of one goroutine, in column order. */
export function capturedCells(sid: number, pid: string, g: SnapshotGoroutine): CellInput[][] {
  const out: CellInput[][] = [];
  for (const c of g.captures) {
    for (const v of c.values) {
      out.push([
        sid,
        pid,
        g.id,
        c.depth,
        c.function,
        c.table,
        v.column,
        v.expr,
        v.value === null ? null : JSON.stringify(v.value),
        v.error ?? null,
        c.afterPause === true,
      ]);
    }
  }
  return out;
}

/** The `capture_errors` rows of one process, in column order. */
export function captureErrorCells(sid: number, pid: string, s: ProcessSnapshot): CellInput[][] {
  return (s.captureErrors ?? []).map((e) => [
    sid,
    pid,
    e.function,
    e.table,
    e.column ?? null,
    e.expr ?? null,
    e.at?.line ?? null,
    e.at?.column ?? null,
    e.message,
  ]);
}

/** The `link_notes` rows of one process, in column order. */
export function linkNoteCells(sid: number, pid: string, s: ProcessSnapshot): CellInput[][] {
  return (s.linkNotes ?? []).map((n) => [
    sid,
    pid,
    n.link,
    n.table,
    n.column,
    n.frames ?? null,
    n.of ?? null,
    n.message,
  ]);
}

/** The `processes` row of a captured process, in column order. */
export function processCells(
  sid: number,
  hostname: string,
  program: string | undefined,
  s: ProcessSnapshot,
): CellInput[] {
  return [
    sid,
    processId(hostname, s.pid),
    hostname,
    s.pid,
    program ?? basename(s.executable),
    s.executable,
    s.buildId ?? null,
    s.goVersion ?? null,
    new Date(s.takenAt),
    s.mode,
    s.pauseNs,
    s.phasesNs.stop,
    s.phasesNs.copy,
    s.phasesNs.values,
    s.phasesNs.resume,
    s.bytesRead,
    s.decodeNs,
    s.threads,
    s.goroutines.length,
    s.allglen,
    s.truncated,
    JSON.stringify(s.specFunctionsAbsent),
    null,
    s.partial?.reason ?? null,
  ];
}

function goroutineRows(rows: SnapshotRows, sid: number, pid: string, g: SnapshotGoroutine, stackId: string) {
  rows.goroutines.add(...goroutineCells(sid, pid, g, stackId));
  g.stack.frames.forEach((f, d) => {
    rows.frames.add(...frameCells(sid, pid, g, d, f));
  });
  for (const row of capturedCells(sid, pid, g)) rows.captured.add(...row);
}

/** Writers for the raw tables of snapshot `sid` (not yet opened). */
export function snapshotWriters(sid: number): SnapshotRows {
  return {
    snapshots: new TableWriter('snapshots', SNAPSHOTS),
    processes: new TableWriter('processes', PROCESSES),
    goroutines: new TableWriter('goroutines', GOROUTINES),
    frames: new TableWriter('frames', FRAMES),
    captured: new TableWriter('captured', CAPTURED),
    captureErrors: new TableWriter('capture_errors', CAPTURE_ERRORS),
    linkNotes: new TableWriter('link_notes', LINK_NOTES),
    stacks: new TableWriter('new_stacks', STACKS),
    snapshotId: sid,
  };
}

/** Goroutines turned into rows between two yields to the event loop. */
const YIELD_EVERY = 4096;

/**
 * Adds the rows of one snapshot to its writers (streamed to DuckDB when they are open),
 * yielding to the event loop every YIELD_EVERY goroutines: a snapshot of 10,000 processes
 * takes seconds, during which a server must still answer and beat (docs/storage.md "1,000 agents").
 */
export async function fillSnapshotRows(
  rows: SnapshotRows,
  input: SnapshotInput,
  specVersion: number | null,
): Promise<void> {
  const sid = rows.snapshotId;
  const stored = new Set<string>();
  let goroutines = 0;
  let sinceYield = 0;
  for (const p of input.processes) {
    if (sinceYield >= YIELD_EVERY) {
      sinceYield = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    sinceYield += p.snapshot.goroutines.length;
    const s = p.snapshot;
    const pid = processId(p.hostname, s.pid);
    rows.processes.add(...processCells(sid, p.hostname, p.program, s));
    for (const row of captureErrorCells(sid, pid, s)) rows.captureErrors.add(...row);
    for (const row of linkNoteCells(sid, pid, s)) rows.linkNotes.add(...row);
    const stackIds = new StackIds();
    for (const g of s.goroutines) {
      const { id, first } = stackIds.of(g);
      if (first && !stored.has(id)) {
        stored.add(id);
        g.stack.frames.forEach((f, d) => {
          rows.stacks.add(...stackCells(id, d, f));
        });
      }
      goroutineRows(rows, sid, pid, g, id);
      goroutines++;
    }
  }
  for (const f of input.failed ?? []) {
    // snapshot_id, process_id, hostname, pid, program, executable ... error, partial: the rest are null.
    const cells = new Array<null>(PROCESSES.length - 8).fill(null);
    rows.processes.add(
      sid,
      processId(f.hostname, f.pid),
      f.hostname,
      f.pid,
      f.program ?? (f.executable ? basename(f.executable) : null),
      f.executable ?? null,
      ...cells,
      f.error,
      null,
    );
  }
  rows.snapshots.add(
    sid,
    input.createdAt ?? new Date(),
    JSON.stringify(input.labels ?? {}),
    specVersion,
    input.specText,
    input.processes.length,
    input.failed?.length ?? 0,
    goroutines,
  );
}

/**
 * Writes snapshot `sid` to the raw tables (inside the caller's transaction): rows stream to
 * DuckDB a vector at a time as they are made; only stacks the store does not have are added.
 */
export async function writeSnapshot(
  conn: DuckDBConnection,
  sid: number,
  input: SnapshotInput,
  specVersion: number | null,
): Promise<void> {
  const rows = snapshotWriters(sid);
  // Stacks go through a temp table so that known ones are skipped in one anti-join.
  await conn.run('CREATE OR REPLACE TEMP TABLE new_stacks AS SELECT * FROM raw.stacks LIMIT 0');
  const raw = [
    rows.snapshots,
    rows.processes,
    rows.goroutines,
    rows.frames,
    rows.captured,
    rows.captureErrors,
    rows.linkNotes,
  ];
  for (const w of raw) await w.open(conn, 'raw');
  await rows.stacks.open(conn, 'main', 'temp');
  await fillSnapshotRows(rows, input, specVersion);
  for (const w of raw) await w.flush(conn, 'raw');
  await rows.stacks.flush(conn, 'main', 'temp');
  await conn.run(
    'INSERT INTO raw.stacks SELECT * FROM temp.new_stacks n WHERE n.stack_id NOT IN (SELECT DISTINCT stack_id FROM raw.stacks)',
  );
  await conn.run('DROP TABLE temp.new_stacks');
  await recordValueTypes(conn, sid);
}
