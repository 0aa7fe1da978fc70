/**
 * One site's BPF program. In order: count the hit; for durations, the entry time by
 * (goroutine id, the frame's distance from the top of its stack, probe) — a key that survives
 * the stack being copied — is stored at entries and looked up at returns (duration into the
 * log2 histogram); then the condition (false: counted as rejected, an error: counted too),
 * the rate limit (a GCRA token bucket updated with compare-and-exchange), and, for probes
 * with something to record, an event reserved in the small ring buffer, else in the large
 * one (both full: counted as a drop),
 * filled with the header, each capture and its regions, the labels and the stack, and
 * submitted. Nothing is dropped silently.
 */
import type { Binding, ConstInfo, Expr } from '../../goruntime/expr/index.js';
import { R0, R1, R2, R3, R8, R10 } from '../bpf/isa.js';
import type { SiteIdSource } from '../event-program.js';
import { GO_G_REG, PT_REGS } from '../pt-regs.amd64.js';
import { emitBranchGate } from './emit-branch.js';
import { emitDuration, emitRateLimit, emitStack, type StackMode } from './emit-extras.js';
import { emitRegions, readOnlyData } from './emit-regions.js';
import { emitCommit, emitReserve } from './emit-ring.js';
import { CTX, Emitter, ERR_AUX, ERR_CODE, REC } from './emitter.js';
import { condition } from './expr-ops.js';
import { type CompileEnv, ExprCompiler } from './expr-values.js';
import { type ProbeMapFds, STAT, STATS_PER_PROBE } from './probe-maps.js';
import { CAPTURE, FLAG_STACK, HDR, SLOT } from './record-layout.js';
import type { RegionPlan } from './value-plan.js';

/** A checked expression at one site. */
export interface SiteExpr {
  readonly ast: Expr;
  readonly bindings: ReadonlyMap<Expr, Binding>;
  readonly consts: ReadonlyMap<Expr, ConstInfo>;
}

/** Where a capture goes in the record, and what it reads beyond its own bytes. */
export interface CaptureSlot {
  readonly source: string;
  /** Record offset of the slot (SLOT). */
  readonly off: number;
  /** Bytes of the value itself. */
  readonly size: number;
  readonly regions: readonly RegionPlan[];
}

/** A capture at one site: its expression, or the reason it is unavailable there (an index into the probe's reasons). */
export type SiteCapture =
  | { readonly slot: CaptureSlot; readonly expr: SiteExpr }
  | { readonly slot: CaptureSlot; readonly unavailable: number };

/** Everything one site's program does. */
export interface SiteProgramSpec {
  readonly probe: number;
  readonly env: CompileEnv;
  readonly siteId: SiteIdSource;
  /** Store the entry time (an entry site of a probe with durations). */
  readonly timestamp: boolean;
  /** Measure the duration since the entry (a return site of a probe with durations). */
  readonly duration: boolean;
  /** Evaluate condition and rate limit, count matches, emit events; false: timing only. */
  readonly main: boolean;
  readonly condition?: SiteExpr;
  readonly rate?: { readonly intervalNs: number; readonly burst: number };
  readonly captures: readonly SiteCapture[];
  /** The labels pseudo-capture: the g.labels pointer's slot and its regions. */
  readonly labels?: { readonly off: number; readonly regions: readonly RegionPlan[] };
  readonly stack?: { readonly frames: number; readonly mode: StackMode };
  /** Bytes of each event record; 0: the probe only counts. */
  readonly recordBytes: number;
  readonly goidOffset: number;
  readonly stackHiOffset: number;
  readonly labelsOffset: number;
}

/** The program's bytes for a process with load bias `bias`, using `maps`. */
export function emitSiteProgram(spec: SiteProgramSpec, maps: ProbeMapFds, bias: number): Uint8Array {
  const e = new Emitter(bias);
  const a = e.a;
  const stat = (s: keyof typeof STAT) => e.count(maps.stats, spec.probe * STATS_PER_PROBE + STAT[s]);
  a.mov64(CTX, R1);
  const branch = spec.env.frame.site.via?.branch;
  if (branch) emitBranchGate(e, branch); // a return site on a Jcc: only the way to the RET goes on
  const now = e.alloc(8);
  const dur = e.alloc(8);
  const flags = e.alloc(8);
  a.st('dw', R10, dur, 0).st('dw', R10, flags, 0);
  a.call('ktime_get_ns').stx('dw', R10, now, R0);
  if (spec.timestamp || spec.duration) emitDuration(e, spec, maps, { now, dur, flags });
  if (!spec.main) {
    a.mov64(R0, 0).exit();
    return a.assemble();
  }
  if (spec.condition) {
    const [pass, reject, error] = [e.label('pass'), e.label('reject'), e.label('conderr')];
    e.errorLabel = error;
    const c = new ExprCompiler(e, {
      ...spec.env,
      bindings: spec.condition.bindings,
      consts: spec.condition.consts,
    });
    const m = e.mark();
    condition(c, spec.condition.ast, pass, reject);
    e.release(m);
    a.label(reject);
    stat('rejected');
    a.mov64(R0, 0).exit();
    if (e.failTargets.has(error)) {
      a.label(error);
      stat('conditionErrors');
      a.mov64(R0, 0).exit();
    }
    a.label(pass);
  }
  if (spec.rate) emitRateLimit(e, spec.probe, spec.rate, maps, now, () => stat('rateLimited'));
  if (spec.recordBytes === 0) {
    stat('matched'); // a probe that emits counts events and drops instead: matched is their sum
    a.mov64(R0, 0).exit();
    return a.assemble();
  }
  const stackHash = spec.stack ? emitStack(e, spec.stack, spec.env.frame.spDelta, maps) : undefined;
  // The hot ring first (its memory stays in cache, no helper call), the large one when the drain is behind.
  const full = e.label('ringfull');
  const reservation = emitReserve(e, maps, spec.recordBytes, full);
  header(e, spec, { now, dur, flags, stackHash });
  for (const c of spec.captures) emitCapture(e, spec, c);
  if (spec.labels) emitLabels(e, spec);
  emitCommit(e, maps, spec.recordBytes, reservation);
  stat('events');
  a.mov64(R0, 0).exit();
  a.label(full);
  stat('ringFull');
  a.mov64(R0, 0).exit();
  return a.assemble();
}

function header(
  e: Emitter,
  spec: SiteProgramSpec,
  s: { now: number; dur: number; flags: number; stackHash: number | undefined },
): void {
  const a = e.a;
  a.st('w', REC, HDR.probe, spec.probe);
  if (spec.siteId.kind === 'constant') a.st('w', REC, HDR.site, spec.siteId.id);
  else a.mov64(R1, CTX).call('get_attach_cookie').stx('w', REC, HDR.site, R0);
  a.call('get_current_pid_tgid').stx('w', REC, HDR.tid, R0);
  a.ldx('dw', R1, R10, s.now).stx('dw', REC, HDR.time, R1);
  a.ldx('dw', R1, R10, s.dur).stx('dw', REC, HDR.duration, R1);
  a.ldx('dw', R8, R10, s.flags);
  if (s.stackHash !== undefined) {
    a.ldx('dw', R1, R10, s.stackHash).stx('dw', REC, HDR.stack, R1);
    a.alu64('or', R8, FLAG_STACK);
  } else a.st('dw', REC, HDR.stack, 0);
  a.stx('w', REC, HDR.flags, R8);
  readG(e, HDR.goid, spec.goidOffset);
}

/** probe_read_user(record + off, 8, g + gOffset): a word of the current g (r14), 0 if unreadable. */
function readG(e: Emitter, off: number, gOffset: number): void {
  e.a.mov64(R1, REC).alu64('add', R1, off).mov64(R2, 8);
  e.a.ldx('dw', R3, CTX, PT_REGS[GO_G_REG]).alu64('add', R3, gOffset);
  e.a.call('probe_read_user');
}

function emitCapture(e: Emitter, spec: SiteProgramSpec, c: SiteCapture): void {
  const a = e.a;
  const { off } = c.slot;
  a.st('dw', REC, off + SLOT.address, 0);
  if ('unavailable' in c) {
    a.st('w', REC, off + SLOT.status, CAPTURE.unavailable).st('dw', REC, off + SLOT.aux, c.unavailable);
    return;
  }
  const [failed, done] = [e.label('capfail'), e.label('capdone')];
  e.errorLabel = failed;
  const m = e.mark();
  const x = new ExprCompiler(e, { ...spec.env, bindings: c.expr.bindings, consts: c.expr.consts });
  const dest = { base: 'record' as const, off: off + SLOT.bytes };
  const v = x.value(c.expr.ast, dest);
  const size = c.slot.size;
  if (v.k === 'mem') {
    a.ldx('dw', R8, R10, v.slot);
    if (v.add !== 0) a.alu64('add', R8, v.add);
    a.stx('dw', REC, off + SLOT.address, R8);
    a.mov64(R1, REC).alu64('add', R1, dest.off).mov64(R2, size).mov64(R3, R8).call('probe_read_user');
    const ok = e.label('rootread');
    a.jmp('jeq', R0, 0, ok);
    e.fail(CAPTURE.unreadable, R8);
    a.label(ok);
  } else if (v.k === 'bytes') {
    if (v.at.base !== 'record' || v.at.off !== dest.off) copyBytes(e, v.at.base, v.at.off, dest.off, size);
  } else throw new Error('internal: a constant capture');
  e.release(m);
  a.st('w', REC, off + SLOT.status, CAPTURE.ok);
  emitRegions(e, c.slot.regions, spec.env.typesBase, readOnlyData(spec.env.bin.elf));
  if (!e.failTargets.has(failed)) return;
  a.ja(done);
  a.label(failed);
  a.ldx('w', R1, R10, ERR_CODE).stx('w', REC, off + SLOT.status, R1);
  a.ldx('dw', R1, R10, ERR_AUX).stx('dw', REC, off + SLOT.aux, R1);
  a.label(done);
}

/** Copies exactly `size` bytes into the record (8, 4, 2 and 1 at a time: no byte past the value is read). */
function copyBytes(e: Emitter, base: 'stack' | 'record', from: number, to: number, size: number): void {
  const src = base === 'stack' ? R10 : REC;
  for (let i = 0; i < size; ) {
    const n = size - i;
    const [sz, step] =
      n >= 8
        ? (['dw', 8] as const)
        : n >= 4
          ? (['w', 4] as const)
          : n >= 2
            ? (['h', 2] as const)
            : (['b', 1] as const);
    e.a.ldx(sz, R1, src, from + i).stx(sz, REC, to + i, R1);
    i += step;
  }
}

function emitLabels(e: Emitter, spec: SiteProgramSpec): void {
  const l = spec.labels!;
  const a = e.a;
  a.st('dw', REC, l.off + SLOT.address, 0).st('dw', REC, l.off + SLOT.aux, 0);
  a.st('w', REC, l.off + SLOT.status, CAPTURE.ok);
  readG(e, l.off + SLOT.bytes, spec.labelsOffset);
  emitRegions(e, l.regions, spec.env.typesBase, readOnlyData(spec.env.bin.elf));
}
