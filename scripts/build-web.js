#!/usr/bin/env node
// Builds the web app (src/web/) into dist/web/: esbuild bundles src/web/main.tsx and its
// stylesheet into content-hashed files under dist/web/assets/ (code split: the SQL editor and
// the YAML library load only when a view needs them), and writes dist/web/index.html naming
// them. `periscope server` serves dist/web/ (hashed assets cached for a year, index.html
// revalidated), so a new build is picked up by the next page load. Type checking is tsc's job
// (`tsc -p src/web/tsconfig.json` runs before this in `npm run build`); esbuild only strips types.
//
//   node scripts/build-web.js [--dev]     (--dev: no minification)
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { build } from 'esbuild';

const root = resolve(import.meta.dirname, '..');
const out = join(root, 'dist', 'web');
const assets = join(out, 'assets');
const dev = process.argv.includes('--dev');

rmSync(out, { recursive: true, force: true });
mkdirSync(assets, { recursive: true });
const started = Date.now();
const result = await build({
  absWorkingDir: root,
  entryPoints: [join(root, 'src', 'web', 'main.tsx')],
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome110', 'firefox115', 'safari16'],
  outdir: assets,
  entryNames: '[name]-[hash]',
  chunkNames: 'chunk-[hash]',
  assetNames: '[name]-[hash]',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: !dev,
  sourcemap: 'linked',
  metafile: true,
  legalComments: 'linked',
  logLevel: 'warning',
});

const outputs = Object.entries(result.metafile.outputs);
const main = outputs.find(([, o]) => o.entryPoint === 'src/web/main.tsx');
if (!main?.[1].cssBundle) throw new Error('build-web: esbuild produced no main script and stylesheet');
const url = (path) => `/assets/${basename(path)}`;
const template = readFileSync(join(root, 'src', 'web', 'index.html'), 'utf8');
const html = template.replace('%CSS%', url(main[1].cssBundle)).replace('%JS%', url(main[0]));
writeFileSync(join(out, 'index.html'), html);
const bytes = outputs
  .filter(([p]) => p.endsWith('.js') || p.endsWith('.css'))
  .reduce((sum, [, o]) => sum + o.bytes, 0);
console.log(
  `build-web: ${relative(root, out)}/ (${outputs.length} files, ${(bytes / 1024).toFixed(0)} KiB of code and styles) in ${Date.now() - started} ms`,
);
