#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with Node's test runner.
// Arguments filter by substring of the path: `node scripts/test.js dwarf elf`.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...find(p));
    // Only tests whose source still exists: dist/ may hold files of deleted tests.
    else if (name.endsWith('.test.js') && existsSync(p.replace(/^dist\//, '').replace(/\.js$/, '.ts')))
      out.push(p);
  }
  return out;
}
const filters = process.argv.slice(2);
const files = find('dist/test')
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// The web app's tests serve the built app; tsc alone does not build it.
if (files.some((f) => f.includes('/web/')) && !existsSync('dist/web/index.html'))
  console.error('scripts/test.js: dist/web/ is not built, so the web tests will fail: run `npm run build` (or `npm run build:web`) first');
// Go tools that take minutes to build (SeaweedFS) are built here, once, before any test's own
// time starts, when a selected test starts them; a fresh machine's `npm test` needs nothing else.
if (files.some((f) => readFileSync(f, 'utf8').includes('s3-server.js'))) {
  const r = spawnSync(process.execPath, ['scripts/build-tools.js'], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('scripts/test.js: building the test tools failed (see above); the tests that need them cannot run');
    process.exit(r.status ?? 1);
  }
}
// Everything the tests put in the temporary directory (stores, object stores, PostgreSQL data
// directories, certificates, fixtures' sockets: about 1 GB a run) goes under one directory of
// this run, deleted at its end: a developer's /tmp no longer fills run after run. Writable by
// every user and sticky, as /tmp is (tests run programs as other users).
const runTmp = mkdtempSync(join(tmpdir(), 'periscope-test-run-'));
chmodSync(runTmp, 0o1777);
// Snapshots taken by tests go to a throw-away store, never the user's; so do the one-shot
// commands' binary cache entries.
const data = mkdtempSync(join(runTmp, 'periscope-test-data-'));
// A file still running after FILE_TIMEOUT_MS fails, named, instead of holding the run forever
// (a fixture left running kept a file's process alive after its last test: the run hung).
// Generous: at load 25 on 2 cores a file takes ten times its quiet time and more.
const FILE_TIMEOUT_MS = 30 * 60_000;
const args = ['--test', '--test-concurrency=2', `--test-timeout=${FILE_TIMEOUT_MS}`, ...files];
const r = spawnSync(process.execPath, args, {
  stdio: 'inherit',
  env: { ...process.env, TMPDIR: runTmp, PERISCOPE_DATA: data, PERISCOPE_CACHE_DIR: join(data, 'cache') },
});
if (process.env.PERISCOPE_KEEP_TEST_TMP) console.error(`scripts/test.js: the run's temporary files are kept in ${runTmp}`);
else rmSync(runTmp, { recursive: true, force: true });
process.exit(r.status ?? 1);
