/**
 * A worker for test/snapshot/warm-up-helper.test.ts: a fresh thread (its copy helper not
 * started yet) prepares process `pid`, runs the warm-up that precedes its first pause, and
 * posts whether the copy helper takes jobs at that point and how many reads it shared.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { copyHelperReady, copySplitStats } from '../src/proc/copy-helper.js';
import { warmUpCapture } from '../src/snapshot/paused-capture.js';
import { prepareProcess } from '../src/snapshot/take-snapshot.js';

const { pid } = workerData as { pid: number };
const plan = prepareProcess(pid);
warmUpCapture(pid, plan);
parentPort?.postMessage({ ready: copyHelperReady(0), splits: copySplitStats().splits });
