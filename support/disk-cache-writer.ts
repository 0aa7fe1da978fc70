/**
 * A writer of the binary disk cache for test/snapshot/binary-disk-writers.test.ts, run as a
 * worker thread (workerData) or as a process (argv: JSON of the same): `write` stores
 * `rounds` times into one entry what writer `writer` has learned so far (its own frame-host
 * set, one more inlined-only answer a round), merged as BinaryCache.persist merges; `hold`
 * takes the directory's lock, says `locked` and keeps it until killed.
 */
import { pathToFileURL } from 'node:url';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { BinaryDiskCache, type StoredFacts } from '../src/snapshot/binary-disk-cache.js';
import { lockCacheDir } from '../src/snapshot/disk-cache-lock.js';
import type { FactsKey } from '../src/snapshot/facts-file.js';
import { mergeWithStored } from '../src/snapshot/stored-facts.js';

/** What a writer is told. */
export interface WriterJob {
  readonly mode: 'write' | 'hold';
  readonly dir: string;
  readonly writer: number;
  readonly rounds: number;
  /** BinaryDiskCache's lockWaitMs (default its own). */
  readonly lockWaitMs?: number;
}

/** The one binary every writer of the test stores facts of. */
export const WRITERS_KEY: FactsKey = { buildId: 'writers', size: 1, mtimeMs: 1, periscope: 'test' };

/** Host ranges this big make a write take long enough (~1 MiB each) for writers to overlap. */
export const HOST_RANGES = 64 << 10;

/** The inlined-only answer writer `w` learns in round `r`. */
export const answerName = (w: number, r: number): string => `w${w}.r${r}`;

/** What writer `w` has learned after round `r`. */
function learned(w: number, r: number): StoredFacts {
  const starts = new Float64Array(HOST_RANGES).fill(w);
  return {
    frameHosts: [[`w${w}`, { starts, ends: starts }]],
    inlinedOnly: Array.from({ length: r + 1 }, (_, i) => [answerName(w, i), true] as const),
  };
}

function run(job: WriterJob): string[] {
  if (job.mode === 'hold') {
    const lock = lockCacheDir(job.dir, 10_000);
    if (typeof lock !== 'object' || !('release' in lock)) return [`not locked: ${JSON.stringify(lock)}`];
    process.stdout.write('locked\n');
    setInterval(() => {}, 60_000); // until killed
    return [];
  }
  const lines: string[] = [];
  const disk = new BinaryDiskCache({
    dir: job.dir,
    log: (l) => lines.push(l),
    ...(job.lockWaitMs !== undefined ? { lockWaitMs: job.lockWaitMs } : {}),
  });
  for (let r = 0; r < job.rounds; r++) {
    const mine = learned(job.writer, r);
    if (!disk.store(WRITERS_KEY, mine, mergeWithStored(mine))) lines.push(`round ${r}: not stored`);
  }
  return lines.filter((l) => !l.startsWith('stored '));
}

if (!isMainThread) parentPort?.postMessage(run(workerData as WriterJob));
else if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const lines = run(JSON.parse(process.argv[2]!) as WriterJob);
  if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
}
