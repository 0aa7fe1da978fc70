/**
 * The text of process selectors: `program=orders`, `key=value,key~regex,key!=value`. Every term
 * must hold (AND); `~` is a regular expression that must match the whole value; the empty
 * selector (or `all`) matches everything. Parsing only: the server matches live processes
 * (server/selector.ts), the store turns a token's program selectors into SQL (process-filter.ts).
 */
import { PeriscopeError } from './errors.js';

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
