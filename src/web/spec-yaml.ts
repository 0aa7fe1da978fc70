/** Adding a derived table to the spec's YAML text, keeping its comments and layout (the `yaml` library's documents). */
import { isMap, isScalar, isSeq, parseDocument, type YAMLMap } from 'yaml';
import { defaultTableName } from '../spec/default-table-name.js';
import { appendItem, appendPair, keepText, replaceValue } from './yaml-splice.js';

/** The spec text with one more derived table (or the one of that name replaced); throws when the text is not a spec map. */
export function withDerivedTable(yaml: string, name: string, sql: string): string {
  const doc = parseDocument(yaml.trim() === '' ? 'version: 1\n' : yaml);
  if (doc.errors.length > 0) throw new Error(`the current spec does not parse: ${doc.errors[0]?.message}`);
  if (doc.contents !== null && !isMap(doc.contents)) throw new Error('the current spec is not a YAML map');
  const entry = doc.createNode({ name, sql: sql.trim() });
  const derived = doc.get('derived');
  let spliced: string | undefined;
  if (isSeq(derived)) {
    const at = derived.items.findIndex((it) => isMap(it) && it.get('name') === name);
    if (at < 0) spliced = appendItem(yaml, derived, { name, sql: sql.trim() });
    if (at >= 0) derived.items[at] = entry;
    else derived.items.push(entry);
  } else doc.set('derived', doc.createNode([{ name, sql: sql.trim() }]));
  return keepText(spliced, doc.toString({ lineWidth: 0 }));
}

/** One captured expression to add: on `fn`, into `table`, as `column`. */
export interface NewCapture {
  readonly fn: string;
  readonly table: string;
  readonly column: string;
  readonly expr: string;
}

/**
 * The spec text with one more capture: added to the entry of that function and table (or a new
 * entry); a capture of that column is replaced. Throws when the text is not a spec map.
 */
export function withCapture(yaml: string, c: NewCapture): string {
  const doc = parseDocument(yaml.trim() === '' ? 'version: 1\n' : yaml);
  if (doc.errors.length > 0) throw new Error(`the current spec does not parse: ${doc.errors[0]?.message}`);
  if (doc.contents !== null && !isMap(doc.contents)) throw new Error('the current spec is not a YAML map');
  const functions = doc.get('functions');
  const entry = isSeq(functions)
    ? functions.items.find((it) => isMap(it) && it.get('function') === c.fn && tableOf(it, c.fn) === c.table)
    : undefined;
  let spliced: string | undefined;
  if (isMap(entry)) {
    const capture = entry.get('capture');
    if (isMap(capture)) {
      const old = capture.get(c.column, true);
      spliced = isScalar(old) ? replaceValue(yaml, old, c.expr) : appendPair(yaml, capture, c.column, c.expr);
      capture.set(c.column, c.expr);
    } else entry.set('capture', doc.createNode({ [c.column]: c.expr }));
  } else {
    const value = { function: c.fn, table: c.table, capture: { [c.column]: c.expr } };
    if (isSeq(functions)) {
      spliced = appendItem(yaml, functions, value);
      functions.items.push(doc.createNode(value));
    } else doc.set('functions', doc.createNode([value]));
  }
  return keepText(spliced, doc.toString({ lineWidth: 0 }));
}

/** The table a `functions:` entry fills: its `table:`, else the name the parser gives it. */
function tableOf(entry: YAMLMap, fn: string): string {
  const t = entry.get('table');
  return typeof t === 'string' ? t : defaultTableName(fn);
}

/** The captures the spec has on one function: table, column and expression. */
export function capturesOf(yaml: string, fn: string): { table: string; column: string; expr: string }[] {
  const doc = parseDocument(yaml);
  const functions = doc.get('functions');
  if (!isSeq(functions)) return [];
  const out: { table: string; column: string; expr: string }[] = [];
  for (const it of functions.items) {
    if (!isMap(it) || it.get('function') !== fn) continue;
    const capture = it.get('capture');
    if (!isMap(capture)) continue;
    for (const pair of capture.items)
      out.push({
        table: tableOf(it, fn),
        column: String(pair.key),
        expr: String(pair.value),
      });
  }
  return out;
}

/** The spec text with `value` added to the list `section` (or the item whose `key` equals value's replaced). */
function withListItem(yaml: string, section: string, key: string, value: Record<string, unknown>): string {
  const doc = parseDocument(yaml.trim() === '' ? 'version: 1\n' : yaml);
  if (doc.errors.length > 0) throw new Error(`the current spec does not parse: ${doc.errors[0]?.message}`);
  if (doc.contents !== null && !isMap(doc.contents)) throw new Error('the current spec is not a YAML map');
  const list = doc.get(section);
  let spliced: string | undefined;
  if (isSeq(list)) {
    const at = list.items.findIndex((it) => isMap(it) && it.get(key) === value[key]);
    if (at < 0) spliced = appendItem(yaml, list, value);
    if (at >= 0) list.items[at] = doc.createNode(value);
    else list.items.push(doc.createNode(value));
  } else doc.set(section, doc.createNode([value]));
  return keepText(spliced, doc.toString({ lineWidth: 0 }));
}

/** A function table to add: its function, its name, and column → Go expression. */
export interface NewFunctionTable {
  readonly fn: string;
  readonly table: string;
  readonly capture: Readonly<Record<string, string>>;
}

/**
 * The spec text with one more function table (a `functions:` entry; one of that table name is
 * replaced). A function another table already captures on may have this one too: each table
 * gets its rows from the function's frames.
 */
export function withFunctionTable(yaml: string, t: NewFunctionTable): string {
  return withListItem(yaml, 'functions', 'table', {
    function: t.fn,
    table: t.table,
    capture: { ...t.capture },
  });
}

/** A link to add: rows of `from` and `to` whose listed columns are equal belong together. */
export interface NewLink {
  readonly name: string;
  readonly description?: string;
  readonly from: { readonly table: string; readonly columns: readonly string[] };
  readonly to: { readonly table: string; readonly columns: readonly string[] };
}

/** The spec text with one more link (one of that name is replaced). */
export function withLink(yaml: string, l: NewLink): string {
  const value: Record<string, unknown> = { name: l.name };
  if (l.description) value.description = l.description;
  value.from = { table: l.from.table, columns: [...l.from.columns] };
  value.to = { table: l.to.table, columns: [...l.to.columns] };
  return withListItem(yaml, 'links', 'name', value);
}
