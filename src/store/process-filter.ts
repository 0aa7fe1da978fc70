/**
 * The processes a token limited to some programs may see, as SQL over the stored `processes`
 * rows. A filter is a list of selectors (any may match), each a list of terms (all must
 * hold), parsed by the server with the snapshot selector syntax; only keys stored with every
 * process can be decided on stored rows (see FILTER_KEYS).
 */
import { PeriscopeError } from '../common/errors.js';
import { parseSelector } from '../common/selector-text.js';
import { literal } from './sql-text.js';
import type { Role } from './token-types.js';

/** One term of a selector: `key=value`, `key!=value`, `key~regex`, `key!~regex`. */
export interface FilterTerm {
  readonly key: string;
  readonly op: '=' | '!=' | '~' | '!~';
  readonly value: string;
}

/** The processes a scoped token may see: those matching any of these selectors. */
export type ProcessFilter = readonly (readonly FilterTerm[])[];

/** Selector keys a filter may use: the ones every stored process row has. */
export const FILTER_KEYS: ReadonlySet<string> = new Set(['program', 'hostname', 'pid', 'executable']);

function termSql(t: FilterTerm, alias: string): string {
  const col = `CAST(${alias}.${t.key} AS VARCHAR)`; // t.key is one of FILTER_KEYS, checked by the caller
  const hit =
    t.op === '=' || t.op === '!='
      ? `coalesce(${col} = ${literal(t.value)}, false)`
      : `coalesce(regexp_full_match(${col}, ${literal(t.value)}), false)`;
  return t.op.startsWith('!') ? `NOT ${hit}` : hit;
}

/** A condition on the `raw.processes` row named `alias` that holds when the filter lets it through. */
export function processFilterSql(filter: ProcessFilter, alias = 'p'): string {
  for (const s of filter)
    for (const t of s)
      if (!FILTER_KEYS.has(t.key))
        throw new Error(`process filter key "${t.key}" cannot be decided on stored rows`);
  if (filter.length === 0) return 'false';
  return filter
    .map((s) => (s.length === 0 ? 'true' : `(${s.map((t) => termSql(t, alias)).join(' AND ')})`))
    .join(' OR ');
}

/** A condition on a row (`alias`, with snapshot_id and a process id column) of a per-snapshot table: its process is visible. */
export function visibleRowSql(filter: ProcessFilter, alias: string, column = 'process_id'): string {
  return (
    `EXISTS (SELECT 1 FROM raw.processes p WHERE p.snapshot_id = ${alias}.snapshot_id ` +
    `AND p.process_id = ${alias}.${column} AND (${processFilterSql(filter)}))`
  );
}

/**
 * The ids of the visible processes whose data belongs to no snapshot (probe events, counts,
 * …): those of any stored snapshot, and those whose agent reported them with probe data
 * (`raw.probe_processes`, the same facts), so a process never snapshotted is judged the same
 * way on every surface.
 */
export function visibleProcessIdsSql(filter: ProcessFilter): string {
  const where = processFilterSql(filter);
  return `SELECT p.process_id FROM raw.processes p WHERE ${where} UNION SELECT p.process_id FROM raw.probe_processes p WHERE ${where}`;
}

/** Most selectors one token may carry. */
const MAX_PROGRAMS = 64;

/** The filter of a token's program selectors (each in the snapshot selector syntax); throws bad-usage naming what is wrong. */
export function programFilter(programs: readonly string[], role: Role): ProcessFilter {
  if (role !== 'user')
    throw new PeriscopeError(
      'bad-usage',
      `only user tokens can be limited to programs (an ${role} token ${role === 'admin' ? 'manages tokens, so it could lift its own limit' : 'reads nothing'})`,
    );
  if (programs.length === 0 || programs.length > MAX_PROGRAMS)
    throw new PeriscopeError('bad-usage', `give 1 to ${MAX_PROGRAMS} program selectors, e.g. program=orders`);
  return programs.map((text) => {
    const sel = parseSelector(text);
    if (sel.terms.length === 0)
      throw new PeriscopeError(
        'bad-usage',
        `program selector "${text}" matches every process; leave the programs out for a token that sees everything`,
      );
    for (const t of sel.terms)
      if (!FILTER_KEYS.has(t.key))
        throw new PeriscopeError(
          'bad-usage',
          `program selector "${text}" uses "${t.key}", which is not stored with snapshots; use ${[...FILTER_KEYS].join(', ')}`,
        );
    return sel.terms.map(({ key, op, value }) => ({ key, op, value }));
  });
}
