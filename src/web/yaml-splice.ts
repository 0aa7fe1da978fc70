/**
 * Edits of the spec's YAML as text insertions into the user's own text: the `yaml` library
 * keeps comments but prints every scalar anew, and a folded (`>`) SQL block loses the line
 * breaks its author chose (they are not in its value), so one added capture showed in the
 * spec's history as a rewrite of unrelated derived tables. An insertion is used only when the
 * text it gives parses to what the library's edit gives; else the library's text is.
 */
import { Document, type Node, parseDocument, type YAMLMap, type YAMLSeq } from 'yaml';

function lineStart(src: string, i: number): number {
  return src.lastIndexOf('\n', i - 1) + 1;
}

/** The text of `value` as block YAML, every line indented by `indent` spaces. */
function indented(value: unknown, indent: number): string {
  const text = new Document(value).toString({ lineWidth: 0 });
  return text
    .split('\n')
    .map((l) => (l === '' ? l : ' '.repeat(indent) + l))
    .join('\n');
}

/** Inserts `text` (whole lines) after the line where `end` is; a file without a final newline gets one. */
function insertAfterLine(src: string, end: number, text: string): string {
  const nl = src.indexOf('\n', Math.max(0, end - 1));
  const at = nl < 0 ? src.length : nl + 1;
  return `${src.slice(0, at)}${nl < 0 ? '\n' : ''}${text}${src.slice(at)}`;
}

/** A pair appended to a block map of the source: undefined when the map is not one. */
export function appendPair(src: string, map: YAMLMap, key: string, value: unknown): string | undefined {
  const first = map.items[0]?.key as Node | undefined;
  const last = map.items.at(-1);
  if (map.flow || !first?.range || !last) return undefined;
  const end = (last.value as Node | null)?.range?.[1] ?? (last.key as Node).range?.[1];
  if (end === undefined) return undefined;
  return insertAfterLine(
    src,
    end,
    indented({ [key]: value }, first.range[0] - lineStart(src, first.range[0])),
  );
}

/** An item appended to a block sequence of the source: undefined when the sequence is not one. */
export function appendItem(src: string, seq: YAMLSeq, value: unknown): string | undefined {
  const first = seq.items[0] as Node | undefined;
  const last = seq.items.at(-1) as Node | undefined;
  if (seq.flow || !first?.range || !last?.range) return undefined;
  const dash = src.lastIndexOf('-', first.range[0]);
  if (dash < lineStart(src, first.range[0])) return undefined;
  return insertAfterLine(src, last.range[1], indented([value], dash - lineStart(src, dash)));
}

/** A scalar value of the source replaced: undefined when it is not a plain one-line scalar. */
export function replaceValue(src: string, node: Node, value: string): string | undefined {
  const r = node.range;
  if (!r || src.slice(r[0], r[1]).includes('\n')) return undefined;
  const text = new Document(value).toString({ lineWidth: 0 }).trimEnd();
  if (text.includes('\n')) return undefined;
  return `${src.slice(0, r[0])}${text}${src.slice(r[1])}`;
}

/** `spliced` when it parses to what `edited` (the library's text) does; else `edited`. */
export function keepText(spliced: string | undefined, edited: string): string {
  if (spliced === undefined) return edited;
  const a = parseDocument(spliced);
  if (a.errors.length > 0) return edited;
  return JSON.stringify(a.toJS()) === JSON.stringify(parseDocument(edited).toJS()) ? spliced : edited;
}
