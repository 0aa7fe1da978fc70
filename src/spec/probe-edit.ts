/**
 * Editing the probes of a spec text: `periscope probe add` and `rm` make the next spec version
 * from the current one with one probe added or removed. The rest of the text — comments,
 * order, quoting — stays as the user wrote it.
 */
import { isMap, isScalar, isSeq, parseDocument, type YAMLMap, type YAMLSeq } from 'yaml';
import { PeriscopeError } from '../common/errors.js';

/** A probe as an API request gives it: the keys of a `probes:` entry (docs/spec.md). */
export type ProbeFields = Readonly<Record<string, unknown>>;

function probesSeq(text: string, create: boolean) {
  const doc = parseDocument(text.trim() === '' ? 'version: 1\n' : text);
  if (doc.errors.length > 0)
    throw new PeriscopeError(
      'bad-spec',
      `the current spec does not parse: ${doc.errors[0]!.message.split('\n')[0]}`,
    );
  if (!isMap(doc.contents)) throw new PeriscopeError('bad-spec', 'the current spec is not a mapping');
  let seq = doc.get('probes', true) as YAMLSeq | undefined;
  if ((seq === undefined || (isScalar(seq) && (seq as { value: unknown }).value === null)) && create) {
    seq = doc.createNode([]) as YAMLSeq;
    doc.set('probes', seq);
  }
  if (seq !== undefined && !isSeq(seq))
    throw new PeriscopeError('bad-spec', 'the current spec\'s "probes" is not a list');
  return { doc, seq };
}

function nameOf(item: unknown): string | undefined {
  if (!isMap(item)) return undefined;
  const n = (item as YAMLMap).get('name');
  return typeof n === 'string' || typeof n === 'number' ? String(n) : undefined;
}

/** The spec text with `probe` appended to its probes; a bad-usage error when its name is taken. */
export function addProbeToSpec(text: string, probe: ProbeFields): string {
  const name = probe.name;
  if (typeof name !== 'string' || name === '')
    throw new PeriscopeError('bad-usage', 'a probe needs a "name"');
  const { doc, seq } = probesSeq(text, true);
  if (seq!.items.some((i) => nameOf(i) === name))
    throw new PeriscopeError(
      'bad-usage',
      `a probe named ${name} is already in the spec; remove it first (periscope probe rm ${name}) or choose another name`,
    );
  const node = doc.createNode(probe) as YAMLMap;
  node.flow = false;
  seq!.items.push(node);
  return doc.toString({ lineWidth: 0 });
}

/** The spec text without probe `name`; a not-found error when it has none of that name. */
export function removeProbeFromSpec(text: string, name: string): string {
  const { doc, seq } = probesSeq(text, false);
  const i = seq?.items.findIndex((x) => nameOf(x) === name) ?? -1;
  if (!seq || i < 0)
    throw new PeriscopeError(
      'not-found',
      `the current spec has no probe named ${name}; periscope probe list shows them`,
    );
  seq.items.splice(i, 1);
  if (seq.items.length === 0) doc.delete('probes');
  return doc.toString({ lineWidth: 0 });
}
