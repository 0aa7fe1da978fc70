/**
 * Probes on the agent's main thread: the probes the server says are in effect, each until its
 * time to live ends; which processes each goes to (its program, or its label rules), worked
 * out again whenever processes come and go or the probes change; the probe thread that runs
 * them (restarted, with the kernel objects of the old one closed, if it dies); the crash
 * marker and the wait after a crash; and the batches and status sent to the server.
 */
import { closeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { describeError } from '../common/errors.js';
import { cleanTracefs } from '../probes/tracefs/tracefs.js';
import type {
  ProbeBatchMessage,
  ProbeBinaryStatus,
  ProbeStatusMessage,
  ProbesMessage,
  ProcessDescription,
} from '../protocol/messages.js';
import { probeDefinitionKey } from '../spec/probe-parse.js';
import type { ProbeEntry, RedactionSpec } from '../spec/spec-types.js';
import { binaryCacheLog } from './binary-cache-log.js';
import { compilePrograms, matchPrograms } from './labels.js';
import { type ProbeBackend, probeBackend } from './probe-backend.js';
import { ProbeMarker } from './probe-marker.js';
import type {
  ProbeLimits,
  ProbeThreadReply,
  ProbeThreadRequest,
  ProcessProbeState,
} from './probe-worker-protocol.js';
import { TraceRunner } from './trace-runner.js';

/** How the agent runs probes. */
export interface ProbeRunnerOptions {
  /** Where the crash marker lives (default /run/periscope). */
  readonly runtimeDir?: string;
  /** The wait after a crash with probes on, doubled for each crash in a row, ms (default 60000). */
  readonly crashBackoffMs?: number;
  /** 'auto' (default): eBPF where the kernel allows it, else tracefs; 'off': no probes. */
  readonly backend?: 'auto' | 'bpf' | 'tracefs' | 'off';
  readonly limits?: Partial<ProbeLimits>;
  /** How often batches go to the server, ms (default 1000). */
  readonly sendEveryMs?: number;
  /** Where the probe thread keeps what it learns of binaries (agent --cache-dir; none: nowhere). */
  readonly binaryCacheDir?: string;
}

/** How long stopping waits for the probe thread to remove its probes, ms. */
const STOP_WAIT_MS = 10_000;

/** The defaults of the agent's probe limits. */
export const DEFAULT_PROBE_LIMITS: ProbeLimits = {
  maxEventBytes: 8192,
  maxEventsPerProcess: 5000,
  defaultRatePerProbe: 1000,
};

/**
 * A hit's cost besides the BPF program, by how the kernel handles the instruction: measured by
 * bench/probe-cost.ts as the empty program's cost per call at an emulated `PUSHQ BP` and a
 * single-stepped `MOVQ SP, BP` (docs/performance.md, "Probe cost").
 */
export const TRAP_NS = { emulated: 420, stepped: 16_100 } as const;

/** What the runner needs of the agent. */
export interface ProbeRunnerHost {
  send(text: string): boolean;
  /** Bytes queued on the connection. */
  buffered(): number;
  log(line: string): void;
  /** Told of each batch before it is sent (metrics): its events, and the counts and notices. */
  batched?(b: Omit<ProbeBatchMessage, 'type'>): void;
}

interface Order {
  readonly probe: ProbeEntry;
  readonly key: string;
  /** Date.now() when its time to live ends. */
  readonly deadline: number;
  readonly matcher: ((p: ProcessDescription) => boolean) | undefined;
}

/** The agent's probes. */
export class ProbeRunner {
  private orders: Order[] = [];
  private specVersion = 0;
  private processes: readonly ProcessDescription[] = [];
  private worker: Worker | undefined;
  private readonly sent = new Map<number, string>();
  private states: readonly ProcessProbeState[] = [];
  private fds: readonly number[] = [];
  /** (process key, probe) -> why it was switched off. */
  private readonly switchedOff = new Map<string, string>();
  private batch: { -readonly [K in keyof Omit<ProbeBatchMessage, 'type'>]: ProbeBatchMessage[K][number][] } =
    {
      events: [],
      counts: [],
      histograms: [],
      notices: [],
    };
  private timers: NodeJS.Timeout[] = [];
  private ttlTimer: NodeJS.Timeout | undefined;
  private backoffUntil = 0;
  private backend: ProbeBackend = { kind: 'none', note: 'not started' };
  private lastStatus = '';
  private marker: ProbeMarker | undefined;
  private droppedOffline = 0;
  private stopped = false;
  private onStopped: (() => void)[] = [];
  private readonly limits: ProbeLimits;
  private readonly cacheLog: (line: string) => void;
  private redaction: RedactionSpec | undefined;
  private readonly traces: TraceRunner;

  constructor(
    private readonly host: ProbeRunnerHost,
    private readonly opts: ProbeRunnerOptions = {},
  ) {
    this.limits = { ...DEFAULT_PROBE_LIMITS, ...opts.limits };
    this.cacheLog = binaryCacheLog('probe thread', (l) => host.log(l));
    this.traces = new TraceRunner(host);
  }

  /** Finds how probes can run here, cleans what a crashed agent left in tracefs, and reads the crash marker. */
  start(): void {
    this.backend = probeBackend(this.opts.backend ?? 'auto');
    if (this.backend.note) this.host.log(`probes: ${this.backend.kind}: ${this.backend.note}`);
    try {
      this.marker = new ProbeMarker(
        this.opts.runtimeDir ?? '/run/periscope',
        this.opts.crashBackoffMs ?? 60_000,
      );
      const crash = this.marker.crashFound();
      if (crash) {
        this.backoffUntil = Date.now() + crash.backoffMs;
        this.host.log(
          `probes: the agent before this one (pid ${crash.pid}, probes on since ${crash.since}) stopped without removing them (${crash.crashes} time${crash.crashes === 1 ? '' : 's'} in a row); waiting ${(crash.backoffMs / 1000).toFixed(0)} s before placing probes again`,
        );
        this.timers.push(setTimeout(() => this.evaluate(), crash.backoffMs + 10));
      }
    } catch (e) {
      this.host.log(
        `probes: no crash marker (${describeError(e)}); a crash with probes on will not be noticed`,
      );
    }
    this.timers.push(setInterval(() => this.sendBatch(), this.opts.sendEveryMs ?? 1000));
    for (const t of this.timers) t.unref();
    this.traces.start();
  }

  /** The server's probes (after welcome and on every change). */
  setOrders(m: ProbesMessage): void {
    if (typeof m.specVersion !== 'number' || !Array.isArray(m.probes)) {
      this.host.log('ignored a malformed probes message (needs specVersion and probes)');
      return;
    }
    const now = Date.now();
    const before = new Set(this.orders.map((o) => o.key));
    this.specVersion = m.specVersion;
    this.traces.setTraces(Array.isArray(m.traces) ? m.traces : []);
    this.orders = m.probes.flatMap((o) => {
      const p = o?.probe;
      if (typeof p?.name !== 'string' || typeof o.expiresInMs !== 'number' || !p.site) return [];
      return [{ probe: p, key: probeDefinitionKey(p), deadline: now + o.expiresInMs, matcher: matcherOf(p) }];
    });
    const added = this.orders.filter((o) => !before.has(o.key) && o.deadline > now);
    if (added.length > 0 || this.orders.length !== before.size)
      this.host.log(
        `probes: ${this.orders.length} in spec version ${m.specVersion}${added.length > 0 ? ` (new: ${added.map((o) => o.probe.name).join(', ')})` : ''}`,
      );
    // A probe that changed is a new question: the breaker's verdict on the old one does not hold.
    const keys = new Set(this.orders.map((o) => o.probe.name));
    for (const k of [...this.switchedOff.keys()])
      if (!keys.has(k.slice(k.indexOf('\u0000') + 1))) this.switchedOff.delete(k);
    this.evaluate();
    this.sendStatus(true);
  }

  /**
   * The spec's redaction section (absent: the defaults): probe events are decoded with the
   * same rules as snapshots, `off` included. Probes already placed are placed again with it.
   */
  setRedaction(r: RedactionSpec | undefined): void {
    if (JSON.stringify(r ?? null) === JSON.stringify(this.redaction ?? null)) return;
    this.redaction = r;
    this.evaluate();
  }

  /** The processes discovery reports now. */
  setProcesses(list: readonly ProcessDescription[]): void {
    this.processes = list;
    this.evaluate();
  }

  /** The connection was made again: the server learns where probes stand. */
  welcomed(): void {
    this.sendStatus(true);
  }

  /**
   * Removes every probe (the agent stops); resolves when the probe thread has removed them, or
   * after STOP_WAIT_MS. The marker goes at once. eBPF probes would go with the process anyway;
   * tracefs probes would not.
   */
  stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    if (this.ttlTimer) clearTimeout(this.ttlTimer);
    this.marker?.detached();
    const w = this.worker;
    if (!w) return Promise.resolve();
    w.ref(); // the process must not exit before the thread has removed them
    w.postMessage({ op: 'stop' } satisfies ProbeThreadRequest);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.host.log('probes: the probe thread did not remove its probes in time; exiting anyway');
        finish();
      }, STOP_WAIT_MS);
      const finish = () => {
        clearTimeout(timer);
        w.unref();
        resolve();
      };
      this.onStopped.push(finish);
    });
  }

  /** Works out which probes each process should have now and tells the probe thread what changed. */
  private evaluate(): void {
    if (this.stopped) return;
    const now = Date.now();
    if (this.ttlTimer) clearTimeout(this.ttlTimer);
    const live = this.orders.filter((o) => o.deadline > now);
    for (const o of this.orders)
      if (o.deadline <= now && this.sent.size > 0 && [...this.sent.values()].some((v) => v.includes(o.key)))
        this.host.log(`probes: ${o.probe.name}: its time to live ended; removing it`);
    const next = Math.min(...live.map((o) => o.deadline));
    if (Number.isFinite(next)) {
      this.ttlTimer = setTimeout(() => this.evaluate(), Math.min(2 ** 31 - 1, next - now + 5));
      this.ttlTimer.unref();
    }
    const waiting = now < this.backoffUntil || this.backend.kind === 'none';
    const seen = new Set<number>();
    for (const p of this.processes) {
      seen.add(p.pid);
      const probes = waiting
        ? []
        : live
            .filter((o) => o.matcher?.(p) && !this.switchedOff.has(`${p.key}\u0000${o.probe.name}`))
            .map((o) => o.probe);
      this.want(p, probes);
    }
    for (const pid of [...this.sent.keys()])
      if (!seen.has(pid)) this.want({ pid, key: '', hostname: '' } as ProcessDescription, []);
  }

  private want(
    p: Pick<ProcessDescription, 'pid' | 'key' | 'hostname'> & { programs?: readonly string[] },
    probes: ProbeEntry[],
  ): void {
    const programs = p.programs ?? [];
    const redaction = this.redaction;
    const key =
      probes.length === 0
        ? ''
        : `${JSON.stringify([redaction ?? null, programs])}\n${probes.map(probeDefinitionKey).join('\n')}`;
    if ((this.sent.get(p.pid) ?? '') === key) return;
    if (key === '') this.sent.delete(p.pid);
    else this.sent.set(p.pid, key);
    // Noted before the probes are placed: a crash while placing them is the one to back off from.
    if (this.sent.size > 0) this.marker?.attached();
    this.thread().postMessage({
      op: 'want',
      pid: p.pid,
      key: p.key,
      process: `${p.hostname}:${p.pid}`,
      probes,
      ...(redaction ? { redaction } : {}),
      programs,
    } satisfies ProbeThreadRequest);
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(new URL('./probe-worker.js', import.meta.url));
    w.unref();
    w.on('message', (m: ProbeThreadReply) => this.reply(m));
    const died = (why: string) => {
      if (this.worker !== w) return;
      this.worker = undefined;
      // Its kernel objects live in this process: close them so no probe outlives the thread.
      for (const fd of this.fds)
        try {
          closeSync(fd);
        } catch {
          // already closed
        }
      this.fds = [];
      // tracefs probes are tied to no fd: remove Periscope's (the thread's were all of them).
      if (this.backend.kind === 'tracefs')
        try {
          cleanTracefs();
        } catch (e) {
          this.host.log(`probes: could not remove the dead thread's tracefs probes: ${describeError(e)}`);
        }
      this.states = [];
      this.sent.clear();
      if (this.stopped) return this.stoppedNow();
      this.host.log(`probes: the probe thread stopped (${why}); its probes were removed; starting it again`);
      setTimeout(() => this.evaluate(), 1000).unref();
    };
    w.on('error', (e) => died(e.message.split('\n')[0] ?? 'error'));
    w.on('exit', (code) => died(`exit ${code}`));
    w.postMessage({
      op: 'setup',
      backend: this.backend.kind === 'tracefs' ? 'tracefs' : 'bpf',
      limits: this.limits,
      tag: 'a',
      trapNs: TRAP_NS,
      ...(this.opts.binaryCacheDir ? { binaryCacheDir: this.opts.binaryCacheDir } : {}),
    } satisfies ProbeThreadRequest);
    this.worker = w;
    return w;
  }

  private reply(m: ProbeThreadReply): void {
    switch (m.op) {
      case 'batch':
        this.batch.events.push(...this.traces.split(m.events));
        this.batch.counts.push(...m.counts);
        this.batch.histograms.push(...m.histograms);
        this.batch.notices.push(...m.notices);
        if (this.batch.events.length >= 5000) this.sendBatch();
        return;
      case 'status': {
        const before = new Set(this.states.flatMap((s) => s.attached.map((n) => `${s.pid}:${n}`)));
        this.states = m.processes;
        for (const s of m.processes) {
          const added = s.attached.filter((n) => !before.has(`${s.pid}:${n}`));
          if (added.length > 0)
            this.host.log(
              `probes: attached ${added.join(', ')} to process ${s.pid} (programs ${s.programIds.join(',') || '-'}, links ${s.linkIds.join(',') || '-'})`,
            );
          for (const [name, why] of Object.entries(s.errors))
            this.host.log(`probes: ${name} not attached to process ${s.pid}: ${why}`);
        }
        const on = m.processes.some((s) => s.attached.length > 0);
        if (on) this.marker?.attached();
        else if (this.sent.size === 0) this.marker?.detached();
        this.sendStatus(false);
        return;
      }
      case 'switched-off':
        this.switchedOff.set(`${m.key}\u0000${m.probe}`, m.reason);
        this.traces.switchedOff(m.probe, m.pid);
        this.host.log(`probes: ${m.probe} switched off on process ${m.pid}: ${m.reason}`);
        this.sent.delete(m.pid);
        this.evaluate();
        return;
      case 'fds':
        this.fds = m.fds;
        return;
      case 'stopped':
        this.marker?.detached();
        this.sendBatch(); // the last events, before the connection closes
        this.traces.stop();
        this.stoppedNow();
        return;
      case 'log':
        this.host.log(`probes: ${m.line}`);
        return;
      case 'cache-log':
        this.cacheLog(m.line);
    }
  }

  private stoppedNow(): void {
    const waiters = this.onStopped;
    this.onStopped = [];
    for (const f of waiters) f();
  }

  private sendBatch(): void {
    const b = this.batch;
    if (b.events.length + b.counts.length + b.histograms.length + b.notices.length === 0) return;
    this.batch = { events: [], counts: [], histograms: [], notices: [] };
    this.host.batched?.(b);
    if (this.host.buffered() > 32 << 20) {
      this.droppedOffline += b.events.length;
      b.events = [];
    }
    const text = JSON.stringify({ type: 'probe-batch', ...b } satisfies ProbeBatchMessage);
    if (!this.host.send(text)) this.droppedOffline += b.events.length;
    if (this.droppedOffline > 0 && this.host.buffered() < 1 << 20) {
      this.host.log(
        `probes: ${this.droppedOffline} events could not be sent (no connection, or the connection is behind)`,
      );
      this.droppedOffline = 0;
    }
  }

  private sendStatus(force: boolean): void {
    const byKey = new Map<
      string,
      ProbeBinaryStatus & { attached: string[]; switchedOff: { process: string; reason: string }[] }
    >();
    for (const s of this.states) {
      const names = new Set([...s.attached, ...Object.keys(s.errors)]);
      for (const name of names) {
        const k = `${name}\u0000${s.buildId ?? s.executable}`;
        let e = byKey.get(k);
        if (!e) {
          e = {
            probe: name,
            ...(s.buildId ? { buildId: s.buildId } : {}),
            executable: s.executable,
            attached: [],
            switchedOff: [],
          };
          byKey.set(k, e);
        }
        if (s.attached.includes(name)) e.attached.push(s.process);
        const err = s.errors[name];
        if (err) (e as { error?: string }).error ??= err;
      }
    }
    for (const [k, reason] of this.switchedOff) {
      const [key, name] = k.split('\u0000') as [string, string];
      const p = this.processes.find((x) => x.key === key);
      if (!p) continue;
      const bk = `${name}\u0000${p.buildId ?? p.executable}`;
      let e = byKey.get(bk);
      if (!e) {
        e = {
          probe: name,
          ...(p.buildId ? { buildId: p.buildId } : {}),
          executable: p.executable,
          attached: [],
          switchedOff: [],
        };
        byKey.set(bk, e);
      }
      e.switchedOff.push({ process: `${p.hostname}:${p.pid}`, reason });
    }
    const msg: ProbeStatusMessage = {
      type: 'probe-status',
      specVersion: this.specVersion,
      backend: this.backend.kind,
      ...(this.backend.note ? { backendNote: this.backend.note } : {}),
      ...(this.backoffUntil > Date.now() ? { backoffUntil: new Date(this.backoffUntil).toISOString() } : {}),
      binaries: [...byKey.values()].map(({ switchedOff, ...e }) =>
        switchedOff.length > 0 ? { ...e, switchedOff } : e,
      ),
    };
    const text = JSON.stringify(msg);
    if (!force && text === this.lastStatus) return;
    if (this.host.send(text)) this.lastStatus = text;
  }
}

/** Whether a process is one a probe goes to: its program (a spec program rule it matched), or its label rules. */
function matcherOf(p: ProbeEntry): ((d: ProcessDescription) => boolean) | undefined {
  if (p.program !== undefined) return (d) => d.programs.includes(p.program!);
  if (p.match && typeof p.match === 'object') {
    const rules = compilePrograms([{ name: p.name, match: p.match }]);
    if (rules.length === 0) return undefined;
    return (d) => matchPrograms(d.labels, rules).length > 0;
  }
  return undefined;
}
