/**
 * The CLI loads only what a command needs: `--help`, a usage error and a query to a server
 * never load DuckDB or koffi (loading every command's modules made `periscope --help` take
 * 0.4 s; docs/performance.md, "CLI start-up"); a local query loads DuckDB but not koffi.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { ROOT } from '../../support/go-fixtures.js';
import { freshDataDir } from '../store/store-support.js';

const run = promisify(execFile);
const CLI = join(ROOT, 'bin', 'periscope.js');

// Preloaded into the CLI's process: at exit, prints which heavy packages are in Node's
// module cache (CommonJS packages land there whether imported or required).
const REPORT = `import { createRequire } from 'node:module';
const cache = createRequire(import.meta.url).cache;
process.on('exit', () => {
  const keys = Object.keys(cache);
  const loaded = ['@duckdb/node-api', 'koffi'].filter((p) => keys.some((k) => k.includes('/node_modules/' + p + '/')));
  process.stderr.write('\\nLOADED ' + JSON.stringify(loaded) + '\\n');
});
`;
const reporter = join(mkdtempSync(join(tmpdir(), 'periscope-lazy-')), 'report.mjs');
writeFileSync(reporter, REPORT);

/** The heavy packages a CLI run loaded, and its exit code. */
async function loaded(...args: string[]): Promise<{ code: number; packages: string[]; stderr: string }> {
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
  return { code, packages: JSON.parse(m[1]!) as string[], stderr };
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

test('a local query loads DuckDB and not koffi', async () => {
  const r = await loaded('query', '--data', freshDataDir(), 'SELECT 1');
  assert.deepEqual(r.packages, ['@duckdb/node-api'], r.stderr);
});
