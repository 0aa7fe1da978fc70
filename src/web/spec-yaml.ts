/** Adding a derived table to the spec's YAML text, keeping its comments and layout (the `yaml` library's documents). */
import { isMap, isSeq, parseDocument } from 'yaml';

/** The spec text with one more derived table (or the one of that name replaced); throws when the text is not a spec map. */
export function withDerivedTable(yaml: string, name: string, sql: string): string {
  const doc = parseDocument(yaml.trim() === '' ? 'version: 1\n' : yaml);
  if (doc.errors.length > 0) throw new Error(`the current spec does not parse: ${doc.errors[0]?.message}`);
  if (doc.contents !== null && !isMap(doc.contents)) throw new Error('the current spec is not a YAML map');
  const entry = doc.createNode({ name, sql: sql.trim() });
  const derived = doc.get('derived');
  if (isSeq(derived)) {
    const at = derived.items.findIndex((it) => isMap(it) && it.get('name') === name);
    if (at >= 0) derived.items[at] = entry;
    else derived.items.push(entry);
  } else doc.set('derived', doc.createNode([{ name, sql: sql.trim() }]));
  return doc.toString({ lineWidth: 0 });
}
