/**
 * Errors of the bpf layer: what the kernel refused and what to do about it, with the
 * verifier's log and our own disassembly attached when a program is refused.
 */
import { PeriscopeError } from '../../common/errors.js';

/** errno values the bpf code distinguishes. */
export const E = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EBADF: 9,
  EACCES: 13,
  EINVAL: 22,
  ENOSPC: 28,
  E2BIG: 7,
} as const;

/** A refused bpf operation. */
export class BpfError extends PeriscopeError {
  readonly errno: number;
  /** The verifier's log for a refused program (empty otherwise). */
  readonly log: string;
  /** Our disassembly of the refused program (empty otherwise). */
  readonly listing: string;
  constructor(what: string, errno: number, log = '', listing = '') {
    super(errno === E.EPERM ? 'permission' : 'unsupported', `${what}: ${describeErrno(errno)}${tail(log)}`);
    this.name = 'BpfError';
    this.errno = errno;
    this.log = log;
    this.listing = listing;
  }
}

/** The errno's meaning here, with the fix where there is one. */
export function describeErrno(errno: number): string {
  switch (errno) {
    case E.EPERM:
      return 'operation not permitted (EPERM): probes need root, or CAP_BPF and CAP_PERFMON';
    case E.EACCES:
      return 'refused by the kernel verifier (EACCES)';
    case E.EINVAL:
      return 'invalid argument (EINVAL)';
    case E.ENOENT:
      return 'no such file or entry (ENOENT)';
    case E.ESRCH:
      return 'no such process (ESRCH): the target exited';
    case E.ENOSPC:
      return 'no space (ENOSPC)';
    case E.E2BIG:
      return 'too big for this kernel (E2BIG)';
    default:
      return `errno ${errno}`;
  }
}

/** The last lines of a verifier log, where it says why. */
function tail(log: string): string {
  if (!log) return '';
  const lines = log.trimEnd().split('\n');
  return `\n${lines.slice(-12).join('\n')}`;
}
