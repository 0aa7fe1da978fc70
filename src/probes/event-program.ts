/**
 * The programs of the probe foundation, emitted with the assembler: an empty program (the
 * cost floor), a counter (a per-CPU array slot per site), and an event: site, goroutine id
 * (read from g, which Go keeps in r14, at the goid offset derived from DWARF), time and
 * registers (e.g. Go's first integer argument in ax) sent through a ring buffer.
 */
import { Assembler } from './bpf/assembler.js';
import { R0, R1, R2, R3, R6, R7, R10, type Reg } from './bpf/isa.js';
import type { BpfMap } from './bpf/maps.js';
import { GO_G_REG, PT_REGS, type PtReg } from './pt-regs.amd64.js';

/** Where a program takes its site number from. */
export type SiteIdSource =
  /** A constant: one program per site (perf-event attachment). */
  | { readonly kind: 'constant'; readonly id: number }
  /** bpf_get_attach_cookie: one program for many sites (uprobe_multi link). */
  | { readonly kind: 'cookie' };

/** `return 0`: the cost of a BPF program that does nothing (the floor of every probe). */
export function emptyProgram(): Uint8Array {
  return new Assembler().mov64(R0, 0).exit().assemble();
}

/** Adds 1 to the per-CPU u64 at index site of `counters` (a percpuArray with 4-byte keys). */
export function counterProgram(counters: BpfMap, site: SiteIdSource): Uint8Array {
  const a = new Assembler();
  loadSiteId(a, site, R1);
  a.stx('w', R10, -4, R1);
  a.ldMap(R1, counters);
  a.mov64(R2, R10).alu64('add', R2, -4);
  a.call('map_lookup_elem');
  a.jmp('jeq', R0, 0, 'out');
  a.ldx('dw', R1, R0, 0).alu64('add', R1, 1).stx('dw', R0, 0, R1);
  a.label('out').mov64(R0, 0).exit();
  return a.assemble();
}

/** The layout of an event record. */
export interface EventLayout {
  /** Registers captured after the fixed header, 8 bytes each, in this order. */
  readonly regs: readonly PtReg[];
}

/** Bytes of an event's fixed part: u32 site, u32 thread id, u64 goid, u64 ktime_ns. */
export const EVENT_HEADER_BYTES = 24;

/** One decoded event. */
export interface ProbeEvent {
  readonly site: number;
  readonly tid: number;
  /** The goroutine id, 0 when g could not be read. */
  readonly goid: bigint;
  readonly timeNs: bigint;
  /** Captured registers by name (raw 64-bit values). */
  readonly regs: Readonly<Record<string, bigint>>;
}

/**
 * Reserves an event in `ring`, fills site, thread id, goroutine id (*(r14 + goidOffset)),
 * time and the registers of `layout`, and submits it; a full ring drops the event.
 */
export function eventProgram(
  ring: BpfMap,
  goidOffset: number,
  site: SiteIdSource,
  layout: EventLayout,
): Uint8Array {
  const a = new Assembler();
  a.mov64(R6, R1); // the pt_regs
  a.ldMap(R1, ring);
  a.mov64(R2, EVENT_HEADER_BYTES + 8 * layout.regs.length);
  a.mov64(R3, 0);
  a.call('ringbuf_reserve');
  a.jmp('jeq', R0, 0, 'out');
  a.mov64(R7, R0);
  loadSiteId(a, site, R1, R6);
  a.stx('w', R7, 0, R1);
  a.call('get_current_pid_tgid');
  a.stx('w', R7, 4, R0); // the low half: the thread id
  a.call('ktime_get_ns');
  a.stx('dw', R7, 16, R0);
  // goid = *(u64 *)(g + goidOffset), read from the target's memory (zero if unreadable).
  a.mov64(R1, R7).alu64('add', R1, 8);
  a.mov64(R2, 8);
  a.ldx('dw', R3, R6, PT_REGS[GO_G_REG]).alu64('add', R3, goidOffset);
  a.call('probe_read_user');
  layout.regs.forEach((r, i) => {
    a.ldx('dw', R1, R6, PT_REGS[r]).stx('dw', R7, EVENT_HEADER_BYTES + 8 * i, R1);
  });
  a.mov64(R1, R7).mov64(R2, 0).call('ringbuf_submit');
  a.label('out').mov64(R0, 0).exit();
  return a.assemble();
}

/** Decodes one ring buffer record written by an event program of `layout`. */
export function decodeEvent(record: Uint8Array, layout: EventLayout): ProbeEvent {
  const dv = new DataView(record.buffer, record.byteOffset, record.byteLength);
  const regs: Record<string, bigint> = {};
  layout.regs.forEach((r, i) => {
    regs[r] = dv.getBigUint64(EVENT_HEADER_BYTES + 8 * i, true);
  });
  return {
    site: dv.getUint32(0, true),
    tid: dv.getUint32(4, true),
    goid: dv.getBigUint64(8, true),
    timeNs: dv.getBigUint64(16, true),
    regs,
  };
}

/** Puts the site id in `dst` (the cookie helper needs the context in r1: `ctx` says where it is). */
function loadSiteId(a: Assembler, site: SiteIdSource, dst: Reg, ctx: Reg = R1): void {
  if (site.kind === 'constant') {
    a.mov64(dst, site.id);
    return;
  }
  if (ctx !== R1) a.mov64(R1, ctx);
  a.call('get_attach_cookie');
  if (dst !== R0) a.mov64(dst, R0);
}
