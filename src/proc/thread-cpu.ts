/**
 * The CPU time one thread of this process has had: how the agent tells a prepare that is
 * working but starved of CPU (a busy machine, a tight CPU quota, the agent stopped and
 * continued) from one that is stuck (waiting on a read that never ends).
 */
import { readFileSync } from 'node:fs';

/** CPU time thread `tid` of this process has run, ms (schedstat's first field); undefined when it is gone. */
export function threadCpuMs(tid: number): number | undefined {
  try {
    const ns = Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'latin1').split(' ')[0]);
    return Number.isFinite(ns) ? ns / 1e6 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU time of this whole process (every thread), ms. */
export function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
