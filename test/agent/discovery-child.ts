/**
 * Child of discovery-events.test.ts, run in a new user namespace: a Discovery with default
 * options (events where the kernel allows), which logs; once it has settled how it works, it
 * starts the Go program given as argument and prints `found PID MODE` when it reports it.
 */
import { spawn } from 'node:child_process';
import { Discovery } from '../../src/agent/discovery.js';

const tag = `child-${process.pid}`;
const d = new Discovery({
  node: 'ns',
  envAllow: ['PERISCOPE_TEST_ID'],
  localMatch: { 'env.PERISCOPE_TEST_ID': `^${tag}$` },
  log: (line) => console.log(`log ${line}`),
  onChange: (list) => {
    const p = list.find((x) => x.pid === target?.pid);
    if (!p) return;
    console.log(`found ${p.pid} ${d.stats().mode}`);
    target?.kill('SIGKILL');
    d.stop();
    clearTimeout(giveUp);
  },
});
let target: ReturnType<typeof spawn> | undefined;
const giveUp = setTimeout(() => {
  console.log(`gave up: ${JSON.stringify(d.stats())}`);
  target?.kill('SIGKILL');
  d.stop();
}, 30_000);
d.start();
const settled = setInterval(() => {
  if (d.stats().mode === 'starting') return;
  clearInterval(settled);
  target = spawn(process.argv[2]!, [], {
    stdio: ['pipe', 'ignore', 'inherit'],
    env: { ...process.env, PERISCOPE_TEST_ID: tag },
  });
}, 20);
