/**
 * The probes of one process on tracefs `uprobe_events`, where eBPF is not allowed: one event
 * per site in Periscope's group, enabled only in Periscope's instance, read from the
 * instance's trace_pipe (one reader for all processes, routed by event name) and turned into
 * the events, counters and costs the eBPF sessions give. What tracefs cannot do is said, not
 * guessed (tracefs-probe.ts): conditions, durations, stacks and labels are refused; captures
 * it cannot read are unavailable in each event with the reason; the rate limit is applied
 * after the hit; a hit's cost is estimated (tracefs has no run-time statistics). The kernel
 * places a tracefs uprobe in every process running the file: events of other processes are
 * dropped here. tracefs events outlive their maker: a crashed agent's are removed at the next
 * agent's start (probe-backend.ts).
 */
import { closeSync, constants, mkdirSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redactor } from '../goruntime/values/index.js';
import type { CompiledProbe } from '../probes/compile/compile-probe.js';
import { groupOf, instanceDir, writeUprobeEvents } from '../probes/tracefs/tracefs.js';

/** This agent's group of uprobe events (docs/probes.md: one group and instance per agent). */
const GROUP = groupOf();

import { type TracefsSiteDef, tracefsDefinitions } from '../probes/tracefs/tracefs-probe.js';
import type { WireProbeEvent } from '../protocol/messages.js';
import type { ProbeSession, ProbeTotals, TrapCosts } from './probe-session.js';

/** A tracefs hit's cost, ns: about 20 us on these VMs (PLATFORM.md), trap included. */
const TRACEFS_HIT_NS = 20_000;
/** Records held per process before decoding; more are dropped and counted. */
const MAX_QUEUED = 50_000;

interface Hit {
  readonly probe: number;
  readonly site: number;
  readonly tid: number;
  readonly monoUs: number;
  readonly args: string;
}

interface Route {
  readonly session: TracefsSession;
  readonly probe: number;
  readonly site: number;
}

const routes = new Map<string, Route>();
const tgids = new Map<number, number>();
let pipeFd: number | undefined;
let carry = '';
let serial = 0;
/** CLOCK_MONOTONIC (the instance's `mono` clock) to Unix time, µs. */
const monoToUnixUs = () => Date.now() * 1000 - Number(process.hrtime.bigint() / 1000n);

function control(path: string, value: string): void {
  try {
    writeFileSync(path, value);
  } catch {
    // an option this kernel lacks: the defaults do
  }
}

/** Creates Periscope's tracing instance (after the start's cleaning) with the monotonic clock. */
export function prepareTracefs(): void {
  mkdirSync(instanceDir(), { recursive: true });
  control(join(instanceDir(), 'trace_clock'), 'mono');
  control(join(instanceDir(), 'buffer_size_kb'), '2048');
}

function tgidOf(tid: number): number {
  let t = tgids.get(tid);
  if (t === undefined) {
    try {
      t = Number(/^Tgid:\s*(\d+)/m.exec(readFileSync(`/proc/${tid}/status`, 'latin1'))?.[1] ?? 0);
    } catch {
      t = 0;
    }
    if (tgids.size > 100_000) tgids.clear();
    tgids.set(tid, t);
  }
  return t;
}

const LINE = /-(\d+)\s+(?:\(\s*[\d-]+\)\s+)?\[\d+\]\s+\S+\s+(\d+)\.(\d+): (\w+): \(0x[0-9a-f]+\)(.*)$/;

/** Moves what the instance holds to the sessions it belongs to. */
function readPipe(): void {
  if (routes.size === 0) return;
  pipeFd ??= openSync(join(instanceDir(), 'trace_pipe'), constants.O_RDONLY | constants.O_NONBLOCK);
  const buf = Buffer.alloc(1 << 16);
  for (;;) {
    let n: number;
    try {
      n = readSync(pipeFd, buf, 0, buf.length, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') break;
      throw e;
    }
    if (n <= 0) break;
    const lines = (carry + buf.toString('latin1', 0, n)).split('\n');
    carry = lines.pop() ?? '';
    for (const line of lines) {
      const m = LINE.exec(line);
      if (!m) continue;
      const r = routes.get(m[4]!);
      if (!r) continue;
      const tid = Number(m[1]);
      if (tgidOf(tid) !== r.session.pid) continue;
      r.session.hit({
        probe: r.probe,
        site: r.site,
        tid,
        monoUs: Number(m[2]) * 1e6 + Number(m[3]!.padEnd(6, '0').slice(0, 6)),
        args: m[5]!,
      });
    }
  }
}

function closePipe(): void {
  if (routes.size > 0 || pipeFd === undefined) return;
  closeSync(pipeFd);
  pipeFd = undefined;
  carry = '';
}

interface ProbeState {
  readonly compiled: CompiledProbe;
  readonly defs: TracefsSiteDef[];
  hits: number;
  events: number;
  rateLimited: number;
  dropped: number;
  tokens: number;
  /** The kernel time (trace clock, us) of the hit the tokens were last counted at; -1 before the first. */
  tokensAtUs: number;
}

/**
 * Whether a pointer fetched as `x64` (`0x…`) is nil. tracefs cannot say that a numeric
 * fetch faulted (the slot stays 0): a pointer read from unreadable memory looks nil too.
 */
function isNil(text: string | undefined): boolean {
  return text === undefined || text === '(fault)' || /^(0x)?0+$/.test(text);
}

function intValue(text: string): number | string {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : BigInt(text).toString();
}

/** Probes of one process on tracefs. */
export class TracefsSession implements ProbeSession {
  private readonly queue: Hit[] = [];
  private readonly eventNames: string[] = [];
  private readonly state: ProbeState[];

  private constructor(
    compiled: readonly CompiledProbe[],
    readonly pid: number,
    private readonly process: string,
    redaction: Redactor | undefined,
  ) {
    this.state = compiled.map((c) => ({
      compiled: c,
      defs: tracefsDefinitions(c, redaction),
      hits: 0,
      events: 0,
      rateLimited: 0,
      dropped: 0,
      tokens: c.spec.rateLimit?.burst ?? c.spec.rateLimit?.perSecond ?? 0,
      tokensAtUs: -1,
    }));
  }

  /**
   * Defines and enables an event per site of `compiled` for process `pid` (running `path`);
   * a capture `redaction` marks is not fetched (undefined: none is redacted, the spec's `off`).
   */
  static async attach(
    compiled: readonly CompiledProbe[],
    o: {
      pid: number;
      path: string;
      process: string;
      bias: number;
      trapNs: TrapCosts;
      redaction: Redactor | undefined;
    },
  ): Promise<ProbeSession> {
    const s = new TracefsSession(compiled, o.pid, o.process, o.redaction);
    try {
      s.define(o.path);
    } catch (e) {
      await s.close();
      throw e;
    }
    return s;
  }

  private define(path: string): void {
    const run = ++serial;
    this.state.forEach((p, pi) => {
      const goid = p.compiled.bin.runtimeLayout().gOffsets.goid;
      p.defs.forEach((d, si) => {
        const name = `p${this.pid}_${run}_${pi}_${si}`;
        writeUprobeEvents(
          `p:${GROUP}/${name} ${path}:0x${d.fileOffset.toString(16)} goid=+${goid}(%r14):s64 ${d.args.join(' ')}`.trimEnd(),
        );
        this.eventNames.push(name);
        routes.set(name, { session: this, probe: pi, site: si });
        writeFileSync(join(instanceDir(), 'events', GROUP, name, 'enable'), '1');
      });
    });
  }

  /** A hit of one of this session's events (from the shared reader). */
  hit(h: Hit): void {
    const p = this.state[h.probe]!;
    p.hits++;
    if (p.compiled.recordBytes === 0 && p.compiled.captures.length === 0) return; // counts only
    const rate = p.compiled.spec.rateLimit;
    if (rate) {
      // Refilled by the hits' own kernel times, not by when they are read (as the eBPF
      // programs do, and the agent's per-process budget, probe-process.ts): a burst read late
      // would otherwise let more through than the limit.
      const burst = rate.burst ?? Math.max(1, rate.perSecond);
      if (p.tokensAtUs >= 0 && h.monoUs > p.tokensAtUs)
        p.tokens = Math.min(burst, p.tokens + ((h.monoUs - p.tokensAtUs) / 1e6) * rate.perSecond);
      p.tokensAtUs = Math.max(p.tokensAtUs, h.monoUs);
      if (p.tokens < 1) {
        p.rateLimited++;
        return;
      }
      p.tokens--;
    }
    if (this.queue.length >= MAX_QUEUED) {
      p.dropped++;
      return;
    }
    p.events++;
    this.queue.push(h);
  }

  get names(): readonly string[] {
    return this.state.map((p) => p.compiled.spec.name);
  }

  get queued(): number {
    return this.queue.length;
  }

  drain(_max: number): number {
    const before = this.queue.length;
    readPipe();
    return this.queue.length - before;
  }

  decode(max: number, onEvent: (e: WireProbeEvent) => void): number {
    const n = Math.min(max, this.queue.length);
    const offset = monoToUnixUs();
    for (const h of this.queue.splice(0, n)) onEvent(this.wire(h, offset));
    return n;
  }

  private wire(h: Hit, offsetUs: number): WireProbeEvent {
    const p = this.state[h.probe]!;
    const def = p.defs[h.site]!;
    const site = p.compiled.sites.filter((s) => s.main)[h.site]!.site;
    const args = new Map<string, string>();
    for (const m of h.args.matchAll(/ (\w+)=(\S+)/g)) args.set(m[1]!, m[2]!);
    const values: Record<string, unknown> = {};
    const errors: Record<string, string> = {};
    p.compiled.captures.forEach((c, i) => {
      const how = def.captures[i]!;
      const raw = args.get(`c${i}`);
      if ('unavailable' in how) errors[c.source] = how.unavailable;
      else if ('redacted' in how) values[c.source] = how.redacted;
      else if (Array.from({ length: how.pointers }, (_, k) => args.get(`c${i}p${k}`)).some((v) => isNil(v)))
        errors[c.source] = 'nil pointer dereference';
      else if (raw === undefined || raw === '(fault)')
        errors[c.source] = `tracefs could not read ${c.source}`;
      else if (how.kind === 'bool') values[c.source] = Number(raw) !== 0;
      else if (how.kind === 'string') {
        const len = Number(args.get(`c${i}l`) ?? 0);
        const bytes = Buffer.from(
          raw
            .replace(/^\{|\}$/g, '')
            .split(',')
            .map((x) => Number(x) & 0xff),
        );
        const text = bytes.subarray(0, Math.max(0, Math.min(len, bytes.length))).toString('utf8');
        values[c.source] = len > bytes.length ? { '…': 'truncated', string: text, len } : text;
      } else values[c.source] = intValue(raw);
    });
    return {
      probe: p.compiled.spec.name,
      process: this.process,
      timeUs: Math.round(h.monoUs + offsetUs),
      goroutine: Number(args.get('goid') ?? 0),
      thread: h.tid,
      site: {
        kind: site.kind,
        function: site.function,
        ...(site.file !== undefined ? { file: site.file } : {}),
        ...(site.line !== undefined ? { line: site.line } : {}),
      },
      values,
      ...(Object.keys(errors).length > 0 ? { errors } : {}),
    };
  }

  totals(name: string): ProbeTotals {
    const p = this.state.find((s) => s.compiled.spec.name === name);
    const hits = p?.hits ?? 0;
    const events = p?.events ?? 0;
    return {
      hits,
      matched: hits,
      events,
      rejected: 0,
      conditionErrors: 0,
      rateLimited: p?.rateLimited ?? 0,
      ringFull: 0,
      durations: 0,
      durationSumNs: 0,
    };
  }

  takeDropped(name: string): number {
    const p = this.state.find((s) => s.compiled.spec.name === name);
    const n = p?.dropped ?? 0;
    if (p) p.dropped = 0;
    return n;
  }

  histogram(_name: string): (readonly [number, number])[] {
    return [];
  }

  costNs(name: string): number {
    return this.totals(name).hits * TRACEFS_HIT_NS;
  }

  kernelIds(): { programIds: number[]; linkIds: number[] } {
    return { programIds: [], linkIds: [] };
  }

  fds(): number[] {
    return [];
  }

  /** The tracefs events this session defined. */
  events(): readonly string[] {
    return this.eventNames;
  }

  async close(): Promise<void> {
    for (const name of this.eventNames) {
      try {
        writeFileSync(join(instanceDir(), 'events', GROUP, name, 'enable'), '0');
      } catch {
        // never enabled
      }
    }
    try {
      readPipe(); // what was hit before the disable
    } catch {
      // the instance is gone
    }
    for (const name of this.eventNames) {
      routes.delete(name);
      writeUprobeEvents(`-:${GROUP}/${name}`);
    }
    this.eventNames.length = 0;
    this.queue.length = 0;
    closePipe();
  }
}
