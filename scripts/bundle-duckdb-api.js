#!/usr/bin/env node
// Bundles @duckdb/node-api (CommonJS, about 80 files) into one file, dist/vendor/duckdb-node-api.cjs,
// which src/store/duckdb-api.ts loads instead of the package when it was built from the
// installed version: a CLI command that opens the store then compiles one file instead of
// resolving, reading and compiling eighty (about 40 ms of CPU of a 230 ms `periscope query`,
// docs/performance.md "CLI start-up"). The native part, @duckdb/node-bindings, stays outside
// (required from node_modules as before). Run by `npm run build`.
//
//   node scripts/bundle-duckdb-api.js
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

const root = resolve(import.meta.dirname, '..');
const require = createRequire(join(root, 'package.json'));
const pkg = require.resolve('@duckdb/node-api/package.json');
const { version, main } = JSON.parse(readFileSync(pkg, 'utf8'));
const out = join(root, 'dist', 'vendor', 'duckdb-node-api.cjs');
mkdirSync(join(root, 'dist', 'vendor'), { recursive: true });
await build({
  absWorkingDir: root,
  entryPoints: [join(pkg, '..', main)],
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external: ['@duckdb/node-bindings'],
  outfile: out,
  // The version it was built from: duckdb-api.ts takes the bundle only when it matches the installed package.
  footer: { js: `module.exports.periscopeBundledFrom = ${JSON.stringify(version)};` },
  logLevel: 'warning',
});
