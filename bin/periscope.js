#!/usr/bin/env node
// The `periscope` command: runs the compiled CLI (built by `npm ci` through the prepare script).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('periscope: the TypeScript sources are not compiled yet; run `npm ci` (or `npm run build`) first');
  process.exit(1);
}
await import(entry.href);
