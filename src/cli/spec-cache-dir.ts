/**
 * Where the one-shot commands keep parsed specs (spec/spec-cache.ts): the `specs`
 * subdirectory of the CLI's cache directory ($PERISCOPE_CACHE_DIR, else
 * $XDG_CACHE_HOME/periscope, else ~/.cache/periscope), as the binary cache
 * (binary-cache-dir.ts); `PERISCOPE_CACHE_DIR=off` goes without both.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { useSpecDiskCache } from '../spec/spec-cache.js';

/** The directory of the parsed-spec cache, or undefined when switched off. */
export function specCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dir = env.PERISCOPE_CACHE_DIR;
  if (dir === 'off') return undefined;
  if (dir) return join(resolve(dir), 'specs');
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'periscope', 'specs');
}

/** Makes this process keep parsed specs on disk (unless switched off). */
export function useSpecCacheDir(env: NodeJS.ProcessEnv = process.env): void {
  useSpecDiskCache(specCacheDir(env));
}
