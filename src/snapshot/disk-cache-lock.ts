/**
 * The lock of a binary cache directory (binary-disk-cache.ts): one writer at a time among the
 * threads and processes that share the directory — the agent's capture and probe threads, a
 * one-shot `periscope snapshot --pid` beside the agent, the old and new agent of a rollout on
 * one node's directory — so that a write reads what is on disk, merges, and replaces it
 * without another writer's entry coming in between.
 *
 * flock(2) on `DIR/.lock` (never removed): held by an open file description, so two threads
 * of one process exclude each other as two processes do, and released by the kernel when the
 * holder closes it or dies, even killed mid-write: there is no stale lock to detect or clear.
 * Waited for a bounded time, polling (a holder stopped in a debugger must not stall a prepare).
 */
import { closeSync, constants, openSync } from 'node:fs';
import { join } from 'node:path';
import { Errno, libc } from '../proc/libc.js';

/** The lock file's name in the cache directory. */
export const LOCK_FILE = '.lock';

const LOCK_EX = 2;
const LOCK_NB = 4;

/** A lock held; `release` lets the next writer in. */
export interface HeldLock {
  release(): void;
}

/**
 * The lock, or 'busy' when another writer held it for all of `waitMs`, or why locking is not
 * possible here (a file system without flock, libc not loadable): the caller goes on unlocked.
 */
export function lockCacheDir(
  dir: string,
  waitMs: number,
): HeldLock | 'busy' | { readonly unsupported: string } {
  let fd: number;
  try {
    fd = openSync(join(dir, LOCK_FILE), constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  } catch (e) {
    return { unsupported: (e as Error).message };
  }
  const deadline = performance.now() + waitMs;
  let napMs = 1;
  try {
    const c = libc();
    for (;;) {
      if (c.flock(fd, LOCK_EX | LOCK_NB) === 0) {
        const held = fd;
        fd = -1;
        return { release: () => closeSync(held) }; // closing the last descriptor unlocks
      }
      const errno = c.errno();
      if (errno !== Errno.EAGAIN && errno !== Errno.EINTR) return { unsupported: `flock: errno ${errno}` };
      const left = deadline - performance.now();
      if (left <= 0) return 'busy';
      Atomics.wait(NAP, 0, 0, Math.min(napMs, left));
      napMs = Math.min(napMs * 2, 10);
    }
  } catch (e) {
    return { unsupported: (e as Error).message };
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

const NAP = new Int32Array(new SharedArrayBuffer(4));
