/**
 * The anchors of the probe benchmark that are not Periscope's own probes: a tracefs uprobe
 * at Periscope's site fetching the same five values (in an instance and group of our own,
 * removed after), bpftrace counting calls at the function's first instruction (the only
 * place Debian's bpftrace 0.17 accepts), and a probe "defined but off": compiled and its
 * programs loaded, not attached.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { FileOffset } from '../src/common/address.js';
import type { BpfMap } from '../src/probes/bpf/maps.js';
import { ATTACH_UPROBE_MULTI, type BpfProgram, loadProgram } from '../src/probes/bpf/program.js';
import type { CompiledProbe } from '../src/probes/compile/compile-probe.js';
import { createProbeMaps } from '../src/probes/create-probe-maps.js';

/** Something set up for one configuration of the benchmark; close() removes it. */
export interface Running {
  close(): Promise<void>;
}

const TRACEFS = '/sys/kernel/tracing';
const GROUP = 'periscope_bench';

/**
 * A tracefs uprobe at `path:offset` fetching Go's first five arguments of
 * work(a int, s string, p *Point, b bool, xs []int): a, s's first 16 bytes and length,
 * *p's first word, b, len(xs).
 */
export function tracefsProbe(path: string, offset: FileOffset): Running {
  if (!existsSync(`${TRACEFS}/uprobe_events`)) execFileSync('mount', ['-t', 'tracefs', 'nodev', TRACEFS]);
  const def = `p:${GROUP}/work ${path}:0x${offset.toString(16)} a=%ax:s64 s=+0(%bx):u8[16] slen=%cx:s64 px=+0(%di):s64 b=%si:u8 xlen=%r9:s64`;
  writeFileSync(`${TRACEFS}/uprobe_events`, `${def}\n`, { flag: 'a' });
  const inst = `${TRACEFS}/instances/${GROUP}`;
  mkdirSync(inst, { recursive: true });
  writeFileSync(`${inst}/events/${GROUP}/work/enable`, '1');
  return {
    async close() {
      writeFileSync(`${inst}/events/${GROUP}/work/enable`, '0');
      rmdirSync(inst);
      writeFileSync(`${TRACEFS}/uprobe_events`, `-:${GROUP}/work\n`, { flag: 'a' });
      if (readFileSync(`${TRACEFS}/uprobe_events`, 'latin1').includes(GROUP))
        throw new Error('the tracefs probe could not be removed');
    },
  };
}

/** Whether bpftrace is installed and runs here (the benchmark goes on without it). */
export function bpftraceAvailable(): boolean {
  try {
    execFileSync('bpftrace', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** bpftrace counting calls of `fn` (at its first instruction); resolves once attached. */
export async function bpftraceCounter(path: string, fn: string): Promise<Running> {
  // Line-buffered: into a pipe, bpftrace's "Attaching" line otherwise waits in its buffer until
  // it exits (the benchmark waited for it forever on 2026-12-05).
  const script = `uprobe:${path}:${fn} { @calls = count(); }`;
  const child: ChildProcess = spawn('stdbuf', ['-oL', 'bpftrace', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (l) => {
      if (/^Attaching/.test(l)) setTimeout(resolve, 300); // it prints before it finishes attaching
    });
    child.once('exit', (code) => reject(new Error(`bpftrace exited (${code}) before attaching`)));
  });
  return {
    async close() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGINT');
      await exited;
    },
  };
}

/** A probe compiled and its programs loaded (verified), but not attached: what "off" costs. */
export function definedButOff(probe: CompiledProbe): Running {
  const maps: BpfMap[] = [];
  const programs: BpfProgram[] = [];
  const fds = createProbeMaps(
    1,
    Math.max(1, probe.spec.stackFrames ?? 0),
    'o',
    { hot: 1 << 16, overflow: 1 << 16 },
    maps,
  );
  probe.sites.forEach((_, i) => {
    const insns = probe.program(i, 0, { kind: 'cookie' }, fds, 0);
    programs.push(loadProgram({ name: `periscope_o${i}`, insns, expectedAttachType: ATTACH_UPROBE_MULTI }));
  });
  return {
    async close() {
      for (const p of programs) p.close();
      for (const m of maps) m.close();
    },
  };
}
