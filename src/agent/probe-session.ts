/**
 * The probes of one process as the agent's probe thread drives them, whatever runs them (eBPF
 * here, tracefs in probe-session-tracefs.ts): records moved out of the kernel at the ring's
 * pace (copied, decoded later), decoded into events for the server, counters, histograms and
 * the measured cost, and everything removed on close.
 */
import { linkAddr } from '../common/address.js';
import type { GoBinary } from '../gobinary/go-binary.js';
import type { Redactor } from '../goruntime/values/index.js';
import { AttachedProbes } from '../probes/attached-probes.js';
import { linkInfo, programInfo } from '../probes/bpf/info.js';
import { runStats } from '../probes/bpf/prog-stats.js';
import type { CompiledProbe } from '../probes/compile/compile-probe.js';
import { HDR } from '../probes/compile/record-layout.js';
import type { ProbeEvent } from '../probes/decode/record-decode.js';
import type { ProbeFrame, WireProbeEvent } from '../protocol/messages.js';

/** Cumulative counters of one probe on one process since it was attached. */
export interface ProbeTotals {
  readonly hits: number;
  readonly matched: number;
  readonly events: number;
  readonly rejected: number;
  readonly conditionErrors: number;
  readonly rateLimited: number;
  readonly ringFull: number;
  readonly durations: number;
  readonly durationSumNs: number;
}

/** Hit cost by how the kernel handles the probed instruction, ns. */
export interface TrapCosts {
  readonly emulated: number;
  readonly stepped: number;
}

/** The probes of one process. */
export interface ProbeSession {
  /** The probes attached. */
  readonly names: readonly string[];
  /** Records copied out of the kernel and not yet decoded. */
  readonly queued: number;
  /** Copies waiting records out of the kernel (at most `max`); returns how many. */
  drain(max: number): number;
  /** Decodes up to `max` copied records; returns how many. */
  decode(max: number, onEvent: (e: WireProbeEvent) => void): number;
  /** Counters since attach. */
  totals(name: string): ProbeTotals;
  /** Records dropped for probe `name` before decoding since the last call (the queue was full). */
  takeDropped(name: string): number;
  /** Duration histogram since attach: [bucket's upper bound ns, count]. */
  histogram(name: string): (readonly [number, number])[];
  /** What the probe has cost the process since attach (BPF run time and traps), ns; measured or estimated from hits. */
  costNs(name: string): number;
  /** Kernel ids of its programs and links (empty for tracefs). */
  kernelIds(): { programIds: number[]; linkIds: number[] };
  /** The fds it holds. */
  fds(): number[];
  /**
   * Removes the probes named `remove` and adds `add`, leaving the others' probes and counters
   * as they are; false (nothing changed) when this session cannot change that way and must be
   * placed again. What fails to attach is in the answer's `errors`; nothing of it stays.
   */
  change?(
    add: readonly CompiledProbe[],
    remove: readonly string[],
  ): Promise<false | { errors: Record<string, unknown> }>;
  /** Removes every probe (the kernel's breakpoints with them). */
  close(): Promise<void>;
}

/** Records held per process before decoding; more are dropped and counted. */
const MAX_QUEUED = 50_000;

/** Compiled probes attached with eBPF. */
export class BpfSession implements ProbeSession {
  private readonly queue: Uint8Array[] = [];
  private readonly stacks = new Map<string, ProbeFrame[]>();
  private readonly dropped = new Map<string, number>();

  private constructor(
    private readonly probes: AttachedProbes,
    private readonly process: string,
    private readonly bin: GoBinary,
    private readonly bias: number,
    private readonly trapNs: TrapCosts,
    /** Whether the kernel's run-time statistics are on (else costs are estimated from hits). */
    private readonly measured: () => boolean,
  ) {}

  /** Attaches `compiled` (for the binary `pid` runs, from `path`) to process `pid`. */
  static async attach(
    compiled: readonly CompiledProbe[],
    o: {
      pid: number;
      path: string;
      process: string;
      bias: number;
      tag: string;
      trapNs: TrapCosts;
      measured: () => boolean;
      /** The rules events are decoded with (spec/redaction.ts `redactionFor`; undefined: the spec's `off`). */
      redaction: Redactor | undefined;
    },
  ): Promise<BpfSession> {
    const probes = await AttachedProbes.attach(compiled, {
      pid: o.pid,
      path: o.path,
      tag: o.tag,
      ...(o.redaction ? { redaction: o.redaction } : {}),
    });
    return new BpfSession(probes, o.process, compiled[0]!.bin, o.bias, o.trapNs, o.measured);
  }

  get names(): readonly string[] {
    return this.probes.probes.map((p) => p.spec.name);
  }

  get queued(): number {
    return this.queue.length;
  }

  drain(max: number): number {
    return this.probes.pollRaw((rec) => {
      if (this.queue.length < MAX_QUEUED) this.queue.push(rec.slice());
      else {
        const name = this.probes.probeOfSite(
          new DataView(rec.buffer, rec.byteOffset).getUint32(HDR.site, true),
        );
        if (name) this.dropped.set(name, (this.dropped.get(name) ?? 0) + 1);
      }
    }, max);
  }

  decode(max: number, onEvent: (e: WireProbeEvent) => void): number {
    const n = Math.min(max, this.queue.length);
    for (const rec of this.queue.splice(0, n)) {
      let e: ProbeEvent;
      try {
        e = this.probes.decode(rec);
      } catch {
        this.probes.undecodable++;
        continue;
      }
      onEvent(this.wire(e));
    }
    return n;
  }

  private wire(e: ProbeEvent): WireProbeEvent {
    const values: Record<string, unknown> = {};
    const errors: Record<string, string> = {};
    for (const [expr, r] of Object.entries(e.values)) {
      if (r.ok) values[expr] = r.value;
      else errors[expr] = r.error;
    }
    return {
      probe: e.probe,
      process: this.process,
      timeUs: Number(e.unixNs / 1000n),
      goroutine: e.goid,
      thread: e.tid,
      site: {
        kind: e.site.kind,
        function: e.site.function,
        ...(e.site.file !== undefined ? { file: e.site.file } : {}),
        ...(e.site.line !== undefined ? { line: e.site.line } : {}),
      },
      ...(e.durationNs !== undefined ? { durationNs: e.durationNs } : {}),
      ...(e.stack !== undefined ? { stack: this.frames(e.stack) } : {}),
      values,
      ...(Object.keys(errors).length > 0 ? { errors } : {}),
      ...(e.labels ? { labels: e.labels } : {}),
    };
  }

  /** The frames of a stack key: each return address as the call's function, file and line. */
  private frames(key: string): ProbeFrame[] {
    let frames = this.stacks.get(key);
    if (!frames) {
      frames = this.probes.stack(key).map((pc) => {
        const at = this.bin.lineForPC(linkAddr(pc - this.bias - 1));
        return at
          ? { function: at.function ?? '?', file: at.file, line: at.line }
          : { function: `0x${pc.toString(16)}` };
      });
      if (this.stacks.size > 4096) this.stacks.clear();
      this.stacks.set(key, frames);
    }
    return frames;
  }

  takeDropped(name: string): number {
    const n = this.dropped.get(name) ?? 0;
    this.dropped.delete(name);
    return n;
  }

  totals(name: string): ProbeTotals {
    return this.probes.stats(name);
  }

  histogram(name: string): (readonly [number, number])[] {
    return this.probes.histogram(name).buckets.map((b) => [b.ltNs, b.count] as const);
  }

  costNs(name: string): number {
    let cost = 0;
    let runs = 0;
    for (const p of this.probes.programsOf(name)) {
      const s = runStats(p.fd);
      const trap = p.handlings.reduce((a, h) => a + this.trapNs[h], 0) / Math.max(1, p.handlings.length);
      cost += s.runTimeNs + s.runCount * trap;
      runs += s.runCount;
    }
    if (this.measured() || runs > 0) return cost;
    // Statistics off: every main-site hit at the dearest of the probe's sites, plus 1 us of program.
    const probe = this.probes.probes.find((p) => p.spec.name === name)!;
    const trap = Math.max(...probe.sites.map((s) => this.trapNs[s.site.handling]));
    return this.totals(name).hits * (trap + 1000);
  }

  kernelIds(): { programIds: number[]; linkIds: number[] } {
    const ids = (fds: number[], f: (fd: number) => { id: number }) =>
      fds.flatMap((fd) => {
        try {
          return [f(fd).id];
        } catch {
          return []; // a perf event fd is not a link
        }
      });
    return {
      programIds: ids(this.probes.programFds, programInfo),
      linkIds: ids(this.probes.attachmentFds, linkInfo),
    };
  }

  fds(): number[] {
    return [...this.probes.programFds, ...this.probes.attachmentFds];
  }

  async change(
    add: readonly CompiledProbe[],
    remove: readonly string[],
  ): Promise<false | { errors: Record<string, unknown> }> {
    const names = new Set(this.names);
    for (const r of remove) names.delete(r);
    if (add.some((c) => names.has(c.spec.name)) || !this.probes.canAddAll(add)) return false;
    for (const r of remove) await this.probes.remove(r);
    const errors: Record<string, unknown> = {};
    for (const c of add)
      try {
        await this.probes.add(c);
      } catch (e) {
        errors[c.spec.name] = e;
      }
    return { errors };
  }

  async close(): Promise<void> {
    this.queue.length = 0;
    await this.probes.close();
  }
}
