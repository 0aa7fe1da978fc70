/**
 * The CLI loads only what a command needs: `--help`, a usage error and a query to a server
 * never load DuckDB or koffi (loading every command's modules made `periscope --help` take
 * 0.4 s; docs/performance.md, "CLI start-up"); a local query loads DuckDB but not koffi, and
 * loads @duckdb/node-api as the one file `npm run build` bundles (scripts/bundle-duckdb-api.js),
 * not as the package's eighty.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { ROOT } from '../../support/go-fixtures.js';
import { freshDataDir } from '../store/store-support.js';

const run = promisify(execFile);
const CLI = join(ROOT, 'bin', 'periscope.js');
const BUNDLE = join(ROOT, 'dist', 'vendor', 'duckdb-node-api.cjs');

// Preloaded into the CLI's process: at exit, prints which heavy packages are in Node's
// module cache (CommonJS packages land there whether imported or required).
const REPORT = `import { createRequire } from 'node:module';
const cache = createRequire(import.meta.url).cache;
process.on('exit', () => {
  const keys = Object.keys(cache);
  // DuckDB's native bindings (loaded however the API around them is), koffi, and which form of
  // @duckdb/node-api: the bundle or the package's own files.
  const loaded = ['@duckdb/node-bindings', 'koffi'].filter((p) => keys.some((k) => k.includes('/node_modules/' + p + '/')));
  const api = keys.filter((k) => k.endsWith('/dist/vendor/duckdb-node-api.cjs') || k.includes('/node_modules/@duckdb/node-api/lib/'));
  process.stderr.write('\\nLOADED ' + JSON.stringify(loaded) + '\\nAPI FILES ' + api.length + ' ' + JSON.stringify(api.slice(0, 3)) + '\\n');
});
`;
const reporter = join(mkdtempSync(join(tmpdir(), 'periscope-lazy-')), 'report.mjs');
writeFileSync(reporter, REPORT);

/** The heavy packages a CLI run loaded, and its exit code. */
async function loaded(
  ...args: string[]
): Promise<{ code: number; packages: string[]; apiFiles: string[]; apiFileCount: number; stderr: string }> {
  const argv = ['--import', pathToFileURL(reporter).href, CLI, ...args];
  let code = 0;
  let stderr: string;
  try {
    stderr = (await run(process.execPath, argv, { timeout: 60_000 })).stderr;
  } catch (e) {
    const err = e as { code?: number; stderr: string };
    code = err.code ?? -1;
    stderr = err.stderr;
  }
  const m = /LOADED (\[.*\])/.exec(stderr);
  assert.ok(m, `the report line is printed: ${stderr}`);
  const files = /API FILES (\d+) (\[.*\])/.exec(stderr);
  return {
    code,
    packages: JSON.parse(m[1]!) as string[],
    apiFiles: files ? (JSON.parse(files[2]!) as string[]) : [],
    apiFileCount: files ? Number(files[1]) : 0,
    stderr,
  };
}

test('--help, a command’s help, a usage error and a server query load neither DuckDB nor koffi', async () => {
  for (const args of [
    ['--help'],
    ['--version'],
    ['query', '--help'],
    ['snapshot', '--help'],
    ['query', '--fromat', 'csv', 'SELECT 1'],
    ['query', '--server', 'http://127.0.0.1:9', '--token', 't', 'SELECT 1'],
  ]) {
    const r = await loaded(...args);
    assert.deepEqual(r.packages, [], `${args.join(' ')}: ${r.stderr}`);
  }
});

test('a local query loads DuckDB and not koffi, its JavaScript API as the one bundled file', async () => {
  // `npm test` builds the bundle (`npm run build`); after a bare `tsc`, build it here.
  if (!existsSync(BUNDLE)) await run(process.execPath, [join(ROOT, 'scripts', 'bundle-duckdb-api.js')]);
  const r = await loaded('query', '--data', freshDataDir(), 'SELECT 1');
  assert.deepEqual(r.packages, ['@duckdb/node-bindings'], r.stderr);
  assert.equal(r.apiFileCount, 1, `one file of @duckdb/node-api's JavaScript loaded: ${r.stderr}`);
  assert.ok(r.apiFiles[0]?.endsWith('/dist/vendor/duckdb-node-api.cjs'), r.stderr);
});
