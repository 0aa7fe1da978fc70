/**
 * A worker of bench/pause-ab.ts: takes the first snapshot of its (fresh) thread, with or
 * without the warm-up, and posts the pause and its phases in ms. A worker is a new V8
 * isolate, so nothing of the pause's code has run in it before.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { prepareProcess, snapshotProcess } from '../../src/snapshot/take-snapshot.js';
import { withDefaultSpec } from '../../src/spec/default-spec.js';
import { EMPTY_SPEC } from '../../src/spec/spec-types.js';

const { pid, warmUp } = workerData as { pid: number; warmUp: boolean };
const spec = withDefaultSpec(EMPTY_SPEC);
prepareProcess(pid, spec); // the binary loaded and the spec compiled, as in any first snapshot
const snap = snapshotProcess(pid, { spec, warmUp });
parentPort?.postMessage({
  pauseMs: snap.pauseNs / 1e6,
  stopMs: snap.phasesNs.stop / 1e6,
  copyMs: snap.phasesNs.copy / 1e6,
  valuesMs: snap.phasesNs.values / 1e6,
});
process.exit(0); // ends this worker (its copy helper, if any, with it)
