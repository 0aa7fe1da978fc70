/**
 * What BPF programs cost: the kernel's run-time statistics (`BPF_ENABLE_STATS` with
 * BPF_STATS_RUN_TIME, on while its fd is open — unlike the `kernel.bpf_stats_enabled` sysctl,
 * it goes away with us), read per program from `bpf_prog_info.run_time_ns` and `run_cnt`.
 */
import { CMD, newAttr, putPointer } from './attr.js';
import { BpfError } from './bpf-error.js';
import { syscalls } from './syscalls.js';

const ENABLE_STATS = 32;
const STATS_RUN_TIME = 0;
/** sizeof(struct bpf_prog_info) up to and including run_cnt (Linux 5.1+ layout). */
const INFO_BYTES = 216;
const RUN_TIME_NS = 192;
const RUN_CNT = 200;

/** A program's runs so far and the nanoseconds they took (counted while statistics are on). */
export interface RunStats {
  readonly runTimeNs: number;
  readonly runCount: number;
}

/** Turns the kernel's BPF run-time statistics on until the returned fd is closed. */
export function enableRunTimeStats(): number {
  const sys = syscalls();
  const attr = newAttr();
  attr.writeUInt32LE(STATS_RUN_TIME, 0);
  const fd = sys.bpf(ENABLE_STATS, attr);
  if (fd < 0) throw new BpfError('cannot turn on BPF run-time statistics', sys.errno());
  return fd;
}

/** The run statistics of a program fd. */
export function runStats(fd: number): RunStats {
  const sys = syscalls();
  const info = Buffer.alloc(INFO_BYTES);
  const attr = newAttr();
  attr.writeUInt32LE(fd, 0);
  attr.writeUInt32LE(info.length, 4);
  putPointer(attr, 8, info);
  if (sys.bpf(CMD.OBJ_GET_INFO_BY_FD, attr) !== 0)
    throw new BpfError(`cannot read the statistics of BPF program fd ${fd}`, sys.errno());
  return {
    runTimeNs: Number(info.readBigUInt64LE(RUN_TIME_NS)),
    runCount: Number(info.readBigUInt64LE(RUN_CNT)),
  };
}
