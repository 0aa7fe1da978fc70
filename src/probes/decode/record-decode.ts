/**
 * A ring buffer record to a probe event: the header (probe, site, thread, goroutine, time,
 * duration, stack hash), then each capture as the same result a snapshot's expression gives
 * — `{ok: true, value, type}` with the value in the JSON form of snapshots (decoded by the
 * snapshot value decoder from the bytes and regions the probe copied), or `{ok: false,
 * value: null, error, unavailable}` — and the goroutine's pprof labels when asked.
 *
 * Redaction happens here, in the agent, before an event goes anywhere: given a `Redactor`
 * (spec/redaction.ts `redactionFor(spec, programs)`), a capture whose expression names a
 * secret (`apiToken`, `req.Header["Authorization"]`) is the redaction mark, and secret
 * fields, string map keys and types inside a value are marked while it is decoded; so are
 * the values of pprof labels whose key looks secret (the mark's JSON text: labels are strings).
 */
import { type Address, addr, hex, type LoadBias } from '../../common/address.js';
import type { DwarfType } from '../../dwarf/types.js';
import type { GoBinary } from '../../gobinary/go-binary.js';
import { type ExprResult, secretInExpressionText } from '../../goruntime/expr/index.js';
import {
  decodeValue,
  type GoValue,
  makeValueContext,
  type Redactor,
  redactedLabelValue,
  redactedMark,
  type ValueContext,
  withRedaction,
} from '../../goruntime/values/index.js';
import type { CompiledProbe, CompiledSite } from '../compile/compile-probe.js';
import {
  CAPTURE,
  FLAG_DURATION,
  FLAG_STACK,
  HDR,
  REGION,
  REGION_IN_FILE,
  SLOT,
} from '../compile/record-layout.js';
import type { RegionPlan } from '../compile/value-plan.js';
import { CapturedMemory, type CapturedRegion, StaticData } from './captured-memory.js';

/** Where an event happened. */
export interface EventSite {
  readonly kind: string;
  readonly function: string;
  /** Link-time address of the probed instruction. */
  readonly address: string;
  readonly file?: string;
  readonly line?: number;
}

/** One decoded event. */
export interface ProbeEvent {
  readonly probe: string;
  readonly site: EventSite;
  readonly pid: number;
  readonly tid: number;
  readonly goid: number;
  /** CLOCK_MONOTONIC at the hit (bpf_ktime_get_ns), ns. */
  readonly monotonicNs: bigint;
  /** The hit's wall-clock time, ns since the Unix epoch (from the monotonic time). */
  readonly unixNs: bigint;
  /** Nanoseconds since the call's entry (return probes with durations, when the entry was seen). */
  readonly durationNs?: number;
  /** Key of the event's stack in the probe set's stacks (hex). */
  readonly stack?: string;
  /** Each capture by its expression. */
  readonly values: { readonly [expression: string]: ExprResult };
  readonly labels?: { readonly [key: string]: string };
}

/** What site number n of an attached probe set is. */
export interface AttachedSite {
  readonly probe: CompiledProbe;
  readonly site: CompiledSite;
}

/** Decodes the records of one probe set on one process. */
export class EventDecoder {
  private readonly ctx: ValueContext | undefined;
  private readonly statics: StaticData;
  private readonly clockOffset: bigint;
  /** Each site's description, made once. */
  private readonly siteInfo: EventSite[] = [];
  /** What each site number is (sites are added as probes join the set). */
  private readonly sites: AttachedSite[] = [];
  /** Per probe: the value context its captures decode with (limits set), over `memory`. */
  private readonly contexts = new Map<CompiledProbe, ValueContext>();
  /** The memory of the record being decoded (its regions are replaced per capture). */
  private readonly memory: CapturedMemory;
  /** Per probe: the redaction mark of each capture whose expression names a secret (by source). */
  private readonly secrets = new Map<CompiledProbe, ReadonlyMap<string, GoValue>>();

  /** `redaction`: the rules values are decoded with (undefined: none, where a spec turns it off). */
  constructor(
    readonly bin: GoBinary,
    private readonly pid: number,
    bias: LoadBias,
    private readonly redaction?: Redactor,
  ) {
    this.ctx = withRedaction(
      makeValueContext(bin, { read: (a, n) => this.statics.read(a, n) ?? new Uint8Array(n) }, bias),
      redaction,
    );
    this.statics = new StaticData(bin.elf, bias.value);
    this.memory = new CapturedMemory([], this.statics);
    this.clockOffset = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
  }

  /** Gives the next site number to `at` (a site of a probe compiled for this binary). */
  addSite(at: AttachedSite): void {
    const s = at.site.site;
    this.sites.push(at);
    this.siteInfo.push({
      kind: s.kind,
      function: s.function,
      address: hex(s.address),
      ...(s.file !== undefined ? { file: s.file } : {}),
      ...(s.line !== undefined ? { line: s.line } : {}),
    });
  }

  /** The event a record holds. */
  decode(record: Uint8Array): ProbeEvent {
    const dv = new DataView(record.buffer, record.byteOffset, record.byteLength);
    const siteNo = dv.getUint32(HDR.site, true);
    const at = this.sites[siteNo];
    if (!at) throw new RangeError(`a probe record names site ${siteNo}, which this probe set does not have`);
    const { probe } = at;
    const flags = dv.getUint32(HDR.flags, true);
    const monotonicNs = dv.getBigUint64(HDR.time, true);
    const values: { [k: string]: ExprResult } = {};
    const secrets = this.secretsOf(probe);
    for (const c of probe.captures) {
      const mark = secrets.get(c.source);
      values[c.source] =
        mark !== undefined
          ? { ok: true, value: mark, type: c.type.name ?? '?' }
          : this.capture(probe, record, dv, c.slot.off, c.slot.size, c.type, c.slot.regions);
    }
    return {
      probe: probe.spec.name,
      site: this.siteInfo[siteNo]!,
      pid: this.pid,
      tid: dv.getUint32(HDR.tid, true),
      goid: Number(dv.getBigUint64(HDR.goid, true)),
      monotonicNs,
      unixNs: monotonicNs + this.clockOffset,
      ...(flags & FLAG_DURATION ? { durationNs: Number(dv.getBigUint64(HDR.duration, true)) } : {}),
      ...(flags & FLAG_STACK ? { stack: dv.getBigUint64(HDR.stack, true).toString(16) } : {}),
      values,
      ...(probe.labels ? { labels: this.labels(probe, record, dv) } : {}),
    };
  }

  /** The captures of `probe` whose expressions name a secret, with their marks (worked out once per probe). */
  private secretsOf(probe: CompiledProbe): ReadonlyMap<string, GoValue> {
    let out = this.secrets.get(probe);
    if (!out) {
      const marks = new Map<string, GoValue>();
      if (this.redaction)
        for (const c of probe.captures) {
          const s = secretInExpressionText(c.source, c.type.name, this.redaction);
          if (s) marks.set(c.source, redactedMark(s.rule, s.type));
        }
      out = marks;
      this.secrets.set(probe, out);
    }
    return out;
  }

  private capture(
    probe: CompiledProbe,
    record: Uint8Array,
    dv: DataView,
    off: number,
    size: number,
    type: DwarfType,
    regions: readonly RegionPlan[],
  ): ExprResult {
    const status = dv.getUint32(off + SLOT.status, true);
    if (status !== CAPTURE.ok) {
      const aux = dv.getBigUint64(off + SLOT.aux, true);
      return { ok: false, value: null, ...this.failure(probe, status, aux) };
    }
    const address = Number(dv.getBigUint64(off + SLOT.address, true));
    const bytes = record.subarray(off + SLOT.bytes, off + SLOT.bytes + size);
    const value = this.render(
      probe,
      record,
      dv,
      regions,
      type,
      bytes,
      address === 0 ? undefined : addr(address),
    );
    return { ok: true, value, type: type.name ?? '?' };
  }

  private render(
    probe: CompiledProbe,
    record: Uint8Array,
    dv: DataView,
    regions: readonly RegionPlan[],
    type: DwarfType,
    bytes: Uint8Array,
    address: Address | undefined,
  ): GoValue {
    const copied: CapturedRegion[] = [];
    for (const r of regions) {
      const bytes = this.regionBytes(record, dv, r);
      if (bytes) copied.push({ address: Number(dv.getBigUint64(r.off + REGION.address, true)), bytes });
    }
    let ctx = this.contexts.get(probe);
    if (!ctx) {
      ctx = { ...this.ctx!, memory: this.memory, limits: probe.limits };
      this.contexts.set(probe, ctx);
    }
    this.memory.regions = copied;
    return decodeValue(ctx, type, bytes, address);
  }

  /** A region's bytes: copied into the record, or the binary's read-only data the program left in the file; undefined when not read. */
  private regionBytes(record: Uint8Array, dv: DataView, r: RegionPlan): Uint8Array | undefined {
    const status = dv.getInt32(r.off + REGION.status, true);
    const n = Math.min(dv.getUint32(r.off + REGION.length, true), r.max);
    if (status === 0) return record.subarray(r.off + REGION.bytes, r.off + REGION.bytes + n);
    if (status !== REGION_IN_FILE) return undefined;
    return this.statics.read(Number(dv.getBigUint64(r.off + REGION.address, true)), n);
  }

  private failure(
    probe: CompiledProbe,
    status: number,
    aux: bigint,
  ): { error: string; unavailable: boolean } {
    switch (status) {
      case CAPTURE.nil:
        return { error: 'nil pointer dereference', unavailable: false };
      case CAPTURE.unreadable:
        return {
          error: `cannot read memory at ${hex(Number(aux))}: target memory is unreadable`,
          unavailable: false,
        };
      case CAPTURE.index:
        return { error: `index ${BigInt.asIntN(64, aux)} out of range`, unavailable: false };
      case CAPTURE.divide:
        return { error: 'integer divide by zero', unavailable: false };
      case CAPTURE.assertion: {
        const t =
          aux === 0n ? undefined : this.ctx!.dwarf.typeByRuntimeAddress(Number(aux) - this.ctx!.typesBase);
        return {
          error: `type assertion failed: the interface holds ${aux === 0n ? 'nil' : (t?.name ?? hex(Number(aux)))}`,
          unavailable: false,
        };
      }
      case CAPTURE.unavailable:
        return { error: probe.reasons[Number(aux)] ?? 'not available at this site', unavailable: true };
      case CAPTURE.shift:
        return { error: `negative shift amount ${BigInt.asIntN(64, aux)}`, unavailable: false };
      case CAPTURE.tooLong:
        return { error: `a string of ${aux} bytes is too long to compare in a probe`, unavailable: false };
      default:
        return { error: `probe status ${status}`, unavailable: false };
    }
  }

  private labels(probe: CompiledProbe, record: Uint8Array, dv: DataView): { [k: string]: string } {
    const l = probe.labels!;
    const out: { [k: string]: string } = {};
    const text = (r: RegionPlan): string | undefined => {
      const bytes = this.regionBytes(record, dv, r);
      return bytes && TEXT.decode(bytes);
    };
    if (dv.getInt32(l.elements.off + REGION.status, true) !== 0) return out;
    const count = dv.getUint32(l.elements.off + REGION.length, true);
    for (const [i, p] of l.pairs.entries()) {
      if ((i + 1) * (l.elements.max / l.pairs.length) > count) break;
      const k = text(p.key);
      if (k === undefined) continue;
      const rule = this.redaction?.byName(k);
      out[k] = rule !== undefined ? redactedLabelValue(rule) : (text(p.value) ?? '');
    }
    return out;
  }
}

const TEXT = new TextDecoder();
