/**
 * The main thread's handle on the capture thread: one request at a time, each with a time
 * budget. A request over its budget terminates the thread (the kernel releases any process
 * it had paused) and a fresh one starts; its generation number tells callers that whatever
 * was prepared in the old one is gone. A budget counts from the thread's hello: starting a
 * thread (a new isolate loading the capture modules, seconds on a busy machine) is not the
 * request's work, and a restart would only start over the same slow start.
 */
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { processCpuMs, threadCpuMs } from '../proc/thread-cpu.js';
import { binaryCacheLog } from './binary-cache-log.js';
import type {
  CaptureThreadData,
  WorkerCacheLog,
  WorkerHello,
  WorkerReply,
  WorkerRequest,
} from './worker-protocol.js';

type Pending = { resolve: (r: WorkerReply) => void; timer: NodeJS.Timeout };

/** How a call may outlast its budget while the thread is working. */
export interface CallOptions {
  /**
   * Past its budget, the call goes on while the thread keeps getting CPU (at least
   * BUSY_CPU_MS in each budget-long look, up to BUSY_LOOK_MS), up to this many ms in all:
   * for work that is slow only because the machine is busy (loading a large binary), never
   * for a pause.
   */
  readonly whileBusyUpToMs?: number;
}

/** CPU time the thread must have had since the previous look for a call past its budget to go on, ms. */
const BUSY_CPU_MS = 10;
/** Longest time between two looks at a call past its budget, ms. */
const BUSY_LOOK_MS = 5000;
/** Longest a new thread may take to say hello before the calls waiting for it fail and it is replaced, ms. */
const START_LIMIT_MS = 60_000;

/** Distributes WorkerRequest without its id. */
export type RequestBody = WorkerRequest extends infer R
  ? R extends WorkerRequest
    ? Omit<R, 'id'>
    : never
  : never;

/** A restartable capture thread. */
export class CaptureThread {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Increments each time the thread is stopped: slots prepared in an older generation are gone. */
  generation = 0;
  /** Binaries the thread's cache holds, as of its last reply. */
  binaries = 0;
  /** The kernel thread id of the current thread (from its hello). */
  private tid: number | undefined;
  /** Whether the current thread has said hello; until then, what starts the budgets of the calls waiting. */
  private started = false;
  private onStarted: (() => void)[] = [];
  /** cpuMs's running total: what it is read from (a tid, -1 the whole process), and how it continues. */
  private cpu = { source: -2, offset: 0, last: 0 };

  private readonly cacheLog: (line: string) => void;

  /** `binaryCacheDir`: where the thread keeps what it learns of binaries (none: nowhere). */
  constructor(
    private readonly log: (line: string) => void,
    private readonly binaryCacheDir?: string,
  ) {
    this.cacheLog = binaryCacheLog('capture thread', log);
  }

  /**
   * Sends a request; resolves with the reply, or a 'timeout' failure after `budgetMs` from the
   * thread's hello (the thread is then replaced), or after START_LIMIT_MS when it never says it.
   */
  call(body: RequestBody, budgetMs: number, opts: CallOptions = {}): Promise<WorkerReply> {
    const w = this.ensure();
    const id = this.nextId++;
    let t0 = performance.now();
    const upTo = Math.max(budgetMs, opts.whileBusyUpToMs ?? 0);
    return new Promise((resolve) => {
      /** The thread's CPU when the budget began (at the call, or at the hello of a new thread). */
      let cpu = 0;
      const expire = () => {
        const p = this.pending.get(id);
        if (!p) return;
        const spent = performance.now() - t0;
        const now = this.cpuMs();
        const got = now - cpu;
        cpu = now;
        if (spent < upTo && got >= BUSY_CPU_MS) {
          // Working, only slowly: look again later.
          p.timer = setTimeout(expire, Math.min(budgetMs, BUSY_LOOK_MS, upTo - spent));
          return;
        }
        this.pending.delete(id);
        // The budget when it was not extended (as before extensions existed), else the time taken.
        const took = spent < budgetMs + BUSY_LOOK_MS / 2 ? budgetMs : Math.round(spent);
        const why = spent < upTo ? `, and got only ${Math.round(got)} ms of CPU in the last look` : '';
        this.log(`capture thread: ${body.op} took over ${took} ms${why}; restarting the thread`);
        this.restart();
        resolve({
          id,
          ok: false,
          kind: 'timeout',
          message: `${body.op} took longer than ${took} ms${why}`,
          binaries: 0,
        });
      };
      const begin = () => {
        const p = this.pending.get(id);
        if (!p) return;
        clearTimeout(p.timer);
        t0 = performance.now();
        cpu = this.cpuMs();
        p.timer = setTimeout(expire, budgetMs);
      };
      const notStarted = () => {
        if (!this.pending.delete(id)) return;
        const s = Math.round(START_LIMIT_MS / 1000);
        this.log(`capture thread: not started within ${s} s (${body.op} waiting); restarting the thread`);
        this.restart();
        resolve({
          id,
          ok: false,
          kind: 'timeout',
          message: `the capture thread did not start within ${s} s`,
          binaries: 0,
        });
      };
      if (this.started) {
        cpu = this.cpuMs();
        this.pending.set(id, { resolve, timer: setTimeout(expire, budgetMs) });
      } else {
        this.pending.set(id, { resolve, timer: setTimeout(notStarted, START_LIMIT_MS) });
        this.onStarted.push(begin);
      }
      w.postMessage({ ...body, id } as WorkerRequest);
    });
  }

  /**
   * CPU time the capture thread has had, ms: a running total whose change tells the thread
   * works (the whole agent's until the thread has said which it is).
   */
  cpuMs(): number {
    const own = this.tid !== undefined ? threadCpuMs(this.tid) : undefined;
    const source = own !== undefined ? this.tid! : -1;
    const raw = own ?? processCpuMs();
    // A new source (the thread said which it is, or was replaced) goes on from the last value.
    if (source !== this.cpu.source) this.cpu = { source, offset: this.cpu.last - raw, last: this.cpu.last };
    this.cpu.last = raw + this.cpu.offset;
    return this.cpu.last;
  }

  /** Forgets prepared slots; no answer awaited (it queues behind any running request, which it must not time out). */
  drop(slots: readonly string[]): void {
    this.worker?.postMessage({ op: 'drop', id: 0, slots } satisfies WorkerRequest);
  }

  /** Stops the thread (it restarts on the next call); pending calls fail. */
  restart(): void {
    const w = this.worker;
    this.worker = undefined;
    this.tid = undefined;
    this.started = false;
    this.onStarted = [];
    this.binaries = 0;
    if (w) this.generation++;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.resolve({
        id,
        ok: false,
        kind: 'internal',
        message: 'the capture thread was restarted',
        binaries: 0,
      });
    }
    this.pending.clear();
    if (w) void w.terminate();
  }

  /** Stops the thread for good. */
  close(): void {
    this.restart();
  }

  private ensure(): Worker {
    if (this.worker) return this.worker;
    // For comparisons only (bench/pause-paths.ts): V8 flags for the capture thread's isolate,
    // e.g. without concurrent compilation or GC tasks; read when the isolate is made.
    const flags = process.env.PERISCOPE_CAPTURE_V8_FLAGS;
    if (flags) setFlagsFromString(flags);
    const workerData: CaptureThreadData = this.binaryCacheDir ? { binaryCacheDir: this.binaryCacheDir } : {};
    const w = new Worker(new URL('./capture-worker.js', import.meta.url), { workerData });
    w.unref();
    w.on('message', (reply: WorkerReply | WorkerHello | WorkerCacheLog) => {
      if ('cacheLog' in reply) {
        this.cacheLog(reply.cacheLog);
        return;
      }
      if ('hello' in reply) {
        if (this.worker !== w) return;
        this.tid = reply.tid;
        this.started = true;
        this.log(`capture thread started (thread id ${reply.tid ?? 'unknown'})`);
        const waiting = this.onStarted;
        this.onStarted = [];
        for (const begin of waiting) begin();
        return;
      }
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      clearTimeout(p.timer);
      this.binaries = reply.binaries;
      p.resolve(reply);
    });
    w.on('error', (e) => {
      this.log(`capture thread failed: ${e.message.split('\n')[0]}; restarting it`);
      if (this.worker === w) this.restart();
    });
    w.on('exit', () => {
      if (this.worker === w) this.restart();
    });
    this.worker = w;
    return w;
  }
}
