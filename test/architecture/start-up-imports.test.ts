/**
 * Imports that start-up time depends on (docs/performance.md, "CLI start-up"): src/ takes
 * @duckdb/node-api's values only through store/duckdb-api.ts (an ESM import of the package
 * makes Node 20 scan its ~80 re-exported CommonJS files), and cli/main.ts imports no command
 * module (cli/command-list.ts loads the one that runs).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../../support/go-fixtures.js';

const SRC = join(ROOT, 'src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Every `import … from 'spec'` statement of a file (multi-line ones joined). */
function imports(text: string, spec: string): string[] {
  const escaped = spec.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  return [...text.matchAll(new RegExp(`^(?:import|export)\\b[^;]*?from '${escaped}'`, 'gms'))].map(
    (m) => m[0],
  );
}

test('only store/duckdb-api.ts takes values from @duckdb/node-api; the rest import its types', () => {
  const bad: string[] = [];
  for (const file of sources(SRC)) {
    const rel = relative(ROOT, file);
    if (rel === 'src/store/duckdb-api.ts') continue;
    for (const stmt of imports(readFileSync(file, 'utf8'), '@duckdb/node-api'))
      if (!/^(import|export) type\b/.test(stmt)) bad.push(`${rel}: ${stmt.replace(/\s+/g, ' ')}`);
  }
  assert.deepEqual(bad, []);
});

test('cli/main.ts imports no command module', () => {
  const text = readFileSync(join(SRC, 'cli', 'main.ts'), 'utf8');
  assert.doesNotMatch(text, /from '\.\/commands\//);
});
