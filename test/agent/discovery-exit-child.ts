/**
 * Child of discovery-exit.test.ts: starts a Discovery on the kernel's events with full passes
 * ten minutes apart, prints `settled MODE THREAD` once it has settled how it works, waits
 * 300 ms (its thread is then asleep in poll() for ten minutes) and calls process.exit(0)
 * without stopping it: the process must still end.
 */
import { Discovery } from '../../src/agent/discovery.js';

const d = new Discovery({ node: 'exit', envAllow: [], rescanMs: 600_000 });
d.start();
const settled = setInterval(() => {
  const mode = d.stats().mode;
  if (mode === 'starting') return;
  clearInterval(settled);
  console.log(`settled ${mode} ${d.stats().thread}`);
  setTimeout(() => process.exit(0), 300);
}, 20);
