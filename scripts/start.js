#!/usr/bin/env node
// `npm start`: the main job on the embedded defaults. Until the server, agent and demo fleet
// exist, it runs what works end to end: builds a demo Go program and inspects its binary.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const out = join(root, '.cache', 'start', 'hello');
mkdirSync(join(root, '.cache', 'start'), { recursive: true });
try {
  execFileSync('go', ['build', '-o', out, './hello'], { cwd: join(root, 'testdata'), stdio: 'inherit' });
} catch {
  console.error(
    'npm start: building the demo Go program failed; is Go (1.22 or newer) installed and on PATH?',
  );
  process.exit(1);
}
const cli = join(root, 'bin', 'periscope.js');
const steps = [
  ['inspect', out],
  ['inspect', out, '--func', 'main.distance'],
  ['inspect', out, '--type', 'main.Point'],
];
for (const args of steps) {
  console.log(`\n$ periscope ${args.join(' ').replace(root + '/', '')}`);
  const r = spawnSync(process.execPath, [cli, ...args], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
console.log(
  '\nNext: `npx periscope inspect --help`; snapshots, SQL and the server are on the way (see docs/).',
);
