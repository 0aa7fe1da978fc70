/**
 * Delve as a benchmark anchor: times `dlv exec --headless` on a binary until it answered
 * the same queries as ours (through the shared client, support/delve.ts), and shuts
 * it and its target down cleanly.
 *
 * Delve prints "API server listening at" from rpccommon.NewServer, *before*
 * ServerImpl.Run calls debugger.New, which launches the target and runs
 * BinaryInfo.LoadBinaryInfo (DWARF, line tables, symbols; it waits for its loader
 * goroutines). The accept loop only starts after that, so the first RPC answer is the
 * moment Delve can take commands with the binary fully loaded.
 */
import { Delve } from './delve.js';
import { childPids, procCpuMs, procMemory, reap } from './proc.js';

/** Detaches Delve killing its target, waits for both to exit and SIGKILLs leftovers; returns PIDs it had to kill. */
export async function stopDelve(delve: Delve): Promise<number[]> {
  const pid = delve.process.pid!;
  const children = childPids(pid);
  const killed = (await delve.close(true)) ? [pid] : [];
  return [...killed, ...(await reap(children, 5_000))];
}

/** One cold load of a binary by Delve, until it answered its first queries. */
export interface DelveLoadRun {
  /** ms from spawn to the answer of the last query. */
  readonly readyMs: number;
  /** ms from spawn to "API server listening" (process up, binary not loaded yet). */
  readonly listeningMs: number;
  /** Peak RSS of the dlv process (VmHWM), KiB. */
  readonly peakRssKiB: number;
  /** User+system CPU time of dlv until ready, ms. */
  readonly cpuMs: number;
  /** What the queries returned, to show they did the same work as ours. */
  readonly answers: { readonly fn: string; readonly line: string; readonly types: number };
  /** PIDs that did not exit on Detach and had to be SIGKILLed (should be empty). */
  readonly killed: readonly number[];
}

/**
 * Times Delve from spawn until it answered: function by name (FindLocation), PC -> file:line
 * of that function's entry (FindLocation *0x...), and type by name (ListTypes).
 */
export async function timeDelveLoad(
  dlv: string,
  binary: string,
  fn: string,
  type: string,
): Promise<DelveLoadRun> {
  const delve = await Delve.exec(dlv, binary);
  try {
    const byName = await delve.findLocation(fn);
    const entry = byName[0]?.function?.value;
    if (entry === undefined) throw new Error(`Delve found no function ${fn}`);
    const atPc = await delve.findLocation(`*0x${entry.toString(16)}`);
    const types = await delve.listTypes(`^${type.replace(/\./g, '\\.')}$`);
    const readyMs = performance.now() - delve.t0;
    const pid = delve.process.pid!;
    const mem = procMemory(pid);
    const cpuMs = procCpuMs(pid) ?? NaN;
    const loc = atPc[0];
    return {
      readyMs,
      listeningMs: delve.listeningMs,
      peakRssKiB: mem?.peakRssKiB ?? NaN,
      cpuMs,
      answers: {
        fn: `${fn} @ 0x${entry.toString(16)}`,
        line: loc ? `${loc.file}:${loc.line}` : 'none',
        types: types.length,
      },
      killed: await stopDelve(delve),
    };
  } catch (e) {
    await stopDelve(delve);
    throw e;
  }
}
