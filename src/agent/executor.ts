/**
 * Snapshot requests on the agent: `prepare` (load each binary once per build ID, compile the
 * spec) answered by one `prepared`, then `capture` answered by one `captured` per process as
 * soon as it is done. Work runs one process at a time on the capture thread, captures before
 * prepares, each with a time budget; prepared state is dropped after capture, on abort, or
 * when it expires. `check-spec` (a spec checked against each distinct binary, before the
 * server makes it current) queues with the prepares and is answered by one `spec-checked`.
 */
import type {
  BinaryCheck,
  CaptureMessage,
  CheckSpecMessage,
  DescribeFunctionMessage,
  PrepareMessage,
  ProcessDescription,
  ProcessError,
  ProcessErrorKind,
} from '../protocol/messages.js';
import { parseSpec } from '../spec/spec-parse.js';
import { CaptureThread } from './capture-thread.js';
import { capturedErrorText, capturedText, kindAfterFailure, processGone } from './results.js';
import { checkTargets, notChecked, probeSelector } from './spec-targets.js';
import type { WorkerReply } from './worker-protocol.js';

/** Tuning of the executor. */
export interface ExecutorOptions {
  /** Where the capture thread keeps what it learns of binaries (agent --cache-dir; none: nowhere). */
  readonly binaryCacheDir?: string;
  /** Budget of one process's prepare, ms (default 60000). */
  readonly prepareBudgetMs?: number;
  /**
   * A prepare (or spec check, or function description) past its budget goes on while the
   * capture thread keeps getting CPU, up to this many ms in all (default 180000, the server's
   * default --prepare-max-wait): on a busy machine a large binary loads slowly, and a load
   * cut short would start over next time.
   */
  readonly prepareWhileBusyMs?: number;
  /** Budget of one process's capture, decode and encoding, ms (default 60000). */
  readonly captureBudgetMs?: number;
  /** Prepared state is dropped this long after `prepared` when no capture came, ms (default 60000). */
  readonly preparedTtlMs?: number;
  /** Snapshots whose JSON is longer than this are deflated (default 256 KiB). */
  readonly deflateOver?: number;
  /** Largest message sent; a bigger snapshot is reported as an error (default 96 MiB). */
  readonly maxMessageBytes?: number;
  /** Recycle the capture thread when idle and holding more binaries than this (default 16). */
  readonly maxBinaries?: number;
  /** The hard cap of each pause, ms (default DEFAULT_PAUSE_CAP_MS of snapshot/paused-capture.ts, 100). */
  readonly pauseCapMs?: number;
}

/** What the executor needs from the rest of the agent. */
export interface ExecutorHost {
  /** The pid, start time and matching program rules (absent: none) behind a process key, if it is monitored. */
  lookup(key: string): { pid: number; startTime: number; programs?: readonly string[] } | undefined;
  /** The current spec (version and YAML text). */
  spec(): { version: number; text: string } | undefined;
  /** The processes monitored now (their binaries are what `check-spec` checks). */
  processes?(): readonly ProcessDescription[];
  /** Sends a message (JSON text) to the server; false when not connected. */
  send(text: string): boolean;
  /** Bytes queued on the connection and not yet sent. */
  buffered?(): number;
  log(line: string): void;
  /** Told of each process's capture answered: captured (with its pause, ns; none without pausing) or failed (metrics). */
  captured?(ok: boolean, pauseNs?: number): void;
}

type EntryState = 'pending' | 'ready' | 'failed' | 'done';

interface Entry {
  readonly key: string;
  readonly pid: number;
  readonly startTime: number;
  /** The spec's program rules the process matches (where `redaction.off` may apply). */
  readonly programs: readonly string[];
  readonly slot: string;
  state: EntryState;
  generation: number;
  /** Paused and copied ahead by a `copy` in this generation of the thread: only decoding is left. */
  copied?: boolean;
  error?: ProcessError;
}

interface Request {
  readonly id: string;
  readonly noPause: boolean;
  readonly specVersion: number;
  readonly entries: Map<string, Entry>;
  readonly t0: number;
  expiry?: NodeJS.Timeout;
  /** Stops sending `prepare-progress` for the prepare (set when the server asked for them). */
  stopProgress?: () => void;
  /** Processes captured, failed, their pauses, and spec entries their binaries could not capture. */
  stats: { ok: number; failed: number; pausesNs: number[]; specProblems: number };
}

const MAX_KEYS = 10_000;
let slotSeq = 0;

/** Runs the snapshot requests of one agent. */
export class Executor {
  private readonly thread: CaptureThread;
  private readonly requests = new Map<string, Request>();
  private readonly captures: (() => Promise<void>)[] = [];
  private readonly prepares: (() => Promise<void>)[] = [];
  private running = false;

  constructor(
    private readonly host: ExecutorHost,
    private readonly opts: ExecutorOptions = {},
  ) {
    this.thread = new CaptureThread((l) => host.log(l), opts.binaryCacheDir);
  }

  /** Phase 1: prepare the named processes, then send one `prepared`. */
  prepare(msg: PrepareMessage): void {
    if (
      typeof msg.requestId !== 'string' ||
      !Array.isArray(msg.keys) ||
      typeof msg.specVersion !== 'number'
    ) {
      this.host.log('ignored a malformed prepare message (needs requestId, keys, specVersion)');
      return;
    }
    this.abort(msg.requestId);
    const keys = [...new Set(msg.keys.filter((k): k is string => typeof k === 'string'))].slice(0, MAX_KEYS);
    const req: Request = {
      id: msg.requestId,
      noPause: msg.noPause === true,
      specVersion: msg.specVersion,
      entries: new Map(),
      t0: performance.now(),
      stats: { ok: 0, failed: 0, pausesNs: [], specProblems: 0 },
    };
    this.requests.set(req.id, req);
    const spec = this.host.spec();
    for (const key of keys) {
      const where = this.host.lookup(key);
      const entry: Entry = {
        key,
        pid: where?.pid ?? 0,
        startTime: where?.startTime ?? 0,
        programs: where?.programs ?? [],
        slot: `${req.id}/${slotSeq++}`,
        state: 'pending',
        generation: 0,
      };
      req.entries.set(key, entry);
      if (!where)
        this.fail(
          entry,
          'PROCESS_MISSING',
          `process ${key} is not monitored by this agent (it may have exited)`,
        );
      else if (!spec || spec.version !== msg.specVersion)
        this.fail(
          entry,
          'SPEC_MISMATCH',
          `the agent has spec version ${spec?.version ?? 'none'}, the request wants ${msg.specVersion}`,
        );
      else this.prepares.push(() => this.prepareEntry(req, entry));
    }
    this.maybePrepared(req);
    this.reportProgress(req, msg.progressMs);
    this.pump();
  }

  /**
   * Phase 2: capture the prepared processes, one `captured` per process as soon as it is done.
   * The processes ready for it are first paused and copied one right after another (a `copy`
   * on the capture thread); decoding, encoding and sending follow, process by process.
   */
  capture(msg: CaptureMessage): void {
    if (typeof msg.requestId !== 'string' || !Array.isArray(msg.keys)) {
      this.host.log('ignored a malformed capture message (needs requestId, keys)');
      return;
    }
    const req = this.requests.get(msg.requestId);
    if (req?.expiry) clearTimeout(req.expiry);
    const toCapture: Entry[] = [];
    for (const key of new Set(msg.keys.filter((k): k is string => typeof k === 'string'))) {
      const entry = req?.entries.get(key);
      if (!req || !entry) {
        this.sendCaptured(msg.requestId, key, Date.now(), {
          error: {
            kind: 'INTERNAL',
            message: `process ${key} was not prepared for request ${msg.requestId} (or the preparation expired)`,
          },
        });
        continue;
      }
      if (entry.state === 'failed' || entry.state === 'done') {
        // Not captured again: a failed prepare is reported once more so every key gets its answer.
        this.sendCaptured(req.id, key, Date.now(), { error: entry.error });
        if (entry.state === 'failed') {
          req.stats.failed++;
          this.host.captured?.(false);
        }
        entry.state = 'done';
        continue;
      }
      toCapture.push(entry);
    }
    if (req && toCapture.length > 1) this.captures.push(() => this.copyEntries(req, toCapture));
    for (const entry of toCapture) this.captures.push(() => this.captureEntry(req as Request, entry));
    if (req) this.captures.push(async () => this.finish(req));
    this.pump();
  }

  /**
   * Checks a spec against one process of each distinct binary this agent monitors, and the
   * stored snapshots' binaries it still has (loaded, or the same file where it ran from);
   * answers one `spec-checked`.
   */
  checkSpec(msg: CheckSpecMessage): void {
    if (typeof msg.requestId !== 'string' || typeof msg.spec !== 'string' || typeof msg.source !== 'string') {
      this.host.log('ignored a malformed check-spec message (needs requestId, spec, source)');
      return;
    }
    let probesOf: ((p: ProcessDescription) => string[]) | undefined;
    try {
      probesOf = probeSelector(parseSpec(msg.spec, msg.source));
    } catch {
      // A spec that does not parse is the capture thread's to report.
    }
    const targets = checkTargets(this.host.processes?.() ?? [], msg.stored, probesOf);
    // Reported from now: a check queued behind a snapshot's prepare waits on the same thread.
    const t0 = performance.now();
    let answered = false;
    const stopProgress = this.progressReports(msg.requestId, msg.progressMs, t0, () => (answered ? 0 : 1));
    this.prepares.push(async () => {
      const reply =
        targets.length === 0
          ? undefined
          : await this.thread.call(
              { op: 'check', spec: msg.spec, source: msg.source, targets },
              this.opts.prepareBudgetMs ?? 60_000,
              this.whileBusy(),
            );
      const binaries: BinaryCheck[] = !reply
        ? []
        : reply.ok
          ? [...(reply.checks ?? [])]
          : notChecked(targets, reply.message);
      answered = true;
      stopProgress?.();
      this.host.send(JSON.stringify({ type: 'spec-checked', requestId: msg.requestId, binaries }));
      const bad = binaries.filter((b) => b.problems.length > 0).length;
      this.host.log(
        `spec check ${msg.requestId}: ${binaries.length} binaries, ${bad} with problems, in ${Math.round(performance.now() - t0)} ms`,
      );
    });
    this.pump();
  }

  /**
   * Describes one function of one binary (a process running it, else the stored snapshot's
   * file); answers one `function-described`, with the error when there is none.
   */
  describeFunction(msg: DescribeFunctionMessage): void {
    const { requestId, buildId, executable } = msg;
    if (typeof requestId !== 'string' || typeof buildId !== 'string' || typeof msg.function !== 'string') {
      this.host.log('ignored a malformed describe-function message (needs requestId, buildId, function)');
      return;
    }
    const answer = (body: { lines?: unknown; error?: string }) =>
      this.host.send(JSON.stringify({ type: 'function-described', requestId, ...body }));
    const target = checkTargets(this.host.processes?.() ?? [], [
      { buildId, executable: String(executable ?? '') },
    ]).find((t) => t.buildId === buildId);
    if (!target) {
      answer({ error: `this agent has no binary with build ID ${buildId}` });
      return;
    }
    let answered = false;
    const stopProgress = this.progressReports(requestId, msg.progressMs, performance.now(), () =>
      answered ? 0 : 1,
    );
    this.prepares.push(async () => {
      const reply = await this.thread.call(
        { op: 'describe', target, function: msg.function },
        this.opts.prepareBudgetMs ?? 60_000,
        this.whileBusy(),
      );
      answered = true;
      stopProgress?.();
      answer(reply.ok ? { lines: reply.lines } : { error: reply.message });
    });
    this.pump();
  }

  /** Forgets a request: queued work for it is skipped and its prepared state dropped. */
  abort(requestId: string): void {
    const req = this.requests.get(requestId);
    if (!req) return;
    this.requests.delete(requestId);
    if (req.expiry) clearTimeout(req.expiry);
    req.stopProgress?.();
    for (const e of req.entries.values()) if (e.state === 'pending' || e.state === 'ready') e.state = 'done';
    this.thread.drop([...req.entries.values()].map((e) => e.slot));
  }

  /** Forgets every request (the connection to the server was lost). */
  reset(): void {
    for (const id of [...this.requests.keys()]) this.abort(id);
  }

  /** Stops the capture thread. */
  close(): void {
    this.reset();
    this.captures.length = 0;
    this.prepares.length = 0;
    for (const stop of [...this.reporting]) stop(); // of checks and descriptions dropped with the queue
    this.thread.close();
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (;;) {
        const job = this.captures.shift() ?? this.prepares.shift();
        if (!job) break;
        await this.drain();
        try {
          await job();
        } catch (e) {
          this.host.log(`internal error in a snapshot request: ${(e as Error).message}`);
        }
      }
      if (this.requests.size === 0 && this.thread.binaries > (this.opts.maxBinaries ?? 16)) {
        this.host.log(`capture thread holds ${this.thread.binaries} binaries; recycling it to free memory`);
        this.thread.restart();
      }
    } finally {
      this.running = false;
    }
  }

  /** Waits (up to 60 s) while more than 64 MiB wait to be sent: snapshots never pile up in memory. */
  private async drain(): Promise<void> {
    const t0 = performance.now();
    while ((this.host.buffered?.() ?? 0) > 64 << 20 && performance.now() - t0 < 60_000)
      await new Promise((r) => setTimeout(r, 50));
  }

  /**
   * Every `everyMs` (when the server asked: servers before `progressMs` did not, and would
   * refuse the message) until the request is prepared or gone, tells the server how much CPU
   * the capture thread has had: it waits as long as that moves.
   */
  private reportProgress(req: Request, everyMs: unknown): void {
    if (req.expiry) return;
    const stop = this.progressReports(req.id, everyMs, req.t0, () =>
      this.requests.get(req.id) !== req
        ? 0
        : [...req.entries.values()].filter((e) => e.state === 'pending').length,
    );
    if (stop) req.stopProgress = stop;
  }

  /**
   * Sends `prepare-progress` for `requestId` at once and every `everyMs` (when it is a number:
   * the server asked) while `pending()` is above 0: the CPU time the capture thread has had,
   * which the server's wait follows. Returns what stops the reports (undefined: none asked).
   */
  private progressReports(
    requestId: string,
    everyMs: unknown,
    t0: number,
    pending: () => number,
  ): (() => void) | undefined {
    if (typeof everyMs !== 'number' || !Number.isFinite(everyMs)) return undefined;
    const send = (): void => {
      const n = pending();
      if (n === 0) {
        stop();
        return;
      }
      this.host.send(
        JSON.stringify({
          type: 'prepare-progress',
          requestId,
          cpuMs: Math.round(this.thread.cpuMs()),
          pending: n,
          elapsedMs: Math.round(performance.now() - t0),
        }),
      );
    };
    const timer = setInterval(send, Math.max(100, Math.min(everyMs, 60_000)));
    timer.unref();
    const stop = (): void => {
      clearInterval(timer);
      this.reporting.delete(stop);
    };
    this.reporting.add(stop);
    // At once too: the server then knows this agent reports, however starved it is later.
    send();
    return stop;
  }

  /** What stops each series of progress reports under way (close stops them all). */
  private readonly reporting = new Set<() => void>();

  private async prepareEntry(req: Request, entry: Entry): Promise<void> {
    if (entry.state !== 'pending' || this.requests.get(req.id) !== req) return;
    const ok = await this.runPrepare(req, entry);
    if (this.requests.get(req.id) !== req) {
      // The server gave up waiting: what was loaded stays in the capture thread for the next snapshot.
      this.host.log(
        `request ${req.id}: prepare of process ${entry.pid} ${ok ? 'finished' : 'failed'} after the server stopped waiting (${Math.round(performance.now() - req.t0)} ms)${ok ? '; its binary stays loaded for the next snapshot' : ''}`,
      );
      return;
    }
    this.maybePrepared(req);
  }

  private async runPrepare(req: Request, entry: Entry): Promise<boolean> {
    const spec = this.host.spec();
    if (!spec || spec.version !== req.specVersion) {
      this.fail(entry, 'SPEC_MISMATCH', `the spec changed to version ${spec?.version} during the request`);
      return false;
    }
    const reply = await this.thread.call(
      {
        op: 'prepare',
        slot: entry.slot,
        pid: entry.pid,
        specVersion: spec.version,
        spec: spec.text,
        programs: entry.programs,
      },
      this.opts.prepareBudgetMs ?? 60_000,
      this.whileBusy(),
    );
    if (!reply.ok) {
      this.fail(entry, kindAfterFailure(entry.pid, entry.startTime, reply.kind), reply.message);
      return false;
    }
    entry.state = 'ready';
    // A success means the thread that answered is still the current one.
    entry.generation = this.thread.generation;
    return true;
  }

  private whileBusy(): { whileBusyUpToMs: number } {
    return { whileBusyUpToMs: this.opts.prepareWhileBusyMs ?? 180_000 };
  }

  private maybePrepared(req: Request): void {
    if ([...req.entries.values()].some((e) => e.state === 'pending')) return;
    if (req.expiry) return; // already answered
    req.stopProgress?.();
    const results = [...req.entries.values()].map((e) =>
      e.error ? { key: e.key, error: e.error } : { key: e.key },
    );
    this.host.send(JSON.stringify({ type: 'prepared', requestId: req.id, results }));
    const failed = results.filter((r) => r.error).length;
    this.host.log(
      `request ${req.id}: prepared ${results.length - failed} of ${results.length} processes in ${Math.round(performance.now() - req.t0)} ms`,
    );
    req.expiry = setTimeout(() => {
      if (this.requests.get(req.id) !== req) return;
      this.host.log(`request ${req.id}: no capture within ${this.opts.preparedTtlMs ?? 60_000} ms; dropped`);
      this.abort(req.id);
    }, this.opts.preparedTtlMs ?? 60_000);
    req.expiry.unref();
  }

  /** Pauses and copies, back to back, the entries prepared in the current capture thread. */
  private async copyEntries(req: Request, entries: readonly Entry[]): Promise<void> {
    if (this.requests.get(req.id) !== req || req.noPause) return;
    const ready = entries.filter(
      (e) =>
        e.state === 'ready' && e.generation === this.thread.generation && !processGone(e.pid, e.startTime),
    );
    if (ready.length < 2) return;
    const reply = await this.thread.call(
      {
        op: 'copy',
        slots: ready.map((e) => ({ slot: e.slot, pid: e.pid })),
        ...(this.opts.pauseCapMs !== undefined ? { pauseCapMs: this.opts.pauseCapMs } : {}),
      },
      this.opts.captureBudgetMs ?? 60_000,
    );
    // On failure each process is simply captured whole by its own `capture`.
    if (!reply.ok)
      this.host.log(`request ${req.id}: copying ahead failed (${reply.message}); capturing one by one`);
    else {
      const copied = new Set(reply.copied ?? []);
      for (const e of ready) if (copied.has(e.slot)) e.copied = true;
      this.host.log(
        `request ${req.id}: paused and copied ${copied.size} processes back to back in ${Math.round(reply.elapsedMs)} ms`,
      );
    }
  }

  private async captureEntry(req: Request, entry: Entry): Promise<void> {
    if (this.requests.get(req.id) !== req || entry.state === 'done') return;
    const t0 = Date.now();
    const copied = entry.copied === true && entry.generation === this.thread.generation;
    // A process copied ahead is decoded even if it has exited since: its data was taken.
    if (!copied && processGone(entry.pid, entry.startTime)) {
      this.fail(entry, 'PROCESS_MISSING', `process ${entry.pid} exited before its capture`);
    } else if (entry.state === 'pending' || entry.generation !== this.thread.generation) {
      // Not prepared yet, or prepared in a capture thread that has since been replaced.
      entry.state = 'pending';
      await this.runPrepare(req, entry);
    }
    if (entry.state === 'ready') {
      const reply = await this.thread.call(
        {
          op: 'capture',
          slot: entry.slot,
          pid: entry.pid,
          noPause: req.noPause,
          deflateOver: this.opts.deflateOver ?? 256 << 10,
          ...(this.opts.pauseCapMs !== undefined ? { pauseCapMs: this.opts.pauseCapMs } : {}),
        },
        this.opts.captureBudgetMs ?? 60_000,
      );
      if (reply.ok && reply.bytes) {
        this.sendSnapshot(req, entry, reply);
        return;
      }
      this.fail(
        entry,
        reply.ok ? 'INTERNAL' : kindAfterFailure(entry.pid, entry.startTime, reply.kind),
        reply.ok ? 'no snapshot' : reply.message,
      );
    }
    this.sendCaptured(req.id, entry.key, t0, { error: entry.error, elapsedMs: Date.now() - t0 });
    entry.state = 'done';
    req.stats.failed++;
    this.host.captured?.(false);
  }

  private sendSnapshot(req: Request, entry: Entry, reply: WorkerReply & { ok: true }): void {
    const head = {
      requestId: req.id,
      key: entry.key,
      startedAt: reply.startedAt ?? Date.now(),
      elapsedMs: Math.round(reply.elapsedMs),
    };
    const text = capturedText(head, reply.bytes!, reply.deflated === true);
    entry.state = 'done';
    if (text.length > (this.opts.maxMessageBytes ?? 96 << 20)) {
      const mib = (text.length / 2 ** 20).toFixed(1);
      this.fail(entry, 'INTERNAL', `the snapshot is too large to send (${mib} MiB encoded)`);
      this.sendCaptured(req.id, entry.key, head.startedAt, { error: entry.error });
      req.stats.failed++;
      this.host.captured?.(false);
      return;
    }
    this.host.send(text);
    req.stats.ok++;
    req.stats.pausesNs.push(reply.pauseNs ?? 0);
    this.host.captured?.(true, req.noPause ? undefined : reply.pauseNs);
    req.stats.specProblems += reply.captureErrors ?? 0;
  }

  private finish(req: Request): void {
    if (this.requests.get(req.id) !== req) return;
    const { ok, failed, pausesNs, specProblems } = req.stats;
    const maxPause = pausesNs.length ? (Math.max(...pausesNs) / 1e6).toFixed(2) : '-';
    const spec =
      specProblems > 0
        ? `, ${specProblems} spec entries not captured (the capture_errors table says why)`
        : '';
    this.host.log(
      `request ${req.id}: captured ${ok} processes, ${failed} errors${spec}, longest pause ${maxPause} ms, ${Math.round(performance.now() - req.t0)} ms since prepare`,
    );
    this.abort(req.id);
  }

  private fail(entry: Entry, kind: ProcessErrorKind, message: string): void {
    entry.state = 'failed';
    entry.error = { kind, message };
  }

  private sendCaptured(
    requestId: string,
    key: string,
    startedAt: number,
    extra: { error?: ProcessError; elapsedMs?: number },
  ): void {
    this.host.send(capturedErrorText({ requestId, key, startedAt, ...extra }));
  }
}
