/**
 * A bounded wait for named pieces of work (a shutdown waiting for the last writes before it
 * releases what they use): it says which pieces it gave up on, so the log can name them.
 */

/** A piece of work under way and what to call it when it is given up on. */
export interface NamedWork {
  readonly what: string;
  readonly done: Promise<unknown>;
}

/**
 * Waits until every piece has settled (resolved or failed) or `ms` has passed (Infinity: no
 * bound); resolves with the names of the pieces still running then, in the order given.
 */
export async function waitAtMost(pieces: readonly NamedWork[], ms: number): Promise<string[]> {
  const running = new Set(pieces);
  const all = Promise.all(
    pieces.map((p) =>
      p.done.then(
        () => running.delete(p),
        () => running.delete(p),
      ),
    ),
  );
  if (ms === Number.POSITIVE_INFINITY) await all;
  else {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, ms))))]);
    clearTimeout(timer);
  }
  return pieces.filter((p) => running.has(p)).map((p) => p.what);
}
