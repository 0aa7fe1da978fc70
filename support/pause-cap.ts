/**
 * Test support: the pause cap of tests that are not about the cap. The default cap (100 ms,
 * snapshot/paused-capture.ts) is meant for a production machine; on a CI machine at load
 * 20–30 on 2 cores a target's runnable threads wait longer than that for a CPU to enter their
 * stop, in both of the pause's tries, and the snapshot fails (PauseTimeoutError) or is cut
 * (partial): a test of links, of the server or of the fleet then failed for a reason it does
 * not test. The cap itself is tested by test/snapshot/pause-cap.test.ts and
 * test/fleet/busy-agent.test.ts, which set their own.
 */
import { DEFAULT_PAUSE_CAP_MS } from '../src/snapshot/paused-capture.js';

/** SnapshotOptions.pauseCapMs / ExecutorOptions.pauseCapMs for tests; the most --pause-cap-ms takes. */
export const TEST_PAUSE_CAP_MS = 10_000;

/** The same for `periscope snapshot` (local) and `periscope agent`. */
export const TEST_PAUSE_CAP_ARGS: readonly string[] = ['--pause-cap-ms', String(TEST_PAUSE_CAP_MS)];

/**
 * A CLI run's arguments with the tests' cap added to a local `periscope snapshot --pid` that
 * pauses and sets no cap of its own (the one-shot CLI takes the same 100 ms default).
 */
export function withTestPauseCap(args: readonly string[]): string[] {
  const local =
    args[0] === 'snapshot' &&
    /^\d+$/.test(args[args.indexOf('--pid') + 1] ?? '') && // not a test of the arguments' parsing
    !args.includes('--server') &&
    !args.includes('--no-pause') &&
    !args.includes('--pause-cap-ms');
  return local ? [...args, ...TEST_PAUSE_CAP_ARGS] : [...args];
}

/**
 * For benchmarks, which measure Periscope as users run it: the default cap given explicitly,
 * so that the agents started by support/fleet.ts do not take the tests' cap.
 */
export const PRODUCT_PAUSE_CAP_ARGS: readonly string[] = ['--pause-cap-ms', String(DEFAULT_PAUSE_CAP_MS)];
