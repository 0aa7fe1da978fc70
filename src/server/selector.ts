/**
 * Process selectors: `program=orders`, `key=value,key~regex,key!=value`. Every term must hold
 * (AND). `program` matches any of the spec's program rules the process matched; every other
 * key is a process label (`hostname`, `exe_name`, `env.NAME`, `pod`, …). `~` is a regular
 * expression that must match the whole value. The empty selector (or `all`) matches every
 * process.
 */

import type { Selector, SelectorTerm } from '../common/selector-text.js';
import type { ProcessDescription } from '../protocol/messages.js';

export { parseSelector, type Selector, type SelectorTerm } from '../common/selector-text.js';

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
