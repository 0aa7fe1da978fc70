/**
 * A tight CPU quota for one process (or some of its threads) in a cgroup of its own (cgroup
 * v1's cpu controller at /sys/fs/cgroup/cpu): they keep running but get at most the given
 * share of one CPU, as on a very busy machine. `release` moves it back where it was and
 * removes the cgroup.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';

const CPU = '/sys/fs/cgroup/cpu';

/** Why a CPU quota cannot be set here, or undefined when it can. */
export function cpuQuotaUnavailable(): string | undefined {
  if (!existsSync(`${CPU}/cpu.cfs_quota_us`)) return `no cgroup v1 cpu controller at ${CPU}`;
  if (process.getuid?.() !== 0) return 'setting a CPU quota needs root';
  return undefined;
}

/** A cgroup with a CPU quota holding one process. */
export class CpuQuota {
  readonly dir: string;
  private readonly home: string;
  /** throttledPeriods when released. */
  private released: number | undefined;

  /**
   * Puts `pid` (all its threads, or only the threads `tids` of it) into a new cgroup limited
   * to `percent` of one CPU.
   */
  constructor(
    readonly pid: number,
    percent: number,
    tids?: readonly number[],
  ) {
    const line = readFileSync(`/proc/${pid}/cgroup`, 'latin1')
      .split('\n')
      .find((l) => /^\d+:([^:]*,)?cpu(,[^:]*)?:/.test(l));
    this.home = `${CPU}${line?.split(':')[2] ?? '/'}`.replace(/\/$/, '');
    this.dir = `${CPU}/periscope-test-quota-${process.pid}-${pid}`;
    mkdirSync(this.dir, { recursive: true });
    this.set(percent);
    if (tids) for (const tid of tids) writeFileSync(`${this.dir}/tasks`, String(tid));
    else writeFileSync(`${this.dir}/cgroup.procs`, String(pid));
  }

  /** Sets the quota to `percent` of one CPU (per 100 ms period). */
  set(percent: number): void {
    writeFileSync(`${this.dir}/cpu.cfs_period_us`, '100000');
    writeFileSync(`${this.dir}/cpu.cfs_quota_us`, String(Math.max(1000, Math.round(percent * 1000))));
  }

  /** Periods in which the process was throttled (it wanted more CPU than the quota), until released. */
  throttledPeriods(): number {
    if (this.released !== undefined) return this.released;
    const stat = readFileSync(`${this.dir}/cpu.stat`, 'latin1');
    return Number(/nr_throttled (\d+)/.exec(stat)?.[1] ?? 0);
  }

  /** Moves the process back to its cgroup (if it still runs) and removes this one. */
  release(): void {
    if (this.released !== undefined) return;
    try {
      this.released = this.throttledPeriods();
      writeFileSync(`${this.dir}/cpu.cfs_quota_us`, '-1');
    } catch {
      this.released = 0;
    }
    // Threads exit, and new ones start, while they are moved: move until none is left.
    for (let i = 0; i < 20 && existsSync(this.dir); i++) {
      let tids: string[] = [];
      try {
        tids = readFileSync(`${this.dir}/tasks`, 'latin1').split('\n').filter(Boolean);
      } catch {
        return;
      }
      for (const tid of tids) {
        try {
          writeFileSync(`${this.home || CPU}/tasks`, tid);
        } catch {
          // Exited meanwhile.
        }
      }
      try {
        rmdirSync(this.dir);
      } catch {
        // A thread started meanwhile, or one is still leaving: again.
      }
    }
  }
}
