/**
 * Execs and exits of the machine's processes as the kernel reports them (the proc connector,
 * `proc-connector.ts`), read on a thread of their own so that waiting costs this thread
 * nothing: an idle machine wakes nobody. The owner gets batches of pids (a process's last
 * event in the batch wins: exec'd then exited is an exit), `overrun` when the kernel dropped
 * events because the socket's buffer was full (look at /proc again), and `failed` once when
 * the connector cannot be used or stops working (then poll instead).
 */
import { closeSync, writeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { netlinkLibc } from './proc-connector.js';

/** What the owner of ProcEvents hears. */
export interface ProcEventsHandlers {
  /** Subscribed: every exec and exit from now on is reported. */
  ready(): void;
  /** Processes that exec'd (their new program runs) and processes that exited. */
  batch(batch: ProcEventBatch): void;
  /** The connector cannot be used, or stopped working: why (for the log). Nothing follows. */
  failed(reason: string): void;
}

/** One batch of events. */
export interface ProcEventBatch {
  readonly execs: readonly number[];
  readonly exits: readonly number[];
  /** The kernel dropped events before these (socket buffer overrun). */
  readonly overrun: boolean;
}

/** How the reader runs. */
export interface ProcEventsOptions {
  /** After a batch, wait this long for more before the next one (default 250 ms). */
  readonly coalesceMs?: number;
  /** Socket receive buffer in bytes (default 4 MiB; below rmem_max without CAP_NET_ADMIN). */
  readonly rcvbuf?: number;
}

/** workerData of the reader thread. */
export interface ProcEventsInit {
  readonly wakeFd: number;
  readonly coalesceMs: number;
  readonly rcvbuf: number;
}

/** Messages from the reader thread. */
export type ProcEventsMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'batch'; readonly execs: number[]; readonly exits: number[]; readonly overrun: boolean }
  | { readonly type: 'failed'; readonly reason: string };

const EFD_NONBLOCK = 0x800;
const EFD_CLOEXEC = 0x80000;

/** A running reader of process events. */
export class ProcEvents {
  private closed = false;
  private ended = false;
  private readonly onExit = (): void => this.wake();

  private constructor(
    private readonly worker: Worker,
    private readonly wakeFd: number,
  ) {}

  /** Starts reading; `handlers` are called on this thread. Never throws: failures go to `failed`. */
  static start(handlers: ProcEventsHandlers, opts: ProcEventsOptions = {}): ProcEvents | undefined {
    let wakeFd: number;
    try {
      wakeFd = netlinkLibc().eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    } catch (e) {
      handlers.failed(`koffi could not bind libc (${e instanceof Error ? e.message : String(e)})`);
      return undefined;
    }
    if (wakeFd < 0) {
      handlers.failed(`eventfd failed with errno ${netlinkLibc().errno()}`);
      return undefined;
    }
    const init: ProcEventsInit = {
      wakeFd,
      coalesceMs: opts.coalesceMs ?? 250,
      rcvbuf: opts.rcvbuf ?? 4 << 20,
    };
    let worker: Worker;
    try {
      worker = new Worker(new URL('./proc-events.worker.js', import.meta.url), {
        workerData: init,
        resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
      });
    } catch (e) {
      closeSync(wakeFd);
      handlers.failed(`no thread for the reader (${e instanceof Error ? e.message : String(e)})`);
      return undefined;
    }
    const events = new ProcEvents(worker, wakeFd);
    let failed = false;
    const fail = (reason: string): void => {
      if (failed || events.closed) return;
      failed = true;
      handlers.failed(reason);
    };
    worker.on('message', (m: ProcEventsMessage) => {
      if (events.closed) return;
      if (m.type === 'ready') {
        // Referenced until then: a process that exits while a thread loads koffi's native
        // module dies with SIGABRT (proc/copy-helper.ts saw it).
        worker.unref();
        handlers.ready();
      } else if (m.type === 'batch') handlers.batch(m);
      else fail(m.reason);
    });
    worker.on('error', (e) => fail(`the reader thread failed (${e.message})`));
    worker.on('exit', () => {
      events.ended = true;
      process.off('exit', events.onExit);
      closeSync(wakeFd);
      fail('the reader thread ended');
    });
    // A thread blocked in poll() holds up the process's exit until it returns: wake it then.
    process.on('exit', events.onExit);
    return events;
  }

  /** Stops reading (the thread unsubscribes, closes its socket and ends). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.wake();
    this.worker.unref();
  }

  private wake(): void {
    if (this.ended) return;
    const one = Buffer.alloc(8);
    one.writeUInt32LE(1, 0);
    try {
      writeSync(this.wakeFd, one);
    } catch {
      // Already closed by the thread's end.
    }
  }
}
