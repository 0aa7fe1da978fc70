/**
 * A drain loop for benchmarks: calls `poll` every `ms` milliseconds, or, with 0, each time
 * the event loop turns (setImmediate: as often as Node can while still reading the target's
 * output). Returns the function that stops it.
 */
export function drainLoop(poll: () => void, ms: number): () => void {
  let on = true;
  const tick = () => {
    if (!on) return;
    poll();
    if (ms === 0) setImmediate(tick);
    else setTimeout(tick, ms);
  };
  tick();
  return () => {
    on = false;
  };
}

/** The `--drain-ms N` argument (default `dflt`). */
export function drainMsArg(dflt: number): number {
  const i = process.argv.indexOf('--drain-ms');
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}
