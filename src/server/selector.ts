/**
 * Process selectors: `program=orders`, `key=value,key~regex,key!=value`. Every term must hold
 * (AND). `program` matches any of the spec's program rules the process matched; every other
 * key is a process label (`hostname`, `exe_name`, `env.NAME`, `pod`, …). `~` is a regular
 * expression that must match the whole value. The empty selector (or `all`) matches every
 * process.
 */
import { PeriscopeError } from '../common/errors.js';
import type { ProcessDescription } from '../protocol/messages.js';

/** One term of a selector. */
export interface SelectorTerm {
  readonly key: string;
  readonly op: '=' | '!=' | '~' | '!~';
  readonly value: string;
  readonly re?: RegExp;
}

/** A parsed selector: its text and terms (none = everything). */
export interface Selector {
  readonly text: string;
  readonly terms: readonly SelectorTerm[];
}

const TERM_RE = /^([A-Za-z_][A-Za-z0-9_.\-/]*)\s*(!=|!~|=|~)\s*(.*)$/;

/** Parses a selector; throws a bad-usage error naming the term that is wrong. */
export function parseSelector(text: string | undefined): Selector {
  const src = (text ?? '').trim();
  if (src === '' || src === 'all') return { text: '', terms: [] };
  const terms: SelectorTerm[] = [];
  for (const raw of src.split(',')) {
    const part = raw.trim();
    if (part === '') continue;
    const m = TERM_RE.exec(part);
    if (!m)
      throw new PeriscopeError(
        'bad-usage',
        `bad selector term "${part}": write key=value, key!=value, key~regex or key!~regex (e.g. program=orders,hostname~web-.*)`,
      );
    const [, key = '', op = '=', value = ''] = m;
    const term: SelectorTerm = { key, op: op as SelectorTerm['op'], value: value.trim() };
    if (op === '~' || op === '!~') {
      try {
        terms.push({ ...term, re: new RegExp(`^(?:${term.value})$`) });
      } catch (e) {
        throw new PeriscopeError(
          'bad-usage',
          `bad regular expression in selector term "${part}": ${(e as Error).message}`,
        );
      }
    } else terms.push(term);
  }
  return { text: src, terms };
}

function values(p: ProcessDescription, key: string): string[] {
  if (key === 'program') return [...p.programs];
  const v = p.labels[key];
  if (v !== undefined) return [v];
  if (key === 'hostname') return [p.hostname];
  if (key === 'pid') return [String(p.pid)];
  if (key === 'executable') return [p.executable];
  if (key === 'key') return [p.key];
  return [];
}

function termMatches(t: SelectorTerm, p: ProcessDescription): boolean {
  const vs = values(p, t.key);
  switch (t.op) {
    case '=':
      return vs.includes(t.value);
    case '!=':
      return !vs.includes(t.value);
    case '~':
      return vs.some((v) => t.re?.test(v));
    case '!~':
      return !vs.some((v) => t.re?.test(v));
  }
}

/** Whether a process matches every term of the selector. */
export function matches(sel: Selector, p: ProcessDescription): boolean {
  return sel.terms.every((t) => termMatches(t, p));
}

function labelTermMatches(t: SelectorTerm, v: string | undefined): boolean {
  switch (t.op) {
    case '=':
      return v === t.value;
    case '!=':
      return v !== t.value;
    case '~':
      return v !== undefined && (t.re?.test(v) ?? false);
    case '!~':
      return v === undefined || !(t.re?.test(v) ?? false);
  }
}

/** Whether a snapshot's labels match a label filter (same syntax; `program` is an ordinary key here). */
export function labelsMatch(sel: Selector, labels: Readonly<Record<string, string>>): boolean {
  return sel.terms.every((t) => labelTermMatches(t, labels[t.key]));
}
