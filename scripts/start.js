#!/usr/bin/env node
// `npm start`: the main job on the embedded defaults. Until the server, agent and demo fleet
// exist, it runs what works end to end: builds a demo Go program, inspects its binary,
// starts it, takes a snapshot of every goroutine with values captured by a spec, and stops it.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const cache = join(root, '.cache', 'start');
mkdirSync(cache, { recursive: true });
const demo = join(cache, 'demo');
try {
  execFileSync('go', ['build', '-o', demo, './exprs'], { cwd: join(root, 'testdata'), stdio: 'inherit' });
} catch {
  console.error(
    'npm start: building the demo Go program failed; is Go (1.22 or newer) installed and on PATH?',
  );
  process.exit(1);
}
const cli = join(root, 'bin', 'periscope.js');
function periscope(...args) {
  console.log(`\n$ periscope ${args.join(' ').replaceAll(`${root}/`, '')}`);
  const r = spawnSync(process.execPath, [cli, ...args], { stdio: 'inherit' });
  return r.status ?? 1;
}

periscope('inspect', demo);
periscope('inspect', demo, '--func', 'main.park');

if (process.getuid?.() !== 0) {
  console.log(
    '\nSnapshots pause the target with ptrace and read its memory: run `npm start` as root (or with CAP_SYS_PTRACE) to see one.',
  );
  process.exit(0);
}
// The demo waits on stdin; keep it open and close it to stop the demo.
const child = spawn(demo, [], { stdio: ['pipe', 'pipe', 'ignore'] });
const stop = () => {
  child.stdin.end();
  child.kill('SIGKILL');
};
process.on('SIGINT', () => {
  stop();
  process.exit(130);
});
await new Promise((ok, fail) => {
  child.stdout.on('data', (d) => d.toString().includes('ready') && ok());
  child.once('exit', () => fail(new Error('the demo exited early')));
});
const status = periscope(
  'snapshot',
  '--pid',
  String(child.pid),
  '--spec',
  join(root, 'demo', 'spec', 'exprs.yaml'),
);
stop();
console.log(
  '\nNext: `npx periscope snapshot --help`, `npx periscope inspect --help`; the server, SQL and the demo fleet are on the way (see docs/).',
);
process.exit(status);
