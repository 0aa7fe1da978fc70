/**
 * Parsing and validating a spec document (YAML) with errors that give the line and column
 * and say what is wrong. Checking it against a binary is another module's job.
 */
import { readFile } from 'node:fs/promises';
import type { LineCounter, Node, YAMLMap } from 'yaml';
import { PeriscopeError } from '../common/errors.js';
import { defaultTableName } from './default-table-name.js';
import { parseProbe } from './probe-parse.js';
import { cachedSpec, keepSpec } from './spec-cache.js';
import {
  type CaptureSpec,
  DEFAULT_LIMITS,
  type DerivedTableSpec,
  type FunctionSpec,
  type LinkSpec,
  type ProbeEntry,
  type ProgramSpec,
  type RedactionSpec,
  type Spec,
  type SpecPosition,
  type ValueLimits,
} from './spec-types.js';
import { checkTraces } from './trace-check.js';
import { parseTrace } from './trace-parse.js';
import { isMap, isScalar, isSeq, newLineCounter, parseDocument } from './yaml-lib.js';

/** One problem in a spec document, with where it is. */
export interface SpecIssue {
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

/** `FILE:LINE:COLUMN: message`: one issue of a spec, naming the file the user gave. */
export function issueText(source: string, issue: SpecIssue): string {
  return `${source}:${issue.line}:${issue.column}: ${issue.message}`;
}

/**
 * A spec that does not validate: every issue found, not just the first. The message is the
 * first issue and a count; with a `headline`, the headline and then every issue, one a line.
 */
export class SpecError extends PeriscopeError {
  readonly issues: readonly SpecIssue[];
  constructor(source: string, issues: readonly SpecIssue[], headline?: string) {
    const first = issues[0]!;
    const more =
      issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
    super(
      'bad-spec',
      headline === undefined
        ? `${issueText(source, first)}${more}`
        : [headline, ...issues.map((i) => `  ${issueText(source, i)}`)].join('\n'),
    );
    this.issues = issues;
  }
}

const SQL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export { defaultTableName };

class Ctx {
  readonly issues: SpecIssue[] = [];
  constructor(
    private readonly lines: LineCounter,
    private readonly text: string,
  ) {}
  pos(node: Node | null | undefined): SpecPosition {
    const off = node?.range?.[0] ?? 0;
    const p = this.lines.linePos(off);
    return { line: p.line, column: p.col };
  }
  /** Where `value` starts in the text of `node`, if it is written there as it is, on one line. */
  verbatimAt(node: Node, value: string): SpecPosition | undefined {
    const off = node.range?.[0];
    if (off === undefined || value.includes('\n')) return undefined;
    for (const start of [off, off + 1])
      if (this.text.startsWith(value, start)) {
        const p = this.lines.linePos(start);
        return { line: p.line, column: p.col };
      }
    return undefined;
  }
  fail(node: Node | null | undefined, message: string): void {
    this.issues.push({ ...this.pos(node), message });
  }
}

function str(ctx: Ctx, map: YAMLMap, key: string, what: string, required = true): string | undefined {
  const node = map.get(key, true) as Node | undefined;
  if (node === undefined) {
    if (required) ctx.fail(map, `${what} needs "${key}"`);
    return undefined;
  }
  if (!isScalar(node) || (typeof node.value !== 'string' && typeof node.value !== 'number')) {
    ctx.fail(node, `"${key}" of ${what} must be a string`);
    return undefined;
  }
  return String(node.value);
}

function checkKeys(ctx: Ctx, map: YAMLMap, allowed: string[], what: string): void {
  for (const pair of map.items) {
    const k = isScalar(pair.key) ? String(pair.key.value) : '?';
    if (!allowed.includes(k))
      ctx.fail(pair.key as Node, `unknown key "${k}" in ${what}; expected one of: ${allowed.join(', ')}`);
  }
}

function seqOf(ctx: Ctx, root: YAMLMap, key: string): YAMLMap[] {
  const node = root.get(key, true) as Node | undefined;
  if (node === undefined || (isScalar(node) && node.value === null)) return [];
  if (!isSeq(node)) {
    ctx.fail(node, `"${key}" must be a list`);
    return [];
  }
  const out: YAMLMap[] = [];
  for (const item of node.items) {
    if (isMap(item)) out.push(item);
    else ctx.fail(item as Node, `each entry of "${key}" must be a mapping`);
  }
  return out;
}

function parseFunction(ctx: Ctx, m: YAMLMap, tables: Map<string, SpecPosition>): FunctionSpec | undefined {
  checkKeys(ctx, m, ['function', 'table', 'capture', 'columns'], 'a function');
  const fn = str(ctx, m, 'function', 'a function entry');
  if (fn === undefined) return undefined;
  const table = str(ctx, m, 'table', 'a function entry', false) ?? defaultTableName(fn);
  const tnode = m.get('table', true) as Node | undefined;
  if (!SQL_NAME.test(table))
    ctx.fail(tnode ?? m, `table name "${table}" must be letters, digits and _ (not starting with a digit)`);
  const seen = tables.get(table);
  if (seen) ctx.fail(tnode ?? m, `table "${table}" is already defined at line ${seen.line}`);
  tables.set(table, ctx.pos(tnode ?? m));
  const capture: CaptureSpec[] = [];
  const cnode = m.get('capture', true) as Node | undefined;
  if (cnode !== undefined && !isMap(cnode))
    ctx.fail(cnode, '"capture" must map column names to Go expressions, e.g. user: req.User.ID');
  if (isMap(cnode)) {
    for (const pair of cnode.items) {
      const col = isScalar(pair.key) ? String(pair.key.value) : '';
      const v = pair.value as Node | null;
      if (!SQL_NAME.test(col))
        ctx.fail(pair.key as Node, `column name "${col}" must be letters, digits and _`);
      if (!isScalar(v) || typeof v.value !== 'string' || v.value.trim() === '') {
        ctx.fail(v ?? (pair.key as Node), `capture "${col}" needs a Go expression as a string`);
        continue;
      }
      const exprAt = ctx.verbatimAt(v, v.value);
      capture.push({ column: col, expr: v.value, at: ctx.pos(v), ...(exprAt ? { exprAt } : {}) });
    }
  }
  const columns: FunctionSpec['columns'][number][] = [];
  const colNode = m.get('columns', true) as Node | undefined;
  if (colNode !== undefined && !isMap(colNode))
    ctx.fail(colNode, '"columns" must map column names to SQL expressions');
  if (isMap(colNode)) {
    for (const pair of colNode.items) {
      const name = isScalar(pair.key) ? String(pair.key.value) : '';
      const v = pair.value as Node | null;
      if (!SQL_NAME.test(name))
        ctx.fail(pair.key as Node, `column name "${name}" must be letters, digits and _`);
      if (capture.some((c) => c.column === name))
        ctx.fail(pair.key as Node, `column "${name}" is both captured and computed`);
      if (!isScalar(v) || typeof v.value !== 'string')
        ctx.fail(v ?? (pair.key as Node), `column "${name}" needs an SQL expression as a string`);
      else columns.push({ name, sql: v.value, at: ctx.pos(v) });
    }
  }
  return { function: fn, table, capture, columns, at: ctx.pos(m) };
}

function parseProgram(ctx: Ctx, m: YAMLMap): ProgramSpec | undefined {
  checkKeys(ctx, m, ['name', 'match'], 'a program');
  const name = str(ctx, m, 'name', 'a program');
  const node = m.get('match', true) as Node | undefined;
  if (!isMap(node)) {
    ctx.fail(
      node ?? m,
      'a program needs "match": label name -> regular expression, e.g. executable: "orders$"',
    );
    return undefined;
  }
  const match: Record<string, string> = {};
  for (const pair of node.items) {
    const label = isScalar(pair.key) ? String(pair.key.value) : '';
    const v = pair.value as Node | null;
    if (!isScalar(v) || (typeof v.value !== 'string' && typeof v.value !== 'number')) {
      ctx.fail(v ?? (pair.key as Node), `label "${label}" needs a regular expression as a string`);
      continue;
    }
    try {
      new RegExp(String(v.value));
    } catch (e) {
      ctx.fail(
        v,
        `label "${label}": ${(e as Error).message.replace(/^Invalid regular expression: /, 'invalid regular expression ')}`,
      );
    }
    match[label] = String(v.value);
  }
  return name === undefined ? undefined : { name, match, at: ctx.pos(m) };
}

function parseDerived(ctx: Ctx, m: YAMLMap): DerivedTableSpec | undefined {
  checkKeys(ctx, m, ['name', 'sql'], 'a derived table');
  const name = str(ctx, m, 'name', 'a derived table');
  const sql = str(ctx, m, 'sql', 'a derived table');
  if (name !== undefined && !SQL_NAME.test(name))
    ctx.fail(m.get('name', true) as Node, `table name "${name}" must be letters, digits and _`);
  return name === undefined || sql === undefined ? undefined : { name, sql, at: ctx.pos(m) };
}

function parseEnd(ctx: Ctx, m: YAMLMap, key: 'from' | 'to'): LinkSpec['from'] | undefined {
  const node = m.get(key, true) as Node | undefined;
  if (!isMap(node)) {
    ctx.fail(node ?? m, `a link needs "${key}": { table: NAME, columns: [COL, …] }`);
    return undefined;
  }
  const table = str(ctx, node, 'table', `"${key}" of a link`);
  const cols = node.get('columns', true) as Node | undefined;
  if (
    !isSeq(cols) ||
    cols.items.length === 0 ||
    !cols.items.every((c) => isScalar(c) && typeof c.value === 'string')
  ) {
    ctx.fail(cols ?? node, `"${key}.columns" must be a non-empty list of column names`);
    return undefined;
  }
  return table === undefined
    ? undefined
    : { table, columns: cols.items.map((c) => String((c as { value: unknown }).value)) };
}

function parseLink(ctx: Ctx, m: YAMLMap): LinkSpec | undefined {
  checkKeys(ctx, m, ['name', 'description', 'from', 'to'], 'a link');
  const name = str(ctx, m, 'name', 'a link');
  const description = str(ctx, m, 'description', 'a link', false) ?? '';
  const from = parseEnd(ctx, m, 'from');
  const to = parseEnd(ctx, m, 'to');
  if (from && to && from.columns.length !== to.columns.length) {
    ctx.fail(
      m,
      `link "${name}" pairs ${from.columns.length} column(s) with ${to.columns.length}; they must pair one to one`,
    );
  }
  return name === undefined || !from || !to ? undefined : { name, description, from, to, at: ctx.pos(m) };
}

function parseLimits(ctx: Ctx, root: YAMLMap): ValueLimits {
  const node = root.get('limits', true) as Node | undefined;
  if (node === undefined) return DEFAULT_LIMITS;
  if (!isMap(node)) {
    ctx.fail(node, '"limits" must be a mapping: maxString, maxElements, maxDepth');
    return DEFAULT_LIMITS;
  }
  checkKeys(ctx, node, ['maxString', 'maxElements', 'maxDepth'], 'limits');
  const num = (key: keyof ValueLimits): number => {
    const v = node.get(key, true) as Node | undefined;
    if (v === undefined) return DEFAULT_LIMITS[key];
    if (!isScalar(v) || typeof v.value !== 'number' || !Number.isInteger(v.value) || v.value < 0) {
      ctx.fail(v, `limits.${key} must be a non-negative integer`);
      return DEFAULT_LIMITS[key];
    }
    return v.value;
  };
  return { maxString: num('maxString'), maxElements: num('maxElements'), maxDepth: num('maxDepth') };
}

function stringList(ctx: Ctx, map: YAMLMap, key: string): string[] {
  const node = map.get(key, true) as Node | undefined;
  if (node === undefined || (isScalar(node) && node.value === null)) return [];
  if (
    !isSeq(node) ||
    !node.items.every((x) => isScalar(x) && typeof x.value === 'string' && x.value !== '')
  ) {
    ctx.fail(node, `"redaction.${key}" must be a list of non-empty strings`);
    return [];
  }
  return node.items.map((x) => String((x as { value: unknown }).value));
}

function parseRedaction(ctx: Ctx, root: YAMLMap): RedactionSpec | undefined {
  const node = root.get('redaction', true) as Node | undefined;
  if (node === undefined || (isScalar(node) && node.value === null)) return undefined;
  if (!isMap(node)) {
    ctx.fail(node, '"redaction" must be a mapping: names, types, off');
    return undefined;
  }
  checkKeys(ctx, node, ['names', 'types', 'off'], 'redaction');
  const types = stringList(ctx, node, 'types');
  for (const t of types)
    if (!/^[^\s.]+(\/[^\s]+)*\.[^\s.]+$/.test(t))
      ctx.fail(
        node.get('types', true) as Node,
        `redaction type "${t}" must be a Go type name with its import path, e.g. crypto/tls.Certificate or main.Secret`,
      );
  return {
    names: stringList(ctx, node, 'names'),
    types,
    off: stringList(ctx, node, 'off'),
    at: ctx.pos(node),
  };
}

/**
 * Parses and validates a spec from YAML text; throws SpecError listing every problem. From
 * the disk cache when a one-shot command turned it on (spec-cache.ts).
 */
export function parseSpec(text: string, source = 'spec'): Spec {
  const hit = cachedSpec(text, source);
  if (hit) return hit;
  const spec = parseSpecYaml(text, source);
  keepSpec(text, source, spec);
  return spec;
}

/** Parses and validates a spec from YAML text (no cache). */
function parseSpecYaml(text: string, source: string): Spec {
  const lines = newLineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const ctx = new Ctx(lines, text);
  for (const e of doc.errors) {
    const p = lines.linePos(e.pos[0]);
    ctx.issues.push({ line: p.line, column: p.col, message: e.message.split('\n')[0]! });
  }
  if (ctx.issues.length > 0) throw new SpecError(source, ctx.issues);
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null))
    return {
      version: 1,
      source,
      programs: [],
      functions: [],
      derived: [],
      links: [],
      limits: DEFAULT_LIMITS,
    };
  if (!isMap(root))
    throw new SpecError(source, [
      {
        ...ctx.pos(root),
        message:
          'a spec is a mapping with keys version, programs, functions, derived, links, limits, redaction, probes, traces',
      },
    ]);
  checkKeys(
    ctx,
    root,
    ['version', 'programs', 'functions', 'derived', 'links', 'limits', 'redaction', 'probes', 'traces'],
    'the spec',
  );
  const v = root.get('version', true) as Node | undefined;
  if (v !== undefined && !(isScalar(v) && v.value === 1)) ctx.fail(v, 'this Periscope reads spec version 1');
  const tables = new Map<string, SpecPosition>();
  const keep = <T>(x: T | undefined): x is T => x !== undefined;
  let spec: Spec = {
    version: 1,
    source,
    programs: seqOf(ctx, root, 'programs')
      .map((m) => parseProgram(ctx, m))
      .filter(keep),
    functions: seqOf(ctx, root, 'functions')
      .map((m) => parseFunction(ctx, m, tables))
      .filter(keep),
    derived: seqOf(ctx, root, 'derived')
      .map((m) => parseDerived(ctx, m))
      .filter(keep),
    links: seqOf(ctx, root, 'links')
      .map((m) => parseLink(ctx, m))
      .filter(keep),
    limits: parseLimits(ctx, root),
  };
  const probes = seqOf(ctx, root, 'probes')
    .map((m) => parseProbe(ctx, m))
    .filter(keep);
  if (probes.length > 0) checkProbes(ctx, spec, probes, tables);
  let traces = seqOf(ctx, root, 'traces')
    .map((m) => parseTrace(ctx, m))
    .filter(keep);
  if (traces.length > 0) traces = checkTraces(ctx.issues, spec, probes, traces);
  const redaction = parseRedaction(ctx, root);
  if (redaction) spec = { ...spec, redaction };
  for (const p of redaction?.off ?? [])
    if (p !== '*' && !spec.programs.some((x) => x.name === p))
      ctx.fail(
        (root.get('redaction', true) as unknown as YAMLMap).get('off', true) as Node,
        `redaction.off names program "${p}", which "programs" does not define; name a program, or "*" for every process`,
      );
  for (const d of spec.derived) {
    const seen = tables.get(d.name);
    if (seen)
      ctx.issues.push({
        ...(d.at ?? { line: 0, column: 0 }),
        message: `table "${d.name}" is already defined at line ${seen.line}`,
      });
    tables.set(d.name, d.at ?? { line: 0, column: 0 });
  }
  if (ctx.issues.length > 0)
    throw new SpecError(
      source,
      ctx.issues.sort((a, b) => a.line - b.line || a.column - b.column),
    );
  return {
    ...spec,
    ...(probes.length > 0 ? { probes } : {}),
    ...(traces.length > 0 ? { traces } : {}),
  };
}

/** Probe names are unique table names, and a probe's program is one the spec defines. */
function checkProbes(
  ctx: Ctx,
  spec: Spec,
  probes: readonly ProbeEntry[],
  tables: Map<string, SpecPosition>,
): void {
  const programs = new Set(spec.programs.map((p) => p.name));
  for (const p of probes) {
    const at = p.at ?? { line: 0, column: 0 };
    const seen = tables.get(p.name);
    if (seen)
      ctx.issues.push({
        ...at,
        message: `table "${p.name}" (probe "${p.name}") is already defined at line ${seen.line}`,
      });
    tables.set(p.name, at);
    if (p.program !== undefined && !programs.has(p.program))
      ctx.issues.push({
        ...at,
        message: `probe "${p.name}": no program named "${p.program}" in "programs"${programs.size > 0 ? `; the programs are: ${[...programs].join(', ')}` : ''}`,
      });
  }
}

/** Reads and parses a spec file. */
export async function loadSpecFile(path: string): Promise<Spec> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new PeriscopeError(
      'not-found',
      `cannot read spec ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  return parseSpec(text, path);
}
