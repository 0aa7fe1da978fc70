/**
 * `periscope snapshot --select SELECTOR | --all` on a server: the fleet's processes captured
 * together, one line per process, and the exit code that says whether all, some or none were
 * captured.
 */
import { basename } from 'node:path';
import type { SnapshotRequestBody } from '../../api/requests.js';
import type { FleetLinkNote, SnapshotTaken } from '../../api/responses.js';
import { ApiClient } from '../api-client.js';
import { EXIT } from '../command.js';
import { out, printJson } from '../output.js';
import type { ServerTarget } from '../target.js';

/** What `periscope snapshot` on a server was asked to do. */
export interface FleetSnapshotOptions {
  readonly target: ServerTarget;
  readonly request: SnapshotRequestBody;
  readonly json: boolean;
}

/** One line per process of a fleet snapshot, failures with their kind. */
export function renderSnapshotTaken(r: SnapshotTaken): string {
  const ok = r.processes.filter((p) => p.ok).length;
  const lines = [
    `snapshot ${r.snapshotId}: ${ok} of ${r.processes.length} processes captured, skew ${r.captureSkewMs} ms, ${r.durationMs} ms in all`,
  ];
  for (const p of r.processes) {
    const problems = p.captureErrors
      ? `; ${p.captureErrors} spec entries not captured (SELECT * FROM capture_errors)`
      : '';
    const what = p.ok
      ? `${p.goroutines ?? 0} goroutines, paused ${((p.pauseNs ?? 0) / 1e6).toFixed(2)} ms${problems}`
      : `${p.error?.kind}: ${p.error?.message}`;
    // Servers before the program was always set: the name the processes table gives it.
    const program = p.program ?? basename(p.executable);
    lines.push(`  ${`${p.hostname}:${p.pid}`.padEnd(28)} ${program.padEnd(16)} ${what}`);
  }
  const notes = r.linkNotes ?? [];
  if (notes.length > 0)
    lines.push(
      `link${notes.length > 1 ? 's' : ''} that cannot resolve everywhere (SELECT * FROM link_notes):`,
      ...notes.map((n) => `  ${fleetLinkNoteText(n)}`),
    );
  return lines.join('\n');
}

/** One note: `http_call in program orders (2 processes): http_server_conns.conn: 3 of 5 frames: why`. */
function fleetLinkNoteText(n: FleetLinkNote): string {
  const count = n.frames === undefined ? '' : `${n.frames} of ${n.of ?? n.frames} frames: `;
  const procs = `${n.processes} process${n.processes === 1 ? '' : 'es'}`;
  return `${n.link} in program ${n.program} (${procs}): ${n.table}.${n.column}: ${count}${n.message}`;
}

/** The exit code of a fleet snapshot: every process captured, some, or none. */
export function snapshotExitCode(r: SnapshotTaken): number {
  const ok = r.processes.filter((p) => p.ok).length;
  if (ok === r.processes.length) return EXIT.ok;
  return ok === 0 ? EXIT.noneCaptured : EXIT.someCaptured;
}

/** Takes the snapshot through the server and prints it. */
export async function fleetSnapshot(o: FleetSnapshotOptions): Promise<number> {
  const r = await new ApiClient(o.target).snapshot(o.request);
  if (o.json) await printJson(r);
  else out(renderSnapshotTaken(r));
  return snapshotExitCode(r);
}
