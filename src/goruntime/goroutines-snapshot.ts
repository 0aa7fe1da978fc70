/**
 * A goroutine snapshot of a live process, end to end: pause it (ptrace, no signals), copy
 * what the goroutines need, resume it, and only then decode. The plan is made once per
 * binary and process (load bias) and can be reused for every later snapshot.
 */
import type { GoBinary } from '../gobinary/go-binary.js';
import { executableImage } from '../proc/maps.js';
import { type PauseOptions, pauseProcess } from '../proc/pause.js';
import { VmReader } from '../proc/vm-reader.js';
import type { GoroutineSnapshot } from './goroutines.js';
import {
  type CapturePlanOptions,
  captureGoroutines,
  type GoroutineCapturePlan,
  planGoroutineCapture,
} from './goroutines-capture.js';
import { type DecodeOptions, decodeGoroutines } from './goroutines-decode.js';

/** How long the process was held, and how the time split. */
export interface PauseReport {
  /** From the first ptrace seize to the last thread detached, in ms. */
  readonly pausedMs: number;
  readonly stopMs: number;
  readonly captureMs: number;
  readonly resumeMs: number;
  readonly threads: number;
}

/** A snapshot with the pause it cost. */
export interface LiveGoroutineSnapshot extends GoroutineSnapshot {
  readonly pause: PauseReport;
}

/** Plans a capture for a live process running `bin` (reads its load bias from /proc/PID/maps). */
export function planForProcess(
  pid: number,
  bin: GoBinary,
  opts: CapturePlanOptions = {},
): GoroutineCapturePlan {
  const bias = opts.bias ?? executableImage(pid).bias;
  return planGoroutineCapture(bin, { ...opts, bias });
}

/** Pauses `pid`, copies every goroutine, resumes it, then decodes. */
export function snapshotGoroutines(
  pid: number,
  bin: GoBinary,
  plan: GoroutineCapturePlan,
  opts: DecodeOptions & { pause?: PauseOptions } = {},
): LiveGoroutineSnapshot {
  const reader = new VmReader(pid);
  try {
    const t0 = performance.now();
    const paused = pauseProcess(pid, opts.pause);
    let capture: ReturnType<typeof captureGoroutines>;
    try {
      const threads = paused.threads.map((t) => ({ tid: t.tid, pc: t.regs.pc, sp: t.regs.sp }));
      capture = captureGoroutines(plan, reader, threads);
    } finally {
      paused.resume();
    }
    const pausedMs = performance.now() - t0;
    const snap = decodeGoroutines(bin, capture, opts);
    const tm = paused.timings;
    return {
      ...snap,
      pause: {
        pausedMs,
        stopMs: tm.stopNs / 1e6,
        captureMs: capture.ms,
        resumeMs: tm.resumeNs / 1e6,
        threads: paused.threads.length,
      },
    };
  } finally {
    reader.close();
  }
}
