/**
 * Where the binary cache on disk (snapshot/binary-disk-cache.ts) lives. The one-shot
 * commands': $PERISCOPE_CACHE_DIR, else $XDG_CACHE_HOME/periscope, else ~/.cache/periscope
 * (its `binaries` subdirectory), `PERISCOPE_CACHE_DIR=off` to go without, and what it says when
 * PERISCOPE_DEBUG is set (otherwise nothing: a cache never fails a command). The agent's
 * (`--cache-dir`): the same subdirectory of a directory that suits a root daemon.
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

/**
 * The agent's binary cache directory, or undefined when switched off: `--cache-dir DIR` (`off`:
 * none), else $PERISCOPE_CACHE_DIR, else the cache directory systemd gives the unit
 * ($CACHE_DIRECTORY, from `CacheDirectory=`), else /var/cache/periscope for root, else the
 * one-shot commands' default; always its `binaries` subdirectory.
 */
export function agentBinaryCacheDir(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  uid: number | undefined = process.getuid?.(),
): string | undefined {
  const given = flag ?? (env.PERISCOPE_CACHE_DIR || undefined);
  if (given === 'off') return undefined;
  if (given) return join(resolve(given), 'binaries');
  // systemd lists one directory per CacheDirectory= entry, separated by colons.
  const systemd = env.CACHE_DIRECTORY?.split(':')[0];
  if (systemd) return join(systemd, 'binaries');
  if (uid === 0) return '/var/cache/periscope/binaries';
  return binaryCacheDir({ ...env, PERISCOPE_CACHE_DIR: undefined });
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
