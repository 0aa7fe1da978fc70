/**
 * A running goroutine whose thread is inside Go's signal handler at the pause: made to happen
 * for real. While the zoo is paused, one spinner's thread is sent SIGURG (what asynchronous
 * preemption sends) and single-stepped into the handler the kernel sets up; at every step
 * the goroutine's stack must be the one it had before the signal (the context the kernel
 * saved), walked from the signal stack's ucontext, whatever handler instruction the thread is
 * at, through to the restorer's rt_sigreturn, and its saved registers must be the thread's
 * before the signal. When preemption was requested, the handler
 * rewrites that context to call runtime.asyncPreempt; from then on the stack is the same with
 * asyncPreempt on top.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';
import koffi from 'koffi';
import { addr } from '../../../src/common/address.js';
import { GoBinary } from '../../../src/gobinary/go-binary.js';
import { captureGoroutines, planGoroutineCapture } from '../../../src/goruntime/goroutines/capture.js';
import { decodeGoroutines } from '../../../src/goruntime/goroutines/decode.js';
import type { Goroutine } from '../../../src/goruntime/goroutines/types.js';
import { frameSp } from '../../../src/goruntime/goroutines/unwind.js';
import { libc } from '../../../src/proc/libc.js';
import { executableImage } from '../../../src/proc/maps.js';
import { pauseProcess } from '../../../src/proc/pause.js';
import { getRegs } from '../../../src/proc/ptrace.js';
import { SIGCONTEXT_NAMES, withSigcontext } from '../../../src/proc/regs.amd64.js';
import { VmReader } from '../../../src/proc/vm-reader.js';
import { buildFixture, GO_TOOLCHAINS, toolchainUnavailable } from '../../../support/go-fixtures.js';
import { startTarget } from '../../../support/target.js';

const PTRACE_SINGLESTEP = 9;
const WALL = 0x40000000;
const SIGTRAP = 5;
const SIGURG = 23;

let tgkillFn: ((tgid: number, tid: number, sig: number) => number) | undefined;
function tgkill(tgid: number, tid: number, sig: number): number {
  tgkillFn ??= koffi
    .load('libc.so.6')
    .func('int tgkill(int tgid, int tid, int sig)') as unknown as typeof tgkillFn;
  return tgkillFn!(tgid, tid, sig);
}

/** Single-steps a thread we trace, delivering `signal`; returns the signal of the stop it reports. */
function step(tid: number, signal: number): number {
  assert.equal(libc().ptraceWord(PTRACE_SINGLESTEP, tid, 0, signal), 0, `PTRACE_SINGLESTEP ${tid}`);
  const status: [number] = [0];
  assert.equal(libc().waitpid(tid, status, WALL), tid, `waitpid ${tid}`);
  assert.equal(status[0] & 0xff, 0x7f, `thread ${tid} stopped (status ${status[0].toString(16)})`);
  return (status[0] >> 8) & 0xff;
}

const spinning = (g: Goroutine) =>
  g.stack.frames.length > 0 && /^main\.spin[AB]$/.test(g.stack.frames.find((f) => !f.hidden)!.function);

// Every toolchain as the zoo is built elsewhere (with cgo: handlers installed through libc,
// entered at runtime.cgoSigtramp, left through libc's restorer), and one without cgo (Go's own
// sigaction, entered at runtime.sigtramp, left through runtime.sigreturn__sigaction).
const variants = [...GO_TOOLCHAINS.map((tc) => ({ tc, cgo: true })), { tc: 'local' as const, cgo: false }];
for (const { tc, cgo } of variants) {
  test(`a spinner caught inside Go's signal handler keeps its own stack (${tc}${cgo ? '' : ', no cgo'})`, async (t) => {
    const why = await toolchainUnavailable(tc);
    if (why) return t.skip(why);
    const { path } = await buildFixture('goroutines', {
      toolchain: tc,
      ...(cgo ? {} : { env: { CGO_ENABLED: '0' } }),
    });
    const bin = await GoBinary.open(path);
    const child = await startTarget(path);
    const pid = child.pid;
    const plan = planGoroutineCapture(bin, { bias: executableImage(pid).bias });
    const reader = new VmReader(pid);
    const paused = pauseProcess(pid, { maxHoldMs: 30_000 });
    try {
      const threads = paused.threads.map((x) => ({ tid: x.tid, pc: x.regs.pc, sp: x.regs.sp }));
      const snapshot = (capture = captureGoroutines(plan, reader, threads)) => decodeGoroutines(bin, capture);
      const before = snapshot().goroutines.find((g) => g.stackSource === 'thread' && spinning(g));
      assert.ok(before?.threadId, 'a spinner running on a thread');
      const tid = before.threadId;
      const regsBefore = paused.threads.find((x) => x.tid === tid)!.regs;
      const where = (g: Goroutine) =>
        g.stack.frames.map((f) => `${f.function}@${f.pc.toString(16)}/${frameSp(g.stack, f)}`);

      // SIGURG is queued on the thread; on its way back to user mode it reports the signal
      // (a signal-delivery-stop), and stepping with it makes the kernel enter the handler.
      assert.equal(tgkill(pid, tid, SIGURG), 0, 'tgkill');
      let sig = 0;
      for (let k = 0; k < 10 && sig !== SIGURG; k++) sig = step(tid, 0);
      assert.equal(sig, SIGURG, 'the thread reports SIGURG');
      sig = step(tid, SIGURG);
      assert.equal(sig, SIGTRAP);

      let inHandler = 0;
      let returned = false;
      let last = '';
      let injected = false;
      const checked = new Set<string>();
      for (let k = 0; k < 5000 && !returned; k++) {
        const regs = getRegs(tid);
        assert.ok(regs);
        if (regs.sp >= before.stackLo && regs.sp < before.stackHi) {
          returned = true; // rt_sigreturn restored the context: the handler is done
          break;
        }
        inHandler++;
        const fn = bin.symtab.pcln.funcForPC(plan.bias.toLink(addr(regs.pc)))?.name ?? 'libc';
        // Every step at first (sigtramp's pushes move sp each time), then every step that
        // enters another function, and every seventh.
        // doSigPreempt's two writes (sp, then pc) leave a context that is neither: not checked there.
        const rewriting = fn === 'runtime.doSigPreempt' || fn === 'runtime.(*sigctxt).pushCall';
        if (!rewriting && (k < 40 || fn !== last || k % 7 === 0)) {
          threads[threads.findIndex((x) => x.tid === tid)] = { tid, pc: regs.pc, sp: regs.sp };
          const capture = captureGoroutines(plan, reader, threads);
          const g: Goroutine | undefined = snapshot(capture).goroutines.find((x) => x.id === before.id);
          assert.ok(g);
          checked.add(fn);
          assert.deepEqual(g.errors, [], `step ${k} in ${fn}: no errors`);
          assert.equal(g.stackSource, 'signal', `step ${k} in ${fn}: walked from the signal context`);
          assert.equal(g.threadId, tid);
          const frames = where(g);
          if (frames[0]?.startsWith('runtime.asyncPreempt@')) injected = true;
          assert.deepEqual(
            injected ? frames.slice(1) : frames,
            where(before),
            `step ${k} in ${fn}: the stack before the signal${injected ? ', under asyncPreempt' : ''}`,
          );
          // The registers of the interrupted context are the thread's before the signal (but
          // for the call to asyncPreempt the handler may have pushed).
          const saved = capture.signalContexts.get(g.address);
          assert.ok(saved, `step ${k} in ${fn}: the saved registers`);
          const got = withSigcontext(regs, saved).all;
          for (const name of SIGCONTEXT_NAMES) {
            if (name === 'eflags' || (injected && (name === 'rip' || name === 'rsp'))) continue;
            assert.equal(got[name], regsBefore.all[name], `step ${k} in ${fn}: ${name}`);
          }
          if (injected) assert.equal(got.rsp, regsBefore.all.rsp - 8n, `step ${k}: rsp under asyncPreempt`);
        }
        last = fn;
        assert.equal(step(tid, 0), SIGTRAP);
      }
      assert.ok(returned, `the handler returned (after ${inHandler} steps)`);
      for (const fn of ['runtime.sigtramp', 'runtime.sigtrampgo', 'runtime.sighandler'])
        assert.ok(checked.has(fn), `a step in ${fn} (checked ${[...checked].join(', ')})`);
      // The restorer: libc's __restore_rt when cgo installed the handler through libc, else Go's.
      const restorer = cgo ? 'libc' : 'runtime.sigreturn__sigaction';
      assert.ok(checked.has(restorer), `a step in ${restorer} (checked ${[...checked].join(', ')})`);
      t.diagnostic(
        `${inHandler} steps in the handler${injected ? ' (it injected asyncPreempt)' : ''}; checked in ${[...checked].join(', ')}`,
      );
    } finally {
      paused.resume();
      reader.close();
      await child.kill();
    }
  });
}
