/**
 * Support of the probe tests: the target's code bytes as the process sees them
 * (/proc/PID/mem: a uprobe shows as INT3 there), tracefs' uprobe_events (which
 * Periscope's BPF probes must leave untouched), and our own BPF/perf fds.
 */

import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync, readSync } from 'node:fs';

/** `len` bytes of process `pid` at `address` (read-only). */
export function readTarget(pid: number, address: number, len: number): Buffer {
  const fd = openSync(`/proc/${pid}/mem`, 'r');
  try {
    const b = Buffer.alloc(len);
    readSync(fd, b, 0, len, address);
    return b;
  } finally {
    closeSync(fd);
  }
}

const TRACEFS = '/sys/kernel/tracing';

/**
 * The text of tracefs' uprobe_events (tracefs mounted first if it is not, as DESIGN.md's tests
 * do), less the lines of other processes' Periscope groups (`periscope_<pid>`, and the legacy
 * `periscope`): a running agent's (a test running side by side with tracefs probes) change as
 * it works, and a dead one's (left behind, or made by probe-fleet.test.ts as a crashed agent's)
 * are removed by whichever agent starts or stops next on the machine. This process's own group,
 * and everyone else's events, stay.
 */
export function uprobeEvents(): string {
  if (!existsSync(`${TRACEFS}/uprobe_events`)) execFileSync('mount', ['-t', 'tracefs', 'nodev', TRACEFS]);
  return readFileSync(`${TRACEFS}/uprobe_events`, 'latin1')
    .split('\n')
    .filter((line) => {
      const group = /^[pr]:([^/\s]+)\//.exec(line)?.[1];
      return group === undefined || !/^periscope(_\d+)?$/.test(group) || group === `periscope_${process.pid}`;
    })
    .join('\n');
}

/** This process's fds that are BPF objects or perf events, as "fd -> anon_inode:…". */
export function bpfAndPerfFds(): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    let link: string;
    try {
      link = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    if (/anon_inode:(bpf-|\[perf_event\])/.test(link)) out.push(`${fd} -> ${link}`);
  }
  return out.sort();
}
