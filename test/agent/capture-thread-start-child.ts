/**
 * Child of capture-thread-start.test.ts, put under a CPU quota by it: once told `go` on stdin,
 * a fresh capture thread is asked one call (a `drop`, answered at once) with the budget given as
 * argument, and what came back is printed as one JSON line: the reply, and the thread's log
 * lines with the ms since the call.
 */
import { createInterface } from 'node:readline';
import { CaptureThread } from '../../src/agent/capture-thread.js';

const budgetMs = Number(process.argv[2]);
const input = createInterface({ input: process.stdin });
console.log('ready');
input.once('line', async () => {
  input.close();
  const t0 = performance.now();
  const lines: { ms: number; line: string }[] = [];
  const thread = new CaptureThread((line) => lines.push({ ms: Math.round(performance.now() - t0), line }));
  const reply = await thread.call({ op: 'drop', slots: [] }, budgetMs);
  thread.close();
  console.log(JSON.stringify({ reply, lines }));
});
