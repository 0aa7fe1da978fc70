/**
 * Loading a program (BPF_PROG_LOAD) as a kprobe-type program, the type uprobes run. When
 * the verifier refuses it, the load is repeated with the log on, and the error carries the
 * verifier's words and our disassembly.
 */

import { CMD, newAttr, putName, putPointer } from './attr.js';
import { BpfError, E } from './bpf-error.js';
import { disassemble } from './disassemble.js';
import { INSN_BYTES } from './isa.js';
import { syscalls } from './syscalls.js';

/** BPF_PROG_TYPE_KPROBE: uprobes (perf event or uprobe_multi link) run these. */
export const PROG_TYPE_KPROBE = 2;
/** BPF_PROG_TYPE_SOCKET_FILTER: runnable with BPF_PROG_TEST_RUN (used by tests of maps and rings). */
export const PROG_TYPE_SOCKET_FILTER = 1;
/** BPF_TRACE_UPROBE_MULTI: the expected attach type of a program for a uprobe_multi link. */
export const ATTACH_UPROBE_MULTI = 48;

/** What to load. */
export interface ProgramSpec {
  /** Kernel object name, `periscope_` prefixed by convention (15 characters at most). */
  readonly name: string;
  readonly insns: Uint8Array;
  /** Set for a program attached through a uprobe_multi link. */
  readonly expectedAttachType?: number;
  /** Program type; PROG_TYPE_KPROBE (uprobes) unless a test runs it with BPF_PROG_TEST_RUN. */
  readonly type?: number;
}

/** A loaded program; close it (or exit) to free it. */
export interface BpfProgram {
  readonly fd: number;
  readonly name: string;
  readonly insnCount: number;
  /** Closes the program's fd (a program attached somewhere lives on until detached). */
  close(): void;
}

const LOG_BYTES = 1 << 22;
const LOG_LEVEL_BRANCHES = 1;

/** Loads a program; a BpfError with the verifier's log when it is refused. */
export function loadProgram(spec: ProgramSpec): BpfProgram {
  const sys = syscalls();
  const insns = Buffer.from(spec.insns.buffer, spec.insns.byteOffset, spec.insns.byteLength);
  const license = Buffer.from('GPL\0', 'latin1'); // probe_read_user is a GPL-only helper
  const load = (log: Buffer | undefined): number => {
    const attr = newAttr();
    attr.writeUInt32LE(spec.type ?? PROG_TYPE_KPROBE, 0);
    attr.writeUInt32LE(insns.length / INSN_BYTES, 4);
    putPointer(attr, 8, insns);
    putPointer(attr, 16, license);
    if (log) {
      attr.writeUInt32LE(LOG_LEVEL_BRANCHES, 24);
      attr.writeUInt32LE(log.length, 28);
      putPointer(attr, 32, log);
    }
    putName(attr, 48, spec.name);
    attr.writeUInt32LE(spec.expectedAttachType ?? 0, 68);
    return sys.bpf(CMD.PROG_LOAD, attr);
  };
  let fd = load(undefined);
  if (fd < 0) {
    const errno = sys.errno();
    if (errno === E.EPERM) throw new BpfError(`cannot load BPF program ${spec.name}`, errno);
    const log = Buffer.alloc(LOG_BYTES);
    fd = load(log);
    if (fd < 0) {
      const text = log.toString('latin1', 0, Math.max(0, log.indexOf(0)));
      const listing = disassemble(spec.insns).join('\n');
      throw new BpfError(
        `the kernel refused BPF program ${spec.name} (${insns.length / INSN_BYTES} instructions)`,
        sys.errno(),
        text,
        listing,
      );
    }
  }
  let open = true;
  return {
    fd,
    name: spec.name,
    insnCount: insns.length / INSN_BYTES,
    close() {
      if (open) sys.close(fd);
      open = false;
    },
  };
}
