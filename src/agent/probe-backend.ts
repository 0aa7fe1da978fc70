/**
 * How this machine can run probes: eBPF when the kernel loads a program of ours (root or
 * CAP_BPF + CAP_PERFMON, no lockdown that forbids it), else tracefs `uprobe_events` (what it
 * cannot do is in docs/probes.md), else not at all, with why. At start, what a crashed agent
 * left in tracefs (only Periscope's own group and instance) is removed either way.
 */
import { describeError } from '../common/errors.js';
import { loadProgram } from '../probes/bpf/program.js';
import { emptyProgram } from '../probes/event-program.js';
import { cleanTracefs, tracefsProblem } from '../probes/tracefs/tracefs.js';

/** Where probes run, and what the user should know about it. */
export interface ProbeBackend {
  readonly kind: 'bpf' | 'tracefs' | 'none';
  readonly note?: string;
}

/** Decides the backend (`want`: auto, bpf, tracefs or off) and cleans Periscope's tracefs leftovers. */
export function probeBackend(want: 'auto' | 'bpf' | 'tracefs' | 'off'): ProbeBackend {
  let cleaned = '';
  try {
    const n = cleanTracefs();
    if (n > 0) cleaned = `; removed ${n} tracefs probe(s) a previous agent left`;
  } catch (e) {
    cleaned = `; could not clean tracefs: ${describeError(e)}`;
  }
  if (want === 'off') return { kind: 'none', note: `probes are off (--probes off)${cleaned}` };
  let bpfError: string | undefined;
  if (want !== 'tracefs') {
    try {
      loadProgram({ name: 'periscope_chk', insns: emptyProgram() }).close();
      return cleaned ? { kind: 'bpf', note: cleaned.slice(2) } : { kind: 'bpf' };
    } catch (e) {
      bpfError = describeError(e);
      if (want === 'bpf') return { kind: 'none', note: `eBPF is not available: ${bpfError}${cleaned}` };
    }
  }
  const problem = tracefsProblem();
  if (problem)
    return {
      kind: 'none',
      note: `${bpfError ? `eBPF is not available (${bpfError}); ` : ''}tracefs: ${problem}${cleaned}`,
    };
  return {
    kind: 'tracefs',
    note: `${bpfError ? `eBPF is not available (${bpfError}); ` : ''}probes run on tracefs uprobe_events: counters, and captures of integer, bool and string variables, their fields and what their pointers point to only (no conditions, durations, stacks or labels; rate limits applied after the hit; costs estimated; the kernel places each probe in every process running the same file, whose events are dropped)${cleaned}`,
  };
}
