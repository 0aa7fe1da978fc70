/**
 * Probes on one process: a program (empty, counter, or event) at each site, attached as
 * perf-event uprobes (one program per site, the site number a constant) or as one
 * uprobe_multi link (one program, the site number its cookie); events read from a ring
 * buffer; counters summed over CPUs. `close()` detaches and frees every kernel object (the
 * kernel also frees them if this process dies). Only Periscope's own objects, named
 * `periscope_…`.
 */
import type { FileOffset } from '../common/address.js';
import type { Attachment } from './bpf/attach.js';
import { attachPerfUprobes, attachUprobeMulti } from './bpf/attach.js';
import { type BpfMap, createMap } from './bpf/maps.js';
import { ATTACH_UPROBE_MULTI, type BpfProgram, loadProgram } from './bpf/program.js';
import { RingBufferReader } from './bpf/ringbuf.js';
import {
  counterProgram,
  decodeEvent,
  type EventLayout,
  emptyProgram,
  eventProgram,
  type ProbeEvent,
  type SiteIdSource,
} from './event-program.js';

/** What each probe does. */
export type ProbeAction =
  | { readonly kind: 'empty' }
  | { readonly kind: 'count' }
  | { readonly kind: 'event'; readonly goidOffset: number; readonly layout: EventLayout };

/** Where and how to probe. */
export interface ProbeSetOptions {
  /** A short tag for the kernel object names (periscope_<tag><suffix>, 15 characters at most). */
  readonly tag: string;
  readonly pid: number;
  /** The executable as a path (the uprobes are registered on its inode). */
  readonly path: string;
  /** File offsets of the sites; site i reports number i. */
  readonly offsets: readonly FileOffset[];
  readonly action: ProbeAction;
  readonly attach: 'perf' | 'multi';
  /** Ring buffer bytes (power of 2, ≥ 4096), for 'event'. */
  readonly ringBytes?: number;
}

/** Probes attached to a process. */
export class ProbeSet {
  private constructor(
    private readonly programs: BpfProgram[],
    private readonly maps: BpfMap[],
    private readonly attachments: Attachment[],
    private readonly reader: RingBufferReader | undefined,
    private readonly counters: BpfMap | undefined,
    private readonly layout: EventLayout | undefined,
    readonly siteCount: number,
  ) {}

  /** Loads, attaches and starts the probes; on failure, frees what was made and throws. */
  static async open(o: ProbeSetOptions): Promise<ProbeSet> {
    const programs: BpfProgram[] = [];
    const maps: BpfMap[] = [];
    const attachments: Attachment[] = [];
    let reader: RingBufferReader | undefined;
    try {
      const name = (suffix: string): string => `periscope_${o.tag}${suffix}`;
      let counters: BpfMap | undefined;
      let ring: BpfMap | undefined;
      if (o.action.kind === 'count') {
        counters = createMap({
          name: name('c'),
          type: 'percpuArray',
          keySize: 4,
          valueSize: 8,
          maxEntries: Math.max(1, o.offsets.length),
        });
        maps.push(counters);
      }
      if (o.action.kind === 'event') {
        ring = createMap({
          name: name('r'),
          type: 'ringbuf',
          keySize: 0,
          valueSize: 0,
          maxEntries: o.ringBytes ?? 1 << 22,
        });
        maps.push(ring);
        reader = new RingBufferReader(ring);
      }
      const insnsFor = (site: SiteIdSource): Uint8Array => {
        const a = o.action;
        if (a.kind === 'empty') return emptyProgram();
        if (a.kind === 'count') return counterProgram(counters!, site);
        return eventProgram(ring!, a.goidOffset, site, a.layout);
      };
      if (o.attach === 'multi') {
        const prog = loadProgram({
          name: name('m'),
          insns: insnsFor({ kind: 'cookie' }),
          expectedAttachType: ATTACH_UPROBE_MULTI,
        });
        programs.push(prog);
        attachments.push(attachUprobeMulti(prog, o.path, o.offsets, o.pid));
      } else {
        for (const [i, off] of o.offsets.entries()) {
          const prog = loadProgram({ name: name(`p${i}`), insns: insnsFor({ kind: 'constant', id: i }) });
          programs.push(prog);
          attachments.push(await attachPerfUprobes(prog, o.path, [off], o.pid));
        }
      }
      const layout = o.action.kind === 'event' ? o.action.layout : undefined;
      return new ProbeSet(programs, maps, attachments, reader, counters, layout, o.offsets.length);
    } catch (e) {
      await Promise.all(attachments.map((a) => a.detach()));
      reader?.close();
      for (const p of programs) p.close();
      for (const m of maps) m.close();
      throw e;
    }
  }

  /** The program fds (to look up their kernel ids). */
  get programFds(): number[] {
    return this.programs.map((p) => p.fd);
  }

  /** The attachments' fds (perf events or links). */
  get attachmentFds(): number[] {
    return this.attachments.flatMap((a) => [...a.fds]);
  }

  /** Reads the events waiting in the ring buffer ('event' probes). */
  poll(onEvent: (e: ProbeEvent) => void): number {
    const layout = this.layout;
    if (!this.reader || !layout) return 0;
    return this.reader.poll((rec) => onEvent(decodeEvent(rec, layout)));
  }

  /** Hits per site, summed over CPUs ('count' probes). */
  counts(): bigint[] {
    const c = this.counters;
    if (!c) return [];
    const out: bigint[] = [];
    for (let i = 0; i < this.siteCount; i++) {
      const v = c.lookup(Buffer.from(Uint32Array.of(i).buffer));
      let sum = 0n;
      if (v) for (let k = 0; k < v.length; k += 8) sum += v.readBigUInt64LE(k);
      out.push(sum);
    }
    return out;
  }

  /** Detaches every probe and frees every map and program. */
  async close(): Promise<void> {
    await Promise.all(this.attachments.map((a) => a.detach()));
    this.reader?.close();
    for (const p of this.programs) p.close();
    for (const m of this.maps) m.close();
  }
}
