/**
 * What checking a new spec found, per binary the server knows: those of connected agents'
 * processes and those of stored snapshots. Each is `fits`, `does-not-fit` (with every entry
 * that does not, at its line and column of the user's file) or `not-checked` (with why: its
 * agent did not answer, no connected agent has it, no DWARF). Derived tables and links are
 * checked against the stored tables. The refusal's text lists it all the way the local check
 * words it.
 */
import type { BinaryReport, MissingFunction, SpecCheckReport } from '../api/responses.js';
import type { BinaryCheck } from '../protocol/messages.js';
import type { CaptureError } from '../snapshot/snapshot-types.js';
import { captureErrorText } from '../snapshot/spec-fit.js';
import { issueText } from '../spec/spec-parse.js';
import type { SpecSqlProblem, StoredBinary } from '../store/store.js';
import type { AgentAnswer } from './spec-check.js';

interface Entry {
  buildId?: string;
  executable: string;
  goVersion?: string;
  hosts: Set<string>;
  processes: number;
  lastSnapshot?: number;
  check?: { by: string; problems: CaptureError[]; absent: string[]; nearest?: Map<string, string[]> };
  reason?: string;
}

const str = (v: unknown): v is string => typeof v === 'string';

/** The problems of an agent's answer that have the expected shape (an agent's answer is input). */
function wellFormed(b: BinaryCheck): CaptureError[] {
  const list = Array.isArray(b.problems) ? b.problems : [];
  return list
    .filter((p) => typeof p === 'object' && p !== null && str(p.function) && str(p.message))
    .map((p) => ({
      function: p.function,
      table: str(p.table) ? p.table : '',
      ...(str(p.column) ? { column: p.column } : {}),
      ...(str(p.expr) ? { expr: p.expr } : {}),
      ...(typeof p.at?.line === 'number' && typeof p.at.column === 'number'
        ? { at: { line: p.at.line, column: p.at.column } }
        : {}),
      message: p.message.slice(0, 2000),
    }));
}

/** Builds the report from the agents' answers, the stored binaries and the SQL check. */
export function buildReport(
  source: string,
  answers: readonly AgentAnswer[],
  stored: readonly StoredBinary[],
  sql: readonly SpecSqlProblem[],
  userFunctions: readonly { readonly function: string; readonly at?: { line: number; column: number } }[],
  waitMs: number,
): SpecCheckReport {
  const entries = new Map<string, Entry>();
  const entry = (buildId: string | undefined, executable: string, host: string): Entry => {
    const key = buildId ?? `${host}:${executable}`;
    let e = entries.get(key);
    if (!e) {
      e = { ...(buildId ? { buildId } : {}), executable, hosts: new Set(), processes: 0 };
      entries.set(key, e);
    }
    e.hosts.add(host);
    return e;
  };
  for (const { agent, processes, answer, lost, serverNote, waitNote } of answers) {
    const reported = new Set<string>();
    for (const b of answer?.binaries ?? []) {
      if (typeof b !== 'object' || b === null || !str(b.executable)) continue;
      const e = entry(str(b.buildId) ? b.buildId : undefined, b.executable, agent.hostname);
      e.processes += Array.isArray(b.processes) ? b.processes.length : 0;
      if (str(b.goVersion)) e.goVersion = b.goVersion;
      if (str(b.notChecked)) e.reason ??= `${agent.id}: ${b.notChecked.slice(0, 500)}`;
      else
        e.check ??= {
          by: agent.id,
          problems: wellFormed(b),
          absent: Array.isArray(b.functionsAbsent) ? b.functionsAbsent.filter(str) : [],
          ...(b.nearest && typeof b.nearest === 'object' ? { nearest: nearestOf(b.nearest) } : {}),
        };
      reported.add(b.buildId ?? b.executable);
    }
    // Its processes whose binary the answer left out (or all of them: no answer in time).
    for (const p of processes) {
      if (reported.has(p.buildId ?? p.executable)) continue;
      const e = entry(p.buildId, p.executable, p.hostname);
      e.processes++;
      if (p.goVersion) e.goVersion ??= p.goVersion;
      e.reason ??= answer
        ? `agent ${agent.id} did not check it`
        : lost === 'unresponsive'
          ? `agent unresponsive: ${agent.id} has not answered heartbeats${agent.unresponsiveSince ? ` since ${agent.unresponsiveSince}` : ''}`
          : lost === 'gone'
            ? `agent ${agent.id} disconnected before it answered`
            : lost === 'server'
              ? `agent ${agent.id}: ${serverNote ?? 'its server did not answer'}`
              : typeof waitNote === 'string'
                ? `agent ${agent.id}: ${waitNote}`
                : `agent ${agent.id} did not answer within ${waitMs} ms`;
    }
  }
  for (const s of stored) {
    const host = s.hostnames[0] ?? '?';
    const known = s.buildId ? entries.get(s.buildId) : undefined;
    const e = known ?? entry(s.buildId, s.executable, host);
    for (const h of s.hostnames) e.hosts.add(h);
    e.lastSnapshot = Math.max(e.lastSnapshot ?? 0, s.lastSnapshot);
    if (s.goVersion) e.goVersion ??= s.goVersion;
    if (!e.check && !e.reason)
      e.reason = s.buildId
        ? `only in stored snapshots; no connected agent on ${s.hostnames.join(', ')} has it any more`
        : 'only in stored snapshots, which recorded no build ID to find it by';
  }
  const binaries = [...entries.values()].map((e): BinaryReport => {
    const base = {
      ...(e.buildId ? { buildId: e.buildId } : {}),
      executable: e.executable,
      ...(e.goVersion ? { goVersion: e.goVersion } : {}),
      hosts: [...e.hosts].sort(),
      processes: e.processes,
      ...(e.lastSnapshot ? { lastSnapshot: e.lastSnapshot } : {}),
    };
    if (!e.check) return { ...base, status: 'not-checked', problems: [], reason: e.reason ?? 'not checked' };
    const problems = e.check.problems.map((p) => ({ ...p, text: captureErrorText(p, source) }));
    return {
      ...base,
      status: problems.length > 0 ? 'does-not-fit' : 'fits',
      checkedBy: e.check.by,
      problems,
    };
  });
  const checked = [...entries.values()].flatMap((e) => (e.check ? [e.check] : []));
  const functionsMissing =
    checked.length === 0
      ? []
      : userFunctions
          .filter((f) => checked.every((c) => c.absent.includes(f.function)))
          .map((f) => missingFunction(source, f, checked));
  return {
    source,
    fits:
      sql.length === 0 && functionsMissing.length === 0 && binaries.every((b) => b.status !== 'does-not-fit'),
    sql: sql.map((p) => ({ ...p, text: issueText(source, p) })),
    binaries,
    functionsMissing,
    warnings: [],
  };
}

/** The nearest names an agent sent, kept only where they have the expected shape (it is input). */
function nearestOf(raw: object): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [fn, names] of Object.entries(raw))
    if (Array.isArray(names)) out.set(fn, names.filter(str).slice(0, 10));
  return out;
}

/** A user function no checked binary has, with the names the binaries suggest most often first. */
function missingFunction(
  source: string,
  f: { readonly function: string; readonly at?: { line: number; column: number } },
  checked: readonly NonNullable<Entry['check']>[],
): MissingFunction {
  const votes = new Map<string, number>();
  let asked = false;
  for (const c of checked) {
    const names = c.nearest?.get(f.function);
    if (!names) continue;
    asked = true;
    names.forEach((n, i) => {
      votes.set(n, (votes.get(n) ?? 0) + names.length - i);
    });
  }
  const nearest = [...votes]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, 3)
    .map(([n]) => n);
  const where = f.at ? `${source}:${f.at.line}:${f.at.column}` : source;
  const n = checked.length;
  const near =
    nearest.length > 0 ? `; nearest: ${nearest.join(', ')}` : asked ? '; no function has a similar name' : '';
  return {
    function: f.function,
    ...(f.at ? { at: f.at } : {}),
    nearest,
    text: `${where}: ${f.function} is in none of the ${n} binar${n === 1 ? 'y' : 'ies'} checked${near}`,
  };
}

function binaryName(b: BinaryReport): string {
  const facts = [b.goVersion, b.buildId ? `build ${b.buildId.slice(0, 12)}` : undefined].filter(Boolean);
  return `${b.executable}${facts.length ? ` (${facts.join(', ')})` : ''} on ${b.hosts.join(', ')}`;
}

/** The refusal's text: a headline, every problem once with the binaries it is in, then what was not checked. */
export function reportText(r: SpecCheckReport, headline: string): string {
  const lines = [headline];
  const byText = new Map<string, BinaryReport[]>();
  for (const b of r.binaries)
    for (const p of b.problems) byText.set(p.text, [...(byText.get(p.text) ?? []), b]);
  for (const [text, bins] of byText) {
    lines.push(`  ${text}`);
    for (const b of bins) lines.push(`      in ${binaryName(b)}`);
  }
  for (const p of r.sql) lines.push(`  ${p.text}`);
  for (const m of r.functionsMissing) lines.push(`  ${m.text}`);
  const unchecked = r.binaries.filter((b) => b.status === 'not-checked');
  if (unchecked.length > 0) {
    lines.push(`not checked (${unchecked.length}):`);
    for (const b of unchecked) lines.push(`  ${binaryName(b)}: ${b.reason}`);
  }
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}

/** What the report counts, in words: `1 of 3 binaries does not fit (1 not checked); 1 derived table or link does not build`. */
export function reportSummary(r: SpecCheckReport): string {
  const n = (s: BinaryReport['status']) => r.binaries.filter((b) => b.status === s).length;
  const total = r.binaries.length;
  const unchecked = n('not-checked') > 0 ? ` (${n('not-checked')} not checked)` : '';
  const parts = [
    total === 0
      ? 'no binary known to check it against'
      : `${n('does-not-fit')} of ${total} binar${total === 1 ? 'y' : 'ies'} ${n('does-not-fit') === 1 ? 'does' : 'do'} not fit${unchecked}`,
  ];
  if (r.functionsMissing.length > 0)
    parts.push(
      `${r.functionsMissing.length} function${r.functionsMissing.length === 1 ? ' is' : 's are'} in none of the binaries`,
    );
  if (r.sql.length > 0)
    parts.push(
      `${r.sql.length} derived table${r.sql.length === 1 ? ' or link does' : 's or links do'} not build`,
    );
  return parts.join('; ');
}
