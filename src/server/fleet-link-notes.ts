/**
 * The link notes of a fleet snapshot's processes, said once per program, link, table and
 * reason (as `periscope links` warns from `link_notes`), for the snapshot's answer and summary.
 */
import type { FleetLinkNote } from '../api/responses.js';
import type { LinkNote } from '../snapshot/snapshot-types.js';

/** One captured process: its program and its snapshot's notes. */
export interface ProcessLinkNotes {
  readonly program: string;
  readonly notes: readonly LinkNote[];
}

/** The notes of every process grouped by program, link, table, column and reason, frames summed. */
export function fleetLinkNotes(processes: readonly ProcessLinkNotes[]): FleetLinkNote[] {
  const groups = new Map<string, { note: FleetLinkNote; frames?: number; of?: number }>();
  for (const p of processes)
    for (const n of p.notes) {
      const key = JSON.stringify([n.link, p.program, n.table, n.column, n.message]);
      const g = groups.get(key) ?? {
        note: {
          link: n.link,
          program: p.program,
          processes: 0,
          table: n.table,
          column: n.column,
          message: n.message,
        },
      };
      g.note = { ...g.note, processes: g.note.processes + 1 };
      if (n.frames !== undefined) {
        g.frames = (g.frames ?? 0) + n.frames;
        g.of = (g.of ?? 0) + (n.of ?? n.frames);
      }
      groups.set(key, g);
    }
  return [...groups.values()]
    .map(({ note, frames, of }) => (frames === undefined ? note : { ...note, frames, of: of ?? frames }))
    .sort(
      (a, b) =>
        a.link.localeCompare(b.link) || a.program.localeCompare(b.program) || a.table.localeCompare(b.table),
    );
}
