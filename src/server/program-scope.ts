/**
 * Permissions by program: a user token may carry a list of process selectors (`program=orders`,
 * `program~team-a-.*`), and then sees and acts on only the processes one of them matches —
 * live processes, snapshots, every SQL table (filtered in the store, process-filter.ts).
 * A process is judged by the facts stored with it: its program (the first program rule it
 * matched, as stored in `processes.program`), hostname, pid and executable, so that a process
 * visible live is visible once stored, and the reverse.
 */
import { basename } from 'node:path';
import type { ProcessDescription } from '../protocol/messages.js';
import { type FilterTerm, type ProcessFilter, programFilter } from '../store/process-filter.js';
import type { TokenInfo } from '../store/token-types.js';
import { HttpError } from './http-errors.js';
import type { Registry } from './registry.js';

/**
 * The process filter of a token, or undefined when it sees every program. A stored list that
 * no longer parses (tokens.json edited by hand) refuses everything rather than nothing.
 */
export function tokenFilter(token: TokenInfo | undefined): ProcessFilter | undefined {
  if (!token?.programs) return undefined;
  try {
    return programFilter(token.programs, token.role);
  } catch (e) {
    throw new HttpError(403, 'forbidden', `token ${token.id} has unusable programs: ${(e as Error).message}`);
  }
}

/** The facts a process is judged by. */
export interface ProcessFacts {
  readonly program?: string | undefined;
  readonly hostname: string;
  readonly pid: number;
  readonly executable: string;
}

/** The facts of a live process, as they will be stored. */
export function liveFacts(p: ProcessDescription): ProcessFacts {
  return {
    program: p.programs[0] ?? basename(p.executable),
    hostname: p.hostname,
    pid: p.pid,
    executable: p.executable,
  };
}

/** The facts of an agent's live process named host:pid, for the probe data it sends (undefined when unknown). */
export function agentProcessFacts(
  registry: Registry,
  agentId: string,
  processId: string,
): (ProcessFacts & { processId: string; program: string }) | undefined {
  const p = registry.agentProcesses(agentId).find((d) => `${d.hostname}:${d.pid}` === processId);
  if (!p) return undefined;
  const f = liveFacts(p);
  return { ...f, program: f.program ?? basename(p.executable), processId };
}

function termHolds(t: FilterTerm, f: ProcessFacts): boolean {
  const v =
    t.key === 'pid' ? String(f.pid) : (f[t.key as 'program' | 'hostname' | 'executable'] ?? undefined);
  const hit =
    v !== undefined &&
    (t.op === '=' || t.op === '!=' ? v === t.value : new RegExp(`^(?:${t.value})$`).test(v));
  return t.op.startsWith('!') ? !hit : hit;
}

/** Whether a filter lets a process through (undefined: no filter). */
export function visible(filter: ProcessFilter | undefined, f: ProcessFacts): boolean {
  return filter === undefined || filter.some((terms) => terms.every((t) => termHolds(t, f)));
}

/**
 * Whether a probe for spec program `program` stays within the filter: some selector of the
 * token decides on the program alone and lets it through. A probe without a program (only a
 * `match` of labels) could reach any process, so it is never within a limit.
 */
export function programAllowed(filter: ProcessFilter | undefined, program: string | undefined): boolean {
  if (filter === undefined) return true;
  if (program === undefined) return false;
  const facts: ProcessFacts = { program, hostname: '', pid: 0, executable: '' };
  return filter.some((terms) => terms.every((t) => t.key === 'program' && termHolds(t, facts)));
}
