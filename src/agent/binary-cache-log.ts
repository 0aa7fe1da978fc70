/**
 * What the agent logs of its binary cache on disk (snapshot/binary-disk-cache.ts), told by
 * its capture and probe threads: a cache it cannot use (once per directory and reason: each
 * restarted thread would say it again), binaries loaded from it, entries ignored, evicted or
 * not stored. Misses and stores only with PERISCOPE_DEBUG set: they come with every new binary.
 */

/** A logger of the cache's lines for one thread kind, e.g. 'capture thread'. */
export function binaryCacheLog(
  who: string,
  log: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): (line: string) => void {
  const said = new Set<string>();
  const debug = !!env.PERISCOPE_DEBUG;
  return (line) => {
    if (!debug && /^(miss|stored|sections) /.test(line)) return;
    if (line.startsWith('not using ')) {
      if (said.has(line)) return;
      said.add(line);
      line = `${line}; going on without it (give --cache-dir another directory, or --cache-dir off)`;
    }
    log(`binary cache (${who}): ${line}`);
  };
}
