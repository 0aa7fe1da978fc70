/**
 * The pause watchdog's thread (pause-watchdog.ts): waits for a pause to be armed, then for
 * its deadline; if the same pause is still armed then, says so on stderr (a direct write:
 * the main thread, which would forward a worker's console, may be the one that is stuck) and
 * SIGKILLs the process, so that the kernel releases the stopped target; first it writes back
 * the nice value of the target's threads still boosted (proc/stop-boost.ts: the shared table
 * of tid and nice pairs), which are still ours to touch: this process is their tracer.
 */
import { writeSync } from 'node:fs';
import { setPriority } from 'node:os';
import { workerData } from 'node:worker_threads';

const { ctl, deadline, boosted } = workerData as {
  ctl: Int32Array;
  deadline: Float64Array;
  boosted: Int32Array;
};

function restoreBoosted(): void {
  for (let i = 0; i < boosted.length; i += 2) {
    const tid = Atomics.load(boosted, i);
    if (tid === 0) continue;
    try {
      // setpriority(PRIO_PROCESS, tid, nice): a thread's own nice value on Linux. Not through
      // libc.ts: loading koffi in this thread while another thread loads it aborted the process
      // ("Error::ThrowAsJavaScriptException napi_throw", twice in one day's test runs).
      setPriority(tid, Atomics.load(boosted, i + 1));
    } catch {
      // Gone meanwhile: the kill matters more.
    }
  }
}

for (;;) {
  const armed = Atomics.load(ctl, 0);
  if (armed === 0) {
    Atomics.wait(ctl, 0, 0);
    continue;
  }
  const left = deadline[0]! - Date.now();
  if (left > 0) {
    // Woken early when the pause ends (or another one is armed).
    Atomics.wait(ctl, 0, armed, left);
    continue;
  }
  if (Atomics.load(ctl, 0) !== armed) continue;
  const pid = Atomics.load(ctl, 1);
  try {
    writeSync(
      2,
      `periscope: process ${pid} has been paused longer than allowed and this process is not responding; ` +
        'killing this process so that the kernel releases it\n',
    );
  } catch {
    // stderr may be closed: the kill matters, not the message.
  }
  restoreBoosted();
  process.kill(process.pid, 'SIGKILL');
}
