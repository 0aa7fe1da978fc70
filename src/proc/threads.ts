/**
 * The threads of a live process, from /proc/PID/task: their ids, names and scheduler states.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** What /proc/PID/task/TID/stat says about one thread. */
export interface ThreadInfo {
  readonly tid: number;
  /** The thread's name (comm). */
  readonly name: string;
  /** Scheduler state letter: R running, S sleeping, D disk wait, T stopped, t tracing stop, Z zombie... */
  readonly state: string;
  /** CPU time in user mode, in clock ticks. */
  readonly utime: number;
  /** CPU time in kernel mode, in clock ticks. */
  readonly stime: number;
  /** Nice value, -20..19 (field 19). */
  readonly nice: number;
  /** CPU the thread last ran on. */
  readonly processor: number;
  /** Scheduling policy: 0 SCHED_OTHER, 1 SCHED_FIFO, 2 SCHED_RR, 3 SCHED_BATCH, 5 SCHED_IDLE. */
  readonly policy: number;
}

/** The thread ids of a process, ascending; undefined when the process does not exist. */
export function listTids(pid: number): number[] | undefined {
  let names: string[];
  try {
    names = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  return names.map(Number).sort((a, b) => a - b);
}

/** Parses the text of a /proc/.../stat file (the name may contain spaces and parentheses). */
export function parseThreadStat(tid: number, text: string): ThreadInfo {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  const f = text.slice(close + 2).split(' ');
  // f[0] is field 3 (state); utime is field 14, stime 15, nice 19, processor 39, policy 41.
  return {
    tid,
    name: text.slice(open + 1, close),
    state: f[0] ?? '?',
    utime: Number(f[11]),
    stime: Number(f[12]),
    nice: Number(f[16]),
    processor: Number(f[36]),
    policy: Number(f[38]),
  };
}

/** One thread's stat; undefined when the thread (or process) is gone. */
export function threadInfo(pid: number, tid: number): ThreadInfo | undefined {
  try {
    return parseThreadStat(tid, readFileSync(`/proc/${pid}/task/${tid}/stat`, 'latin1'));
  } catch {
    return undefined;
  }
}

/** Every thread's stat (threads that exit while we look are left out). */
export function listThreads(pid: number): ThreadInfo[] {
  const out: ThreadInfo[] = [];
  for (const tid of listTids(pid) ?? []) {
    const t = threadInfo(pid, tid);
    if (t) out.push(t);
  }
  return out;
}
