/**
 * A strict parser of the Prometheus text exposition format 0.0.4, written from the format's
 * specification (prometheus.io/docs/instrumenting/exposition_formats) to check what
 * `/metrics` serves: it throws, naming the line, on anything the format does not allow —
 * a bad metric or label name, an escape other than `\\`, `\"`, `\n` in a label value (`\\`,
 * `\n` in HELP), a second HELP or TYPE for a name, a TYPE after the family's samples, a
 * family's samples not in one group, a duplicate label or series, an unparsable value, and
 * histograms without a `+Inf` bucket, with non-cumulative buckets, or with `_count` differing
 * from the `+Inf` bucket.
 */

/** One sample line. */
export interface ParsedSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** One metric family. */
export interface ParsedFamily {
  readonly name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help?: string;
  readonly samples: ParsedSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function fail(n: number, line: string, why: string): never {
  throw new Error(`line ${n}: ${why}: ${JSON.stringify(line)}`);
}

/** Go's strconv.ParseFloat as the format uses it. */
function parseValue(text: string): number | undefined {
  if (text === 'NaN') return Number.NaN;
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return undefined;
  return Number(text);
}

function unescapeHelp(n: number, line: string, s: string): string {
  return s.replace(/\\(.?)/g, (_, c: string) => {
    if (c === '\\') return '\\';
    if (c === 'n') return '\n';
    return fail(n, line, `escape \\${c} in HELP`);
  });
}

/** The family a sample name belongs to, given the types declared. */
function familyOf(name: string, types: Map<string, ParsedFamily>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue;
    const base = name.slice(0, -suffix.length);
    const t = types.get(base)?.type;
    if (t === 'histogram' || (t === 'summary' && suffix !== '_bucket')) return base;
  }
  return name;
}

/** Parses a whole exposition; throws on the first violation. */
export function parsePrometheusText(text: string): Map<string, ParsedFamily> {
  if (text.length > 0 && !text.endsWith('\n'))
    throw new Error('the exposition does not end with a line feed');
  const families = new Map<string, ParsedFamily>();
  const closed = new Set<string>();
  let current: string | undefined;
  const seen = new Set<string>();
  const lines = text.split('\n');
  lines.pop();
  lines.forEach((line, i) => {
    const n = i + 1;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const m = /^#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(line);
      if (!m) return; // a comment
      const [, kind, name = '', rest = ''] = m;
      if (NAME.exec(name)?.[0] !== name) fail(n, line, 'bad metric name');
      let f = families.get(name);
      if (!f) {
        f = { name, type: 'untyped', samples: [] };
        families.set(name, f);
      }
      if (kind === 'HELP') {
        if (f.help !== undefined) fail(n, line, 'second HELP');
        f.help = unescapeHelp(n, line, rest);
      } else {
        if (!TYPES.has(rest)) fail(n, line, 'unknown TYPE');
        if (f.samples.length > 0) fail(n, line, 'TYPE after samples');
        if ((f as { typed?: boolean }).typed) fail(n, line, 'second TYPE');
        (f as { typed?: boolean }).typed = true;
        f.type = rest as ParsedFamily['type'];
      }
      return;
    }
    const nameText = NAME.exec(line)?.[0];
    if (!nameText) fail(n, line, 'no metric name');
    let pos = nameText.length;
    const labels: Record<string, string> = {};
    if (line[pos] === '{') {
      pos++;
      for (;;) {
        while (line[pos] === ' ') pos++;
        if (line[pos] === '}') {
          pos++;
          break;
        }
        const label = LABEL.exec(line.slice(pos))?.[0];
        if (!label) fail(n, line, `bad label name at ${pos}`);
        pos += label.length;
        if (line[pos] !== '=' || line[pos + 1] !== '"') fail(n, line, `no ="…" after label ${label}`);
        pos += 2;
        let value = '';
        for (;;) {
          const c = line[pos];
          if (c === undefined) fail(n, line, 'unterminated label value');
          if (c === '"') break;
          if (c === '\\') {
            const e = line[pos + 1];
            if (e === '\\') value += '\\';
            else if (e === '"') value += '"';
            else if (e === 'n') value += '\n';
            else fail(n, line, `escape \\${e ?? ''} in a label value`);
            pos += 2;
          } else {
            value += c;
            pos++;
          }
        }
        pos++;
        if (label in labels) fail(n, line, `label ${label} twice`);
        labels[label] = value;
        if (line[pos] === ',') pos++;
        else if (line[pos] !== '}') fail(n, line, `expected , or } at ${pos}`);
      }
    }
    const rest = line.slice(pos);
    const m = /^[ \t]+(\S+)(?:[ \t]+(-?\d+))?[ \t]*$/.exec(rest);
    if (!m) fail(n, line, 'no value');
    const value = parseValue(m[1] ?? '');
    if (value === undefined) fail(n, line, 'bad value');
    const base = familyOf(nameText, families);
    if (current !== base) {
      if (closed.has(base)) fail(n, line, `samples of ${base} not in one group`);
      if (current !== undefined) closed.add(current);
      current = base;
    }
    const series = `${nameText}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(series)) fail(n, line, 'duplicate series');
    seen.add(series);
    let f = families.get(base);
    if (!f) {
      f = { name: base, type: 'untyped', samples: [] };
      families.set(base, f);
    }
    if (f.type === 'histogram') {
      if (nameText === base) fail(n, line, 'a histogram sample without _bucket, _sum or _count');
      if (nameText.endsWith('_bucket') && !('le' in labels)) fail(n, line, 'a bucket without le');
    } else if (f.type === 'counter' && value < 0) fail(n, line, 'a negative counter');
    f.samples.push({ name: nameText, labels, value });
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

function checkHistogram(f: ParsedFamily): void {
  const bySeries = new Map<string, { buckets: [number, number][]; count?: number; sum?: boolean }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const e = bySeries.get(key) ?? { buckets: [] };
    bySeries.set(key, e);
    if (s.name.endsWith('_bucket')) {
      const bound = parseValue(le ?? '');
      if (bound === undefined || Number.isNaN(bound)) throw new Error(`${f.name}: bad le ${le}`);
      e.buckets.push([bound, s.value]);
    } else if (s.name.endsWith('_count')) e.count = s.value;
    else e.sum = true;
  }
  for (const [key, e] of bySeries) {
    const sorted = [...e.buckets].sort((a, b) => a[0] - b[0]);
    const last = sorted.at(-1);
    if (last?.[0] !== Number.POSITIVE_INFINITY) throw new Error(`${f.name}${key}: no +Inf bucket`);
    for (let i = 1; i < sorted.length; i++)
      if ((sorted[i]?.[1] ?? 0) < (sorted[i - 1]?.[1] ?? 0))
        throw new Error(`${f.name}${key}: buckets not cumulative`);
    if (e.count !== last[1])
      throw new Error(`${f.name}${key}: _count ${e.count} is not the +Inf bucket ${last[1]}`);
    if (!e.sum) throw new Error(`${f.name}${key}: no _sum`);
  }
}

/** The value of the sample `name` whose labels include `labels` (undefined when none; throws when several). */
export function sampleValue(
  families: Map<string, ParsedFamily>,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number | undefined {
  const hits: number[] = [];
  for (const f of families.values())
    for (const s of f.samples)
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) hits.push(s.value);
  if (hits.length > 1) throw new Error(`${hits.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return hits[0];
}
