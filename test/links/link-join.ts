/**
 * Test support: a spec link evaluated over ProcessSnapshot JSON the way the store's SQL
 * defines it (rows of the two function tables whose link columns are equal, column by
 * column, NULL never equal), plus helpers to find goroutines and to run the fixtures.
 */
import type { GoValue } from '../../src/goruntime/values/walk.js';
import type { ProcessSnapshot, SnapshotGoroutine } from '../../src/snapshot/snapshot-types.js';
import type { LinkSpec, Spec } from '../../src/spec/spec-types.js';

/** One row of a function table: one frame of a goroutine, with its captured columns. */
export interface TableRow {
  readonly table: string;
  readonly pid: number;
  readonly goroutine: number;
  readonly depth: number;
  readonly values: Readonly<Record<string, GoValue | null>>;
  readonly errors: Readonly<Record<string, string>>;
}

/** A pair of rows a link joins. */
export interface LinkPair {
  readonly link: string;
  readonly from: TableRow;
  readonly to: TableRow;
}

/**
 * The spec's SQL columns of the forms the built-in spec uses, `capture->>'$.key'` (a key of a
 * captured JSON object, possibly cast to BIGINT), as functions of the captured values.
 */
function jsonColumns(spec: Spec | undefined, table: string): [string, string, string][] {
  const f = spec?.functions.find((x) => x.table === table);
  return (f?.columns ?? []).flatMap((c) => {
    const m = /^(?:CAST\()?(\w+)->>'\$\.(\w+)'(?: AS BIGINT\))?$/.exec(c.sql);
    return m ? [[c.name, m[1]!, m[2]!] as [string, string, string]] : [];
  });
}

/** The rows of a function table across the processes of a snapshot (with the spec's JSON-key columns). */
export function tableRows(snaps: readonly ProcessSnapshot[], table: string, spec?: Spec): TableRow[] {
  const rows: TableRow[] = [];
  const derived = jsonColumns(spec, table);
  for (const s of snaps)
    for (const g of s.goroutines)
      for (const c of g.captures) {
        if (c.table !== table) continue;
        const values: Record<string, GoValue | null> = {};
        const errors: Record<string, string> = {};
        for (const v of c.values) {
          values[v.column] = v.value;
          if (v.error !== undefined) errors[v.column] = v.error;
        }
        for (const [name, from, key] of derived) {
          const o = values[from];
          const x = o !== null && typeof o === 'object' && !Array.isArray(o) ? o[key] : undefined;
          values[name] =
            x === undefined || x === null
              ? null
              : typeof x === 'number' || typeof x === 'string'
                ? x
                : JSON.stringify(x);
        }
        rows.push({ table, pid: s.pid, goroutine: g.id, depth: c.depth, values, errors });
      }
  return rows;
}

function sameValue(a: GoValue | null | undefined, b: GoValue | null | undefined): boolean {
  if (a === null || a === undefined || b === null || b === undefined) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The pairs one link joins: every from-row and to-row whose link columns are all equal. */
export function joinLink(link: LinkSpec, snaps: readonly ProcessSnapshot[], spec?: Spec): LinkPair[] {
  const out: LinkPair[] = [];
  const to = tableRows(snaps, link.to.table, spec);
  for (const f of tableRows(snaps, link.from.table, spec))
    for (const t of to) {
      if (f === t) continue;
      const equal = link.from.columns.every((fc, i) =>
        sameValue(f.values[fc], t.values[link.to.columns[i]!]),
      );
      if (equal) out.push({ link: link.name, from: f, to: t });
    }
  return out;
}

/** The pairs of every link of a spec. */
export function joinLinks(spec: Spec, snaps: readonly ProcessSnapshot[]): LinkPair[] {
  return spec.links.flatMap((l) => joinLink(l, snaps, spec));
}

/** The goroutines of a snapshot with a frame of `fn` on their stack. */
export function goroutinesIn(snap: ProcessSnapshot, fn: string): SnapshotGoroutine[] {
  return snap.goroutines.filter((g) => g.stack.frames.some((f) => f.function === fn));
}

/** The single goroutine with a frame of `fn`; throws when there is none or more than one. */
export function goroutineIn(snap: ProcessSnapshot, fn: string): SnapshotGoroutine {
  const gs = goroutinesIn(snap, fn);
  if (gs.length !== 1)
    throw new Error(`expected one goroutine in ${fn} in pid ${snap.pid}, found ${gs.length}`);
  return gs[0]!;
}

/** `pid:goroutine`, to compare pairs as strings. */
export function gkey(pid: number, goroutine: number): string {
  return `${pid}:${goroutine}`;
}

/** A short description of pairs for assertion messages. */
export function describePairs(pairs: readonly LinkPair[]): string {
  return pairs
    .map((p) => `${p.link}: ${gkey(p.from.pid, p.from.goroutine)} -> ${gkey(p.to.pid, p.to.goroutine)}`)
    .join('; ');
}
