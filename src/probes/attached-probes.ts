/**
 * Compiled probes attached to one process: the shared maps (probe-maps.ts), one program per
 * site (or one per distinct program, attached at several sites through one uprobe_multi
 * link, the site number its cookie), events decoded from the ring buffer, counters summed
 * over CPUs, duration histograms, stacks by hash. Everything is tied to fds: `close()` (or
 * the death of this process) removes every probe and frees every kernel object.
 */
import { type Stats, statSync } from 'node:fs';
import type { FileOffset } from '../common/address.js';
import { PeriscopeError } from '../common/errors.js';
import type { Redactor } from '../goruntime/values/index.js';
import { executableMappings } from '../proc/maps.js';
import type { Attachment } from './bpf/attach.js';
import { attachPerfUprobes, attachUprobeMulti } from './bpf/attach.js';
import type { BpfMap } from './bpf/maps.js';
import { ATTACH_UPROBE_MULTI, type BpfProgram, loadProgram } from './bpf/program.js';
import { RingBufferReader } from './bpf/ringbuf.js';
import { syscalls } from './bpf/syscalls.js';
import type { CompiledProbe } from './compile/compile-probe.js';
import { HISTOGRAM_BUCKETS, STAT, STATS_PER_PROBE, type StatName } from './compile/probe-maps.js';
import { createProbeMaps } from './create-probe-maps.js';
import { type AttachedSite, EventDecoder, type ProbeEvent } from './decode/record-decode.js';

/** How to attach. */
export interface AttachOptions {
  readonly pid: number;
  /** The executable as a path (default: the binary's path); uprobes are registered on its inode. */
  readonly path?: string;
  /** 'multi' (default): one uprobe_multi link per distinct program; 'perf': a perf event per site. */
  readonly attach?: 'multi' | 'perf';
  /** Ring buffer bytes (a power of 2, at least 4096; default 8 MiB). */
  readonly ringBytes?: number;
  /** Up to 3 characters for kernel object names (periscope_<tag>…). */
  readonly tag?: string;
  /** The redaction events are decoded with (spec/redaction.ts `redactionFor`); absent: none. */
  readonly redaction?: Redactor;
}

/** Counters of one probe on one process, summed over CPUs. */
export type ProbeStats = { readonly [k in StatName]: number };

/** A duration histogram: counts of calls whose duration was below each bound (log2 buckets). */
export interface DurationHistogram {
  readonly buckets: readonly { readonly ltNs: number; readonly count: number }[];
  readonly count: number;
  readonly sumNs: number;
}

/**
 * Requires `a` and `b` to be one file (device and inode): a uprobe goes on an inode at a
 * file offset, and offsets computed from another build would land inside instructions.
 */
function sameFile(a: string, b: string, why: string): void {
  let x: Stats;
  let y: Stats;
  try {
    [x, y] = [statSync(a), statSync(b)];
  } catch (e) {
    throw new PeriscopeError('not-found', `${why}: ${(e as Error).message}`);
  }
  if (x.dev !== y.dev || x.ino !== y.ino)
    throw new PeriscopeError('bad-usage', `${why}: compile the probes for the binary the process runs`);
}

/** Probes attached to a process. */
export class AttachedProbes {
  private constructor(
    readonly probes: readonly CompiledProbe[],
    readonly pid: number,
    private readonly maps: BpfMap[],
    private readonly programs: BpfProgram[],
    private readonly attachments: Attachment[],
    private readonly reader: RingBufferReader,
    private readonly decoder: EventDecoder,
    private readonly m: { ring: BpfMap; stats: BpfMap; histogram: BpfMap; stacks: BpfMap },
  ) {}

  /** Attaches `probes` (compiled for the binary `pid` runs) to process `pid`; on failure nothing stays. */
  static async attach(probes: readonly CompiledProbe[], o: AttachOptions): Promise<AttachedProbes> {
    if (probes.length === 0) throw new PeriscopeError('bad-usage', 'no probes to attach');
    const bin = probes[0]!.bin;
    if (probes.some((p) => p.bin !== bin))
      throw new PeriscopeError('bad-usage', 'the probes of one process must be compiled for its binary');
    const names = new Set<string>();
    for (const p of probes) {
      if (names.has(p.spec.name)) throw new PeriscopeError('bad-spec', `two probes are named ${p.spec.name}`);
      names.add(p.spec.name);
    }
    const path = o.path ?? bin.path;
    sameFile(path, `/proc/${o.pid}/exe`, `process ${o.pid} does not run ${path}`);
    if (path !== bin.path)
      sameFile(path, bin.path, `${path} is not the file the probes were compiled for (${bin.path})`);
    const mappings = executableMappings(o.pid);
    if (mappings.length === 0)
      throw new PeriscopeError('not-found', `process ${o.pid} does not map its executable`);
    const first = mappings.reduce((a, b) => (b.offset < a.offset ? b : a));
    const bias = bin.elf.loadBias(first.start, first.offset);
    const tag = o.tag ?? 'p';
    if (!/^[a-z0-9]{1,3}$/.test(tag))
      throw new PeriscopeError('bad-usage', 'a probe tag is 1-3 characters [a-z0-9]');
    const name = (s: string) => `periscope_${tag}${s}`;
    const maps: BpfMap[] = [];
    const programs: BpfProgram[] = [];
    const attachments: Attachment[] = [];
    let reader: RingBufferReader | undefined;
    try {
      const fds = createProbeMaps(probes, tag, o.ringBytes ?? 1 << 23, maps);
      const { ring, stats, histogram, stacks } = fds;
      reader = new RingBufferReader(ring);
      // Site numbers across the set; sites whose programs are the same bytes share one program.
      const sites: AttachedSite[] = [];
      const groups = new Map<string, { insns: Uint8Array; offsets: FileOffset[]; cookies: bigint[] }>();
      for (const [pi, probe] of probes.entries())
        for (const [si, site] of probe.sites.entries()) {
          const id = sites.push({ probe, site }) - 1;
          if (o.attach === 'perf') {
            const insns = probe.program(si, pi, { kind: 'constant', id }, fds, bias.value);
            const prog = loadProgram({ name: name(`${programs.length}`), insns });
            programs.push(prog);
            attachments.push(await attachPerfUprobes(prog, path, [site.site.fileOffset], o.pid));
            continue;
          }
          const insns = probe.program(si, pi, { kind: 'cookie' }, fds, bias.value);
          const key = Buffer.from(insns).toString('base64');
          const g = groups.get(key) ?? { insns, offsets: [], cookies: [] };
          g.offsets.push(site.site.fileOffset);
          g.cookies.push(BigInt(id));
          groups.set(key, g);
        }
      for (const g of groups.values()) {
        const prog = loadProgram({
          name: name(`${programs.length}`),
          insns: g.insns,
          expectedAttachType: ATTACH_UPROBE_MULTI,
        });
        programs.push(prog);
        attachments.push(attachUprobeMulti(prog, path, g.offsets, o.pid, g.cookies));
      }
      const decoder = new EventDecoder(sites, o.pid, bias, o.redaction);
      return new AttachedProbes(probes, o.pid, maps, programs, attachments, reader, decoder, {
        ring,
        stats,
        histogram,
        stacks,
      });
    } catch (e) {
      await Promise.all(attachments.map((a) => a.detach()));
      reader?.close();
      for (const p of programs) p.close();
      for (const m of maps) m.close();
      throw e;
    }
  }

  /** The programs' fds (for their kernel ids). */
  get programFds(): number[] {
    return this.programs.map((p) => p.fd);
  }

  /** The attachments' fds (links or perf events). */
  get attachmentFds(): number[] {
    return this.attachments.flatMap((a) => [...a.fds]);
  }

  /** Decodes and hands over the events waiting in the ring buffer (at most `max`); returns how many. */
  poll(onEvent: (e: ProbeEvent) => void, max?: number): number {
    return this.reader.poll((rec) => {
      let e: ProbeEvent;
      try {
        e = this.decoder.decode(rec);
      } catch {
        this.undecodable++; // never expected: the records are our programs'; never fatal either
        return;
      }
      onEvent(e);
    }, max);
  }

  /** Records that could not be decoded (0 unless something is badly wrong). */
  undecodable = 0;

  /** Hands over the raw records waiting (views valid during the call only); returns how many. */
  pollRaw(onRecord: (record: Uint8Array) => void, max?: number): number {
    return this.reader.poll(onRecord, max);
  }

  /** Decodes one raw record (a copy taken in pollRaw). */
  decode(record: Uint8Array): ProbeEvent {
    return this.decoder.decode(record);
  }

  /** Resolves when the ring buffer has data or `timeoutMs` passed (epoll on a pool thread). */
  waitForEvents(timeoutMs: number): Promise<boolean> {
    if (this.reader.pending() > 0) return Promise.resolve(true);
    return syscalls().pollReadable(this.m.ring.fd, timeoutMs);
  }

  /** The counters of probe `name`, summed over CPUs. */
  stats(name: string): ProbeStats {
    const i = this.indexOf(name);
    const out: Record<string, number> = {};
    for (const [k, s] of Object.entries(STAT)) out[k] = this.sum(this.m.stats, i * STATS_PER_PROBE + s);
    if (this.probes[i]!.recordBytes > 0) out.matched = out.events! + out.ringFull!;
    out.hits = out.matched! + out.rateLimited! + out.rejected! + out.conditionErrors!;
    return out as ProbeStats;
  }

  /** The duration histogram of probe `name`. */
  histogram(name: string): DurationHistogram {
    const i = this.indexOf(name);
    const buckets: { ltNs: number; count: number }[] = [];
    for (let b = 0; b < HISTOGRAM_BUCKETS; b++) {
      const count = this.sum(this.m.histogram, i * HISTOGRAM_BUCKETS + b);
      if (count > 0) buckets.push({ ltNs: 2 ** b, count });
    }
    const s = this.stats(name);
    return { buckets, count: s.durations, sumNs: s.durationSumNs };
  }

  /** The return addresses of a stack (the hex key an event names), innermost first. */
  stack(key: string): number[] {
    const k = Buffer.alloc(8);
    k.writeBigUInt64LE(BigInt(`0x${key}`));
    const v = this.m.stacks.lookup(k);
    if (!v) return [];
    const out: number[] = [];
    for (let i = 0; i < v.length; i += 8) {
      const pc = Number(v.readBigUInt64LE(i));
      if (pc === 0) break;
      out.push(pc);
    }
    return out;
  }

  /** Detaches every probe and frees every map and program. */
  async close(): Promise<void> {
    await Promise.all(this.attachments.map((a) => a.detach()));
    this.reader.close();
    for (const p of this.programs) p.close();
    for (const m of this.maps) m.close();
  }

  private indexOf(name: string): number {
    const i = this.probes.findIndex((p) => p.spec.name === name);
    if (i < 0) throw new PeriscopeError('not-found', `no probe named ${name} on process ${this.pid}`);
    return i;
  }

  private sum(map: BpfMap, key: number): number {
    const v = map.lookup(Buffer.from(Uint32Array.of(key).buffer));
    let n = 0n;
    if (v) for (let k = 0; k < v.length; k += 8) n += v.readBigUInt64LE(k);
    return Number(n);
  }
}
