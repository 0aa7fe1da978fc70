/**
 * The one-shot commands' binary cache on disk (snapshot/binary-disk-cache.ts): where it is
 * ($PERISCOPE_CACHE_DIR, else $XDG_CACHE_HOME/periscope, else ~/.cache/periscope; its
 * `binaries` subdirectory), `PERISCOPE_CACHE_DIR=off` to go without, and what it says when
 * PERISCOPE_DEBUG is set (otherwise nothing: a cache never fails a command).
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { threadBinaries } from '../snapshot/binary-cache.js';
import { BinaryDiskCache } from '../snapshot/binary-disk-cache.js';

/** The directory of the binary cache, or undefined when switched off. */
export function binaryCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dir = env.PERISCOPE_CACHE_DIR;
  if (dir === 'off') return undefined;
  if (dir) return join(resolve(dir), 'binaries');
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'periscope', 'binaries');
}

/** Makes this thread's binaries start from, and be kept in, the disk cache (unless switched off). */
export function useBinaryDiskCache(env: NodeJS.ProcessEnv = process.env): void {
  const dir = binaryCacheDir(env);
  if (dir === undefined) return;
  const log = env.PERISCOPE_DEBUG
    ? (line: string) => process.stderr.write(`periscope: binary cache: ${line}\n`)
    : undefined;
  threadBinaries.useDisk(new BinaryDiskCache({ dir, ...(log ? { log } : {}) }));
}
