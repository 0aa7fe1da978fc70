/**
 * What names mean for the expression checker: the variables of a function (or of the inlined
 * calls of a function that was inlined), package variables by full or short package name,
 * and type names written in assertions resolved to the names DWARF gives them.
 */
import type { LinkAddress } from '../../common/address.js';
import type { DwarfData } from '../../dwarf/dwarf-data.js';
import type { Variable } from '../../dwarf/functions.js';
import type { DwarfType } from '../../dwarf/types.js';
import type { TypeExpr } from './ast.js';
import { inlineChainAt } from './frame-context.js';
import { type GlobalVar, globalIndex, splitQualified } from './globals.js';

/** The variables an expression may name, and where they came from. */
export interface FunctionScope {
  readonly functionName: string;
  /** Whether the function only exists inlined into others (its variables are inlined-call ones). */
  readonly inlinedOnly: boolean;
  /** Variables by name (several when blocks shadow, or for each inlined copy). */
  readonly variables: ReadonlyMap<string, readonly Variable[]>;
}

const MAX_SCAN = 5000;

/** Finds a function's variables: a concrete function, else its inlined copies (at `pc`, or in its package). */
export function functionScope(dwarf: DwarfData, name: string, pc?: LinkAddress): FunctionScope | undefined {
  const vars = new Map<string, Variable[]>();
  const add = (vs: readonly Variable[]): void => {
    for (const v of vs) {
      const list = vars.get(v.name);
      if (list) list.push(v);
      else vars.set(v.name, [v]);
    }
  };
  const fn = dwarf.findFunction(name);
  if (fn) {
    add(fn.variables);
    return { functionName: name, inlinedOnly: false, variables: vars };
  }
  let found = false;
  if (pc !== undefined) {
    const outer = dwarf.functionAt(pc);
    for (const c of outer ? inlineChainAt(outer.inlined, pc) : []) {
      if (c.name !== name) continue;
      add(c.variables);
      found = true;
    }
  } else {
    const pkg = splitQualified(name)?.pkg;
    const names = dwarf.functionNames().filter((n) => pkg !== undefined && n.startsWith(`${pkg}.`));
    for (const n of names.slice(0, MAX_SCAN)) {
      const f = dwarf.findFunction(n);
      const stack = [...(f?.inlined ?? [])];
      while (stack.length > 0) {
        const c = stack.pop()!;
        if (c.name === name) {
          add(c.variables);
          found = true;
        }
        stack.push(...c.inlined);
      }
    }
  }
  return found ? { functionName: name, inlinedOnly: true, variables: vars } : undefined;
}

/** Function names similar to `name` (same last element), for "did you mean" messages. */
export function similarFunctions(dwarf: DwarfData, name: string): string[] {
  const last = name.slice(name.lastIndexOf('.') + 1).toLowerCase();
  return dwarf
    .functionNames()
    .filter((n) => n.toLowerCase().endsWith(`.${last}`))
    .slice(0, 5);
}

/** A package variable lookup: the variable, or a message saying why not. */
export type GlobalLookup = { ok: true; global: GlobalVar } | { ok: false; message: string };

/** Resolves `pkg.Name` where pkg is a full import path (quoted) or a short name. */
export function lookupGlobal(dwarf: DwarfData, pkg: string, name: string, quoted: boolean): GlobalLookup {
  const idx = globalIndex(dwarf);
  const paths = quoted ? [pkg] : [...(idx.byShortName.get(pkg) ?? [])];
  if (!quoted && idx.byPackage.has(pkg) && !paths.includes(pkg)) paths.push(pkg);
  const hits = paths.filter((p) => idx.byName.has(`${p}.${name}`));
  if (hits.length === 1) return { ok: true, global: idx.byName.get(`${hits[0]}.${name}`)! };
  if (hits.length > 1)
    return {
      ok: false,
      message: `${pkg}.${name} is ambiguous: packages ${hits.join(', ')} all have it; write "${hits[0]}".${name}`,
    };
  if (paths.length === 0)
    return {
      ok: false,
      message: `no package ${quoted ? JSON.stringify(pkg) : pkg} with variables in this binary`,
    };
  const have = paths.flatMap((p) => idx.byPackage.get(p) ?? []).filter((n) => !n.includes('.'));
  return {
    ok: false,
    message: `package variable ${pkg}.${name} not found in this binary (it may be unused and removed by the linker); ${paths.join(', ')} has: ${sample(have)}`,
  };
}

/** Whether `name` is the short name or path of a package with variables. */
export function isPackageName(dwarf: DwarfData, name: string): boolean {
  const idx = globalIndex(dwarf);
  return idx.byShortName.has(name) || idx.byPackage.has(name);
}

const typePackages = new WeakMap<DwarfData, Set<string>>();

/**
 * The import paths that qualify a type name in the binary, if a check has needed them (a
 * pass over every type name): to store them.
 */
export function typePackagesOf(dwarf: DwarfData): string[] | undefined {
  const s = typePackages.get(dwarf);
  return s && [...s];
}

/** The import paths learned earlier for DWARF of the same bytes (see typePackagesOf). */
export function seedTypePackages(dwarf: DwarfData, pkgs: readonly string[]): void {
  if (!typePackages.has(dwarf)) typePackages.set(dwarf, new Set(pkgs));
}

/** Import paths that qualify some type name in the binary. */
function packagesOfTypes(dwarf: DwarfData): Set<string> {
  let s = typePackages.get(dwarf);
  if (!s) {
    s = new Set();
    for (const n of dwarf.typeNames()) {
      const m = /^[*[\]0-9]*([\w./-]+)\.\w+$/.exec(n);
      if (m) s.add(m[1]!);
    }
    typePackages.set(dwarf, s);
  }
  return s;
}

const BUILTIN_TYPES: Readonly<Record<string, string>> = { any: 'interface {}', byte: 'uint8', rune: 'int32' };

/**
 * Resolves a written type to the DWARF type, or a message with suggestions. Unqualified names
 * are predeclared types, or types of `defaultPkg` (the checked function's package, as in Go).
 */
export function resolveTypeExpr(
  dwarf: DwarfData,
  t: TypeExpr,
  defaultPkg?: string,
): { ok: true; type: DwarfType } | { ok: false; message: string } {
  const pkgs = packagesOfTypes(dwarf);
  const choices = (pkg: string, quoted: boolean): string[] =>
    quoted ? [pkg] : [...pkgs].filter((p) => p === pkg || p.endsWith(`/${pkg}`));
  const names = render(t, choices, defaultPkg);
  for (const n of names) {
    const found = dwarf.findType(n);
    if (found) return { ok: true, type: found };
  }
  const written = names[0] ?? '?';
  const base = /\.(\w+)(\[.*\])?$/.exec(written)?.[1];
  const similar =
    base === undefined
      ? []
      : dwarf
          .typeNames()
          .filter((n) => n.endsWith(`.${base}`) && n.startsWith(written.startsWith('*') ? '*' : ''))
          .slice(0, 5);
  return {
    ok: false,
    message: `type ${written} is not in the binary${similar.length > 0 ? `; did you mean ${similar.join(', ')}?` : ' (it is unused, or the package is not linked)'}`,
  };
}

/** Every DWARF spelling a type expression may have (one per choice of package path). */
function render(t: TypeExpr, choices: (pkg: string, quoted: boolean) => string[], dflt?: string): string[] {
  const cross = (parts: string[][], join: (p: string[]) => string): string[] => {
    let acc: string[][] = [[]];
    for (const opts of parts) acc = acc.flatMap((a) => opts.slice(0, 4).map((o) => [...a, o]));
    return acc.slice(0, 16).map(join);
  };
  switch (t.kind) {
    case 'tname': {
      const args = t.args.map((a) => render(a, choices, dflt));
      const suffix = (p: string[]): string => (p.length === 0 ? '' : `[${p.join(',')}]`);
      if (t.pkg === undefined) {
        const base = BUILTIN_TYPES[t.name] ?? t.name;
        const heads = dflt === undefined || base !== t.name ? [base] : [base, `${dflt}.${t.name}`];
        return cross([heads, ...args], ([h, ...p]) => h + suffix(p));
      }
      const pkgs = choices(t.pkg, t.quoted);
      const heads = pkgs.length > 0 ? pkgs : [t.pkg];
      return cross([heads, ...args], ([h, ...p]) => `${h}.${t.name}${suffix(p)}`);
    }
    case 'tptr':
      return render(t.elem, choices, dflt).map((e) => `*${e}`);
    case 'tslice':
      return render(t.elem, choices, dflt).map((e) => `[]${e}`);
    case 'tarray':
      return render(t.elem, choices, dflt).map((e) => `[${t.len}]${e}`);
    case 'tmap':
      return cross(
        [render(t.key, choices, dflt), render(t.elem, choices, dflt)],
        ([k, v]) => `map[${k}]${v}`,
      );
    case 'tchan':
      return render(t.elem, choices, dflt).map((e) => `chan ${e}`);
    case 'tiface':
      return ['interface {}'];
  }
}

/** A short list for messages: the first names, then "... (N more)". */
export function sample(names: readonly string[], max = 20): string {
  if (names.length === 0) return '(none)';
  const shown = [...names].sort().slice(0, max).join(', ');
  return names.length > max ? `${shown}, ... (${names.length - max} more)` : shown;
}
