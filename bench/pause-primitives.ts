/**
 * Benchmark: how long a target stands still for one pause. Periscope's ptrace pause (seize,
 * interrupt, every thread's registers, detach) beside the anchor it replaces, SIGSTOP then
 * SIGCONT (visible to the target, so not an option, but the cheapest stop there is), timed
 * until every thread is seen stopped in /proc and back. Same targets, same run.
 *
 * Usage: npx tsc -p . && node dist/bench/pause-primitives.js [--runs N]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { pauseProcess } from '../src/proc/pause.js';
import { listThreads } from '../src/proc/threads.js';
import { buildFixture } from '../support/go-fixtures.js';
import { describeMachine, loadAverage } from '../support/machine.js';
import { ratio, summarize } from '../support/stats.js';
import { formatTable } from '../support/table.js';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 200;
const us = (ns: number): string => `${(ns / 1000).toFixed(0)} us`;
const now = (): number => Number(process.hrtime.bigint());

async function start(program: string, args: string[], env: Record<string, string>): Promise<ChildProcess> {
  const { path } = await buildFixture(program);
  const child = spawn(path, args, { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, ...env } });
  await new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
  child.stdout?.resume();
  return child;
}

/** SIGSTOP, poll until every thread is 'T', SIGCONT, poll until none is: the stopped time. */
function sigstopOnce(pid: number): number {
  const t0 = now();
  process.kill(pid, 'SIGSTOP');
  while (!listThreads(pid).every((t) => t.state === 'T'));
  process.kill(pid, 'SIGCONT');
  while (listThreads(pid).some((t) => t.state === 'T'));
  return now() - t0;
}

async function measure(name: string, child: ChildProcess): Promise<string[][]> {
  const pid = child.pid as number;
  const threads = listThreads(pid).length;
  const total: number[] = [];
  const stop: number[] = [];
  const regs: number[] = [];
  const resume: number[] = [];
  const anchor: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = now();
    const p = pauseProcess(pid);
    p.resume();
    total.push(now() - t0);
    stop.push(p.timings.stopNs);
    regs.push(p.timings.regsNs);
    resume.push(p.timings.resumeNs);
    anchor.push(sigstopOnce(pid));
    if (i % 20 === 19) await new Promise((r) => setTimeout(r, 5));
  }
  const m = (xs: number[]): number => summarize(xs).median;
  return [
    [`${name} (${threads} threads)`, 'median', 'max'],
    ['  ptrace pause: stop', us(m(stop)), us(summarize(stop).max)],
    ['  ptrace pause: registers', us(m(regs)), us(summarize(regs).max)],
    ['  ptrace pause: detach', us(m(resume)), us(summarize(resume).max)],
    ['  ptrace pause: whole', us(m(total)), us(summarize(total).max)],
    ['  anchor SIGSTOP..SIGCONT', us(m(anchor)), us(summarize(anchor).max)],
    ['  ratio anchor/ours', ratio(m(anchor), m(total)), ''],
  ];
}

const spin = await start('spinloop', [], {});
const many = await start('manythreads', [], { GOMAXPROCS: '2' });
try {
  const machine = describeMachine();
  console.log(`pause-primitives: ${RUNS} pauses per target; ${machine.short}; load ${loadAverage()}`);
  console.log(formatTable([...(await measure('spinloop', spin)), ...(await measure('manythreads', many))]));
} finally {
  spin.kill('SIGKILL');
  many.kill('SIGKILL');
}
