/**
 * A worker for test/proc/pause.test.ts: pauses and resumes a process `n` times from this
 * (non-main) thread while the main thread's event loop runs, and posts what happened.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pauseProcess } from '../src/proc/pause.js';

const { pid, n } = workerData as { pid: number; n: number };
const failures: string[] = [];
let threads = 0;
for (let i = 0; i < n; i++) {
  try {
    const p = pauseProcess(pid, { budgetMs: 1000 });
    threads = Math.max(threads, p.threads.length);
    p.resume();
  } catch (e) {
    failures.push(e instanceof Error ? e.message : String(e));
  }
  // Let the main thread's event loop (and Node's child reaping) run between pauses.
  await new Promise((r) => setTimeout(r, 2));
}
parentPort?.postMessage({ failures, threads });
