/**
 * Test helper run as a separate Node process: pauses a process and holds the pause.
 * `node pause-holder.js PID hold`: prints "paused {...}", resumes on a "resume" line on stdin.
 * `node pause-holder.js PID die`: prints "paused {...}", then SIGKILLs itself while holding it.
 */
import { createInterface } from 'node:readline';
import { pauseProcess } from '../../src/proc/pause.js';

const pid = Number(process.argv[2]);
const mode = process.argv[3];
try {
  const paused = pauseProcess(pid, { maxHoldMs: 60_000 });
  console.log(`paused ${JSON.stringify({ threads: paused.threads.length, stopNs: paused.timings.stopNs })}`);
  if (mode === 'die') process.kill(process.pid, 'SIGKILL');
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line.trim() !== 'resume') return;
    paused.resume();
    console.log('resumed');
    process.exit(0);
  });
} catch (e) {
  console.log(`error ${(e as Error).message}`);
  process.exit(3);
}
