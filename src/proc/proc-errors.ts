/**
 * What a failed read of /proc/PID/… means for the user: the process is gone, or it exists and
 * this process may not read it (another user's process, or one that is not dumpable), and which
 * permission that takes.
 */
import { readFileSync } from 'node:fs';
import { PeriscopeError } from '../common/errors.js';

/** The error for a process that no longer exists. */
export function processGone(pid: number): PeriscopeError {
  return new PeriscopeError('not-found', `process ${pid} does not exist (it may have exited); check the pid`);
}

function userName(uid: number): string | undefined {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (name && Number(id) === uid) return name;
    }
  } catch {
    // No passwd file (a minimal container): the uid alone.
  }
  return undefined;
}

function describeUser(uid: number): string {
  const name = userName(uid);
  return name ? `${name} (uid ${uid})` : `uid ${uid}`;
}

/** The real uid a process runs as (/proc/PID/status is readable by everyone), if it exists. */
function ownerOf(pid: number): number | undefined {
  try {
    const m = /^Uid:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The error for a process whose executable, maps or memory this process may not read. */
export function notPermittedToRead(pid: number): PeriscopeError {
  const owner = ownerOf(pid);
  if (owner === undefined) return processGone(pid);
  const self = process.getuid?.() ?? -1;
  const why =
    owner === self
      ? `it runs as this user (${describeUser(self)}) but is not dumpable (a set-uid program, or it called prctl(PR_SET_DUMPABLE, 0)), so reading it needs CAP_SYS_PTRACE`
      : `it runs as ${describeUser(owner)} and this command as ${describeUser(self)}; reading another user's process needs CAP_SYS_PTRACE: run as root${owner !== 0 ? ` or as ${describeUser(owner)}` : ''}, or grant CAP_SYS_PTRACE`;
  return new PeriscopeError('permission', `cannot read the executable or memory of process ${pid}: ${why}`);
}

/** The error for a failed read of a /proc file of a process: gone, or not permitted. */
export function procReadError(pid: number, e: unknown): PeriscopeError {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'EACCES' || code === 'EPERM' ? notPermittedToRead(pid) : processGone(pid);
}
