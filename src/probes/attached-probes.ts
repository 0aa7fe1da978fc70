/**
 * Compiled probes attached to one process: the shared maps (probe-maps.ts, a counter slot per
 * probe), and per probe its own programs — one per site, or one per distinct program attached
 * at several sites through one uprobe_multi link, the site number its cookie — so a probe is
 * added or removed without touching the others; events decoded from the two ring buffers,
 * counters summed over CPUs, duration histograms, stacks by hash. Everything is tied to fds:
 * `close()` (or the death of this process) removes every probe and frees every kernel object.
 */
import { type Stats, statSync } from 'node:fs';
import type { FileOffset } from '../common/address.js';
import { PeriscopeError } from '../common/errors.js';
import type { Redactor } from '../goruntime/values/index.js';
import { executableMappings } from '../proc/maps.js';
import type { Attachment } from './bpf/attach.js';
import { attachPerfUprobes, attachUprobeMulti } from './bpf/attach.js';
import { HotRingReader } from './bpf/hot-ring.js';
import type { BpfMap } from './bpf/maps.js';
import { ATTACH_UPROBE_MULTI, type BpfProgram, loadProgram } from './bpf/program.js';
import { RingBufferReader } from './bpf/ringbuf.js';
import { syscalls } from './bpf/syscalls.js';
import type { CompiledProbe } from './compile/compile-probe.js';
import {
  HISTOGRAM_BUCKETS,
  HOT_RING_BYTES,
  type ProbeMapFds,
  STAT,
  STATS_PER_PROBE,
  type StatName,
} from './compile/probe-maps.js';
import { createProbeMaps } from './create-probe-maps.js';
import { type AttachedSite, EventDecoder, type ProbeEvent } from './decode/record-decode.js';
import { ProbeSlots, type SlotMaps } from './probe-slots.js';

/** How to attach. */
export interface AttachOptions {
  readonly pid: number;
  /** The executable as a path (default: the binary's path); uprobes are registered on its inode. */
  readonly path?: string;
  /** 'multi' (default): one uprobe_multi link per distinct program; 'perf': a perf event per site. */
  readonly attach?: 'multi' | 'perf';
  /** Bytes of the overflow ring buffer (a power of 2, at least 4096; default 8 MiB); the small ring is 1 MiB, or this if less. */
  readonly ringBytes?: number;
  /** Bytes of the small ring (default HOT_RING_BYTES; benchmarks set it to compare). */
  readonly hotRingBytes?: number;
  /** Up to 3 characters for kernel object names (periscope_<tag>…). */
  readonly tag?: string;
  /** The redaction events are decoded with (spec/redaction.ts `redactionFor`); absent: none. */
  readonly redaction?: Redactor;
}

/** How the kernel handles a hit at a site: emulated (cheap) or single-stepped (a second trap). */
export type SiteHandling = CompiledProbe['sites'][number]['site']['handling'];

/** One probe of the set: its slot in the shared counters, its programs and their attachments. */
interface Placed {
  readonly probe: CompiledProbe;
  /** Its index in the stats, histogram and rate maps (and in entry-time keys); freed, cleared, when it is removed. */
  readonly slot: number;
  readonly programs: BpfProgram[];
  /** Per program, how the kernel handles a hit at each of its sites. */
  readonly handlings: SiteHandling[][];
  readonly attachments: Attachment[];
}

/**
 * Probe slots of a set's counter maps (probe-slots.ts: a removed probe's slot is cleared and
 * taken again). Only more probes on at once make the caller place the set again.
 */
export const PROBE_SLOTS = 64;

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

/** Where a set's probes are attached, fixed when the set is made. */
interface Target {
  readonly pid: number;
  readonly path: string;
  readonly bias: number;
  readonly perf: boolean;
  readonly name: (s: string) => string;
}

/** Detaches a probe's attachments, then frees its programs. */
async function release(p: Placed): Promise<void> {
  await Promise.all(p.attachments.map((a) => a.detach()));
  for (const g of p.programs) g.close();
}

/** Probes attached to a process. */
export class AttachedProbes {
  private readonly placed = new Map<string, Placed>();
  /** Every site number ever given in this set (records of a removed probe may still be read). */
  private readonly sites: AttachedSite[] = [];
  private readonly slots: ProbeSlots;
  private programCount = 0;

  private constructor(
    readonly pid: number,
    private readonly target: Target,
    private readonly maps: BpfMap[],
    private readonly fds: ProbeMapFds,
    /** The hot ring's reader, then the overflow ring buffer's. */
    private readonly readers: readonly [HotRingReader, RingBufferReader],
    private readonly decoder: EventDecoder,
    private readonly m: SlotMaps & { ring: BpfMap; overflow: BpfMap; stacks: BpfMap },
  ) {
    this.slots = new ProbeSlots(m);
  }

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
    const target: Target = {
      pid: o.pid,
      path,
      bias: bias.value,
      perf: o.attach === 'perf',
      name: (s) => `periscope_${tag}${s}`,
    };
    const maps: BpfMap[] = [];
    let set: AttachedProbes | undefined;
    const readers: (HotRingReader | RingBufferReader)[] = [];
    try {
      const frames = Math.max(1, ...probes.map((p) => p.spec.stackFrames ?? 0));
      const slots = Math.max(PROBE_SLOTS, probes.length);
      const ringBytes = o.ringBytes ?? 1 << 23;
      const hot = Math.min(o.hotRingBytes ?? HOT_RING_BYTES, ringBytes);
      const fds = createProbeMaps(slots, frames, tag, { hot, overflow: ringBytes }, maps);
      const hotReader = new HotRingReader(fds.ring);
      readers.push(hotReader);
      const overflowReader = new RingBufferReader(fds.overflow);
      readers.push(overflowReader);
      const decoder = new EventDecoder(bin, o.pid, bias, o.redaction);
      set = new AttachedProbes(o.pid, target, maps, fds, [hotReader, overflowReader], decoder, fds);
      for (const p of probes) await set.add(p);
      return set;
    } catch (e) {
      if (set) await set.close();
      else {
        for (const r of readers) r.close();
        for (const m of maps) m.close();
      }
      throw e;
    }
  }

  /** The probes attached. */
  get probes(): CompiledProbe[] {
    return [...this.placed.values()].map((p) => p.probe);
  }

  /**
   * Whether `probe` can join this set without placing it again: a free slot, and stacks no
   * deeper than the set's stacks map holds.
   */
  canAdd(probe: CompiledProbe): boolean {
    return (
      this.slots.left > 0 &&
      (probe.spec.stackFrames ?? 0) <= this.fds.stackFrames &&
      probe.bin === this.decoder.bin
    );
  }

  /** Whether every one of `probes` can join this set, one after another (see canAdd). */
  canAddAll(probes: readonly CompiledProbe[]): boolean {
    return probes.every((p) => this.canAdd(p)) && probes.length <= this.slots.left;
  }

  /**
   * Attaches one more probe (its own programs and links; the others' programs, maps and
   * counters are untouched); on failure nothing of it stays. Its counters start from zero.
   */
  async add(probe: CompiledProbe): Promise<void> {
    const name = probe.spec.name;
    if (this.placed.has(name)) throw new PeriscopeError('bad-spec', `two probes are named ${name}`);
    if (!this.canAdd(probe))
      throw new PeriscopeError(
        'bad-usage',
        `probe ${name} does not fit this probe set (no free slot, deeper stacks, or another binary): attach the set again`,
      );
    const t = this.target;
    const slot = this.slots.take();
    const p: Placed = { probe, slot, programs: [], handlings: [], attachments: [] };
    try {
      // Sites whose programs are the same bytes share one program (one uprobe_multi link).
      const groups = new Map<
        string,
        { insns: Uint8Array; offsets: FileOffset[]; cookies: bigint[]; handlings: SiteHandling[] }
      >();
      for (const [si, site] of probe.sites.entries()) {
        const id = this.sites.push({ probe, site }) - 1;
        this.decoder.addSite({ probe, site });
        if (t.perf) {
          const insns = probe.program(si, slot, { kind: 'constant', id }, this.fds, t.bias);
          const prog = loadProgram({ name: t.name(`${this.programCount++}`), insns });
          p.programs.push(prog);
          p.handlings.push([site.site.handling]);
          p.attachments.push(await attachPerfUprobes(prog, t.path, [site.site.fileOffset], t.pid));
          continue;
        }
        const insns = probe.program(si, slot, { kind: 'cookie' }, this.fds, t.bias);
        const key = Buffer.from(insns).toString('base64');
        const g = groups.get(key) ?? { insns, offsets: [], cookies: [], handlings: [] };
        g.offsets.push(site.site.fileOffset);
        g.cookies.push(BigInt(id));
        g.handlings.push(site.site.handling);
        groups.set(key, g);
      }
      for (const g of groups.values()) {
        const prog = loadProgram({
          name: t.name(`${this.programCount++}`),
          insns: g.insns,
          expectedAttachType: ATTACH_UPROBE_MULTI,
        });
        p.programs.push(prog);
        p.handlings.push(g.handlings);
        p.attachments.push(attachUprobeMulti(prog, t.path, g.offsets, t.pid, g.cookies));
      }
    } catch (e) {
      await release(p);
      this.slots.free(slot);
      throw e;
    }
    this.placed.set(name, p);
  }

  /** Detaches probe `name` and frees its programs; the others run on undisturbed. */
  async remove(name: string): Promise<void> {
    const p = this.placedOf(name);
    this.placed.delete(name);
    await release(p);
    this.slots.free(p.slot);
  }

  /** The name of the probe that site number `site` belongs to (also a removed one's). */
  probeOfSite(site: number): string | undefined {
    return this.sites[site]?.probe.spec.name;
  }

  /** The programs' fds (for their kernel ids). */
  get programFds(): number[] {
    return [...this.placed.values()].flatMap((p) => p.programs.map((g) => g.fd));
  }

  /** The programs of probe `name`, each with how the kernel handles a hit at each of its sites. */
  programsOf(name: string): { readonly fd: number; readonly handlings: readonly SiteHandling[] }[] {
    const p = this.placedOf(name);
    return p.programs.map((g, k) => ({ fd: g.fd, handlings: p.handlings[k]! }));
  }

  /** The attachments' fds (links or perf events). */
  get attachmentFds(): number[] {
    return [...this.placed.values()].flatMap((p) => p.attachments.flatMap((a) => [...a.fds]));
  }

  /**
   * Decodes and hands over the events waiting in the ring buffers (at most `max`); returns how
   * many. The small ring's come first: across the two rings, events are not in time order.
   */
  poll(onEvent: (e: ProbeEvent) => void, max?: number): number {
    return this.pollRaw((rec) => {
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
  pollRaw(onRecord: (record: Uint8Array) => void, max = Number.POSITIVE_INFINITY): number {
    const n = this.readers[0].poll(onRecord, max);
    return n + this.readers[1].poll(onRecord, max - n);
  }

  /** Decodes one raw record (a copy taken in pollRaw). */
  decode(record: Uint8Array): ProbeEvent {
    return this.decoder.decode(record);
  }

  /** Bytes of records waiting in the ring buffers. */
  pendingBytes(): number {
    return this.readers[0].pending() + this.readers[1].pending();
  }

  /**
   * Resolves when a ring has data or `timeoutMs` passed (epoll on a pool thread). The overflow
   * ring buffer's fd is waited on: a program that writes into the empty hot ring also discards
   * an empty record there, which wakes the poll (compile/emit-ring.ts).
   */
  waitForEvents(timeoutMs: number): Promise<boolean> {
    if (this.readers[0].ready() || this.readers[1].pending() > 0) return Promise.resolve(true);
    return syscalls().pollReadable(this.m.overflow.fd, timeoutMs);
  }

  /** The counters of probe `name`, summed over CPUs. */
  stats(name: string): ProbeStats {
    const p = this.placedOf(name);
    const out: Record<string, number> = {};
    for (const [k, s] of Object.entries(STAT)) out[k] = this.sum(this.m.stats, p.slot * STATS_PER_PROBE + s);
    if (p.probe.recordBytes > 0) out.matched = out.events! + out.ringFull!;
    out.hits = out.matched! + out.rateLimited! + out.rejected! + out.conditionErrors!;
    return out as ProbeStats;
  }

  /** The duration histogram of probe `name`. */
  histogram(name: string): DurationHistogram {
    const i = this.placedOf(name).slot;
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
    const all = [...this.placed.values()];
    this.placed.clear();
    await Promise.all(all.map(release));
    for (const r of this.readers) r.close();
    for (const m of this.maps) m.close();
  }

  private placedOf(name: string): Placed {
    const p = this.placed.get(name);
    if (!p) throw new PeriscopeError('not-found', `no probe named ${name} on process ${this.pid}`);
    return p;
  }

  private sum(map: BpfMap, key: number): number {
    const v = map.lookup(Buffer.from(Uint32Array.of(key).buffer));
    let n = 0n;
    if (v) for (let k = 0; k < v.length; k += 8) n += v.readBigUInt64LE(k);
    return Number(n);
  }
}
