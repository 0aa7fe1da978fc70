/**
 * Go itself as the oracle of the expression tests: testdata/tools/exproracle runs go/types on
 * the exprs-oracle fixture and says, for each expression, whether Go accepts it in the scope
 * of main.park (the error and its column, or the type); it also checks that every case the
 * fixture prints names the very expression compiled beside it. Plus the normalisations
 * between go/types' and DWARF's spellings of types and between Go's and our JSON.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildFixture, TESTDATA } from '../../../support/go-fixtures.js';

const run = promisify(execFile);

/** go/types' verdict on one expression. */
export interface GoVerdict {
  readonly src: string;
  readonly ok: boolean;
  readonly error?: string;
  readonly column?: number;
  readonly type?: string;
  readonly value?: string;
}

/** What the tool reports. */
export interface GoReport {
  /** The source of every case of main.park, in order. */
  readonly cases: string[];
  /** Cases whose source text is not the expression compiled beside it. */
  readonly dishonest: string[];
  readonly checks: GoVerdict[];
}

/** Runs go/types (the local toolchain's) over `srcs` in the scope of main.park of testdata/exprs-oracle. */
export async function goTypes(srcs: readonly string[]): Promise<GoReport> {
  const tool = await buildFixture('tools/exproracle');
  const child = run(tool.path, [join(TESTDATA, 'exprs-oracle'), 'park'], { maxBuffer: 64 << 20 });
  child.child.stdin?.end(JSON.stringify(srcs));
  const { stdout } = await child;
  return JSON.parse(stdout) as GoReport;
}

/**
 * One spelling for types and messages from both sides: go/types writes package-local names
 * (`Point`), aliases (`byte`, `rune`, `any`) and `struct{X int}`; DWARF writes `main.Point`,
 * `uint8`, `int32`, `interface {}` and `struct { X int }`.
 */
export function normalizeTypes(s: string): string {
  return s
    .replace(
      /func\(([^()]*)\)/g,
      (_, ps: string) =>
        `func(${ps
          .split(', ')
          .map((p) => p.split(' ').pop())
          .join(', ')})`,
    )
    .replace(/\bmain\./g, '')
    .replace(/\bbyte\b/g, 'uint8')
    .replace(/\brune\b/g, 'int32')
    .replace(/\bany\b/g, 'interface{}')
    .replace(/(struct|interface) \{/g, '$1{')
    .replace(/\{ /g, '{')
    .replace(/ \}/g, '}');
}

/** A JSON value with map entries (`[{key, value}]`, whose order is the map's memory order) sorted. */
export function sortMapEntries(v: unknown): unknown {
  if (Array.isArray(v)) {
    const out = v.map(sortMapEntries);
    const entries = out.every(
      (x) =>
        x !== null &&
        typeof x === 'object' &&
        !Array.isArray(x) &&
        Object.keys(x).sort().join() === 'key,value',
    );
    return entries ? out.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)) : out;
  }
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, sortMapEntries(x)]));
  return v;
}
