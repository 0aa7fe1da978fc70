/**
 * The module-info text the go command embeds in a binary ("path\t...", "mod\t...",
 * "dep\t...", "=>\t...", "build\tkey=value" lines), parsed into plain data — the reverse
 * of runtime/debug.BuildInfo.String.
 */
import { FormatError } from '../common/errors.js';

/** A module: the main one, a dependency, or a replacement. */
export interface GoModule {
  readonly path: string;
  readonly version: string;
  readonly sum: string;
  readonly replace?: GoModule;
}

/** One `build` line: -ldflags, CGO_ENABLED, GOARCH, vcs.revision, ... */
export interface BuildSetting {
  readonly key: string;
  readonly value: string;
}

/** The parsed module info (without the Go version, which is stored apart). */
export interface ModuleInfo {
  readonly path: string;
  readonly main: GoModule | undefined;
  readonly deps: readonly GoModule[];
  readonly settings: readonly BuildSetting[];
}

const SECTION = 'Go module info';

/** Parses the module-info text of a binary; malformed lines raise FormatError (offset = line start). */
export function parseModuleInfo(text: string): ModuleInfo {
  let path = '';
  let main: GoModule | undefined;
  const deps: GoModule[] = [];
  const settings: BuildSetting[] = [];
  // The module a "=>" line replaces: 'main', a dep index, or none.
  let last: 'main' | number | undefined;
  let offset = 0;
  for (const line of text.split('\n')) {
    const at = offset;
    offset += line.length + 1;
    const tab = line.indexOf('\t');
    if (tab < 0) continue;
    const word = line.slice(0, tab);
    const rest = line.slice(tab + 1);
    if (word === 'path') path = rest;
    else if (word === 'mod') {
      main = moduleLine(rest, at);
      last = 'main';
    } else if (word === 'dep') {
      deps.push(moduleLine(rest, at));
      last = deps.length - 1;
    } else if (word === '=>') {
      const el = rest.split('\t');
      if (el.length !== 3)
        throw new FormatError(SECTION, at, `replacement needs 3 columns, has ${el.length}`);
      if (last === undefined) throw new FormatError(SECTION, at, 'replacement with no module before it');
      const replace: GoModule = { path: el[0]!, version: el[1]!, sum: el[2]! };
      if (last === 'main') main = { ...main!, replace };
      else deps[last] = { ...deps[last]!, replace };
      last = undefined;
    } else if (word === 'build') settings.push(buildLine(rest, at));
  }
  return { path, main, deps, settings };
}

function moduleLine(rest: string, at: number): GoModule {
  const el = rest.split('\t');
  if (el.length !== 2 && el.length !== 3)
    throw new FormatError(SECTION, at, `module line needs 2 or 3 columns, has ${el.length}`);
  return { path: el[0]!, version: el[1]!, sum: el[2] ?? '' };
}

function buildLine(kv: string, at: number): BuildSetting {
  let key: string;
  let raw: string;
  if (kv.startsWith('"') || kv.startsWith('`')) {
    const q = quotedPrefix(kv, at);
    if (kv[q.length] !== '=')
      throw new FormatError(SECTION, at, 'build line has no "=" after its quoted key');
    key = unquoteGo(q, at);
    raw = kv.slice(q.length + 1);
  } else {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new FormatError(SECTION, at, 'build line has no key=value');
    key = kv.slice(0, eq);
    raw = kv.slice(eq + 1);
  }
  const value = raw.startsWith('"') || raw.startsWith('`') ? unquoteGo(raw, at) : raw;
  return { key, value };
}

/** The leading Go string literal of s (for keys like "a b"=...). */
function quotedPrefix(s: string, at: number): string {
  const q = s[0]!;
  for (let i = 1; i < s.length; i++) {
    if (q === '"' && s[i] === '\\') i++;
    else if (s[i] === q) return s.slice(0, i + 1);
  }
  throw new FormatError(SECTION, at, 'unterminated quoted string');
}

const SIMPLE_ESCAPES: Record<string, string> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  '"': '"',
  "'": "'",
};

/** Decodes a Go string literal ("..." with escapes, or `raw`), as strconv.Unquote does. */
export function unquoteGo(lit: string, at = 0): string {
  if (lit.length < 2 || lit[lit.length - 1] !== lit[0])
    throw new FormatError(SECTION, at, `malformed quoted string ${lit}`);
  const body = lit.slice(1, -1);
  if (lit[0] === '`') return body.replace(/\r/g, '');
  const bytes: number[] = [];
  const enc = new TextEncoder();
  for (let i = 0; i < body.length; ) {
    const c = body[i]!;
    if (c !== '\\') {
      const cp = body.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      bytes.push(...enc.encode(ch));
      i += ch.length;
      continue;
    }
    const e = body[i + 1];
    if (e === undefined) throw new FormatError(SECTION, at, 'quoted string ends in a backslash');
    if (e in SIMPLE_ESCAPES) {
      bytes.push(SIMPLE_ESCAPES[e]!.charCodeAt(0));
      i += 2;
    } else if (e === 'x' || (e >= '0' && e <= '7')) {
      const len = e === 'x' ? 2 : 3;
      const digits = e === 'x' ? body.slice(i + 2, i + 4) : body.slice(i + 1, i + 4);
      const v = Number.parseInt(digits, e === 'x' ? 16 : 8);
      if (digits.length !== len || Number.isNaN(v) || v > 255)
        throw new FormatError(SECTION, at, `bad escape \\${e}${digits}`);
      bytes.push(v);
      i += 4; // \xHH and \ooo are both four characters
    } else if (e === 'u' || e === 'U') {
      const len = e === 'u' ? 4 : 8;
      const digits = body.slice(i + 2, i + 2 + len);
      const v = Number.parseInt(digits, 16);
      if (digits.length !== len || !/^[0-9a-fA-F]+$/.test(digits) || v > 0x10ffff)
        throw new FormatError(SECTION, at, `bad escape \\${e}${digits}`);
      bytes.push(...enc.encode(String.fromCodePoint(v)));
      i += 2 + len;
    } else throw new FormatError(SECTION, at, `unknown escape \\${e}`);
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}
