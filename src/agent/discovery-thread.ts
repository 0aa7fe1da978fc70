/**
 * The discovery thread seen from the agent's main thread: starts it (discovery.worker.ts),
 * hands it a wake-up eventfd (written to stop it: nothing else ends a sleep in poll()),
 * shares its counters, and passes on what it
 * says: how it works (events or polling, and why), the list of Go processes when it
 * changes, and a failure.
 */
import { closeSync, writeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { wakeEventFd } from '../proc/proc-event-reader.js';
import { COUNTERS, type GoProcess, type WatchOptions } from './process-watch.js';

/** The discovery thread's name, as `top -H` and /proc/PID/task/TID/comm show it. */
export const DISCOVERY_THREAD_NAME = 'periscope-disc';

/** workerData of the discovery thread. */
export interface DiscoveryThreadInit {
  readonly watch: WatchOptions;
  readonly counters: SharedArrayBuffer;
  readonly wakeFd: number;
  /** Use the kernel's process events (else poll from the start). */
  readonly events: boolean;
  readonly rescanMs: number;
  readonly checkMs: number;
  readonly intervalMs: number;
  readonly quickMs: number;
  readonly coalesceMs: number;
  /** The connector socket's receive buffer in bytes (default: the reader's). */
  readonly rcvbuf?: number;
}

/** Messages from the discovery thread. */
export type DiscoveryThreadMessage =
  | { readonly type: 'mode'; readonly mode: 'events' | 'polling'; readonly reason?: string }
  | { readonly type: 'list'; readonly processes: GoProcess[] }
  | { readonly type: 'failed'; readonly reason: string };

/** What the owner hears. */
export interface DiscoveryThreadHandlers {
  mode(mode: 'events' | 'polling', reason?: string): void;
  list(processes: readonly GoProcess[]): void;
  /** The thread failed or ended on its own; nothing follows. */
  failed(reason: string): void;
}

/** A running discovery thread. */
export class DiscoveryThread {
  /** The thread's counters (process-watch.ts `Counter`), read at any time. */
  readonly counters: Int32Array;
  private closed = false;
  private ended = false;

  private constructor(
    private readonly worker: Worker,
    private readonly wakeFd: number,
    counters: SharedArrayBuffer,
  ) {
    this.counters = new Int32Array(counters);
  }

  /** Starts the thread; throws when no thread or eventfd can be had (the caller then works on its own thread). */
  static start(
    opts: Omit<DiscoveryThreadInit, 'counters' | 'wakeFd'>,
    handlers: DiscoveryThreadHandlers,
  ): DiscoveryThread {
    const wakeFd = wakeEventFd();
    const counters = new SharedArrayBuffer(COUNTERS * 4);
    const init: DiscoveryThreadInit = { ...opts, counters, wakeFd };
    let worker: Worker;
    try {
      worker = new Worker(new URL('./discovery.worker.js', import.meta.url), {
        workerData: init,
        resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 8 },
      });
    } catch (e) {
      closeSync(wakeFd);
      throw e;
    }
    const t = new DiscoveryThread(worker, wakeFd, counters);
    let failed = false;
    const fail = (reason: string): void => {
      if (failed || t.closed) return;
      failed = true;
      handlers.failed(reason);
    };
    worker.on('message', (m: DiscoveryThreadMessage) => {
      if (t.closed) return;
      if (m.type === 'mode') {
        // Referenced until then: a process that exits while a thread loads koffi's native
        // module dies with SIGABRT (proc/copy-helper.ts saw it).
        worker.unref();
        handlers.mode(m.mode, m.reason);
      } else if (m.type === 'list') handlers.list(m.processes);
      else fail(m.reason);
    });
    worker.on('error', (e) => fail(`the discovery thread failed (${e.message})`));
    worker.on('exit', () => {
      t.ended = true;
      closeSync(wakeFd);
      fail('the discovery thread ended');
    });
    return t;
  }

  /** Stops the thread (it unsubscribes from the kernel's events and ends). */
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
      // Closed already: the thread has ended.
    }
  }
}
