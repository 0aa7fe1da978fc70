/** Describes the machine and the date of a benchmark run, for the figures it prints. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg, totalmem } from 'node:os';

/** What a figure was measured on. */
export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memGiB: number;
  readonly node: string;
  readonly go: string;
  /** 1-minute load average when described: other work on the machine makes figures noisy. */
  readonly load: string;
  /** Short form for tables, e.g. "AMD EPYC, 2 cores, 24 GiB". */
  readonly short: string;
}

/** Reads the CPU model and core count (/proc/cpuinfo), memory, and the Node and Go versions. */
export function describeMachine(): Machine {
  let cpu = 'unknown CPU';
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpu;
  } catch {
    // Not Linux: keep 'unknown CPU'.
  }
  const cores = availableParallelism();
  const memGiB = Math.round(totalmem() / 2 ** 30);
  let go = 'go not found';
  try {
    go = execFileSync('go', ['env', 'GOVERSION'], { encoding: 'utf8' }).trim();
  } catch {
    // Keep 'go not found'.
  }
  return {
    cpu,
    cores,
    memGiB,
    node: process.version,
    go,
    load: loadAverage(),
    short: `${cpu}, ${cores} cores, ${memGiB} GiB`,
  };
}

/** Today's date as YYYY-MM-DD (UTC). */
export function today(): string {
  return new Date().toISOString().slice(0, 10);
}

/** The 1-minute load average, formatted with two decimals. */
export function loadAverage(): string {
  return loadavg()[0]!.toFixed(2);
}
