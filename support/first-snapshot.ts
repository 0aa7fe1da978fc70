/**
 * A child process of bench/pause-ab.ts: takes its first snapshot of process PID, with or
 * without the warm-up, and prints the pause and its phases in ms as JSON. A fresh process
 * (not a worker thread of the benchmark: pausing the benchmark's own child from a thread
 * other than the main one lets Node's child reaping take a ptrace stop for the child's exit,
 * and close its pipes).
 *
 * Usage: node dist/support/first-snapshot.js PID on|off
 */
import { prepareProcess, snapshotProcess } from '../src/snapshot/take-snapshot.js';
import { effectiveSpec } from '../src/spec/effective-spec.js';
import { EMPTY_SPEC } from '../src/spec/spec-types.js';

const pid = Number(process.argv[2]);
const warmUp = process.argv[3] !== 'off';
const spec = effectiveSpec(EMPTY_SPEC);
prepareProcess(pid, spec); // the binary loaded and the spec compiled, as in any first snapshot
const snap = snapshotProcess(pid, { spec, warmUp });
console.log(
  JSON.stringify({
    pauseMs: snap.pauseNs / 1e6,
    stopMs: snap.phasesNs.stop / 1e6,
    copyMs: snap.phasesNs.copy / 1e6,
    valuesMs: snap.phasesNs.values / 1e6,
  }),
);
