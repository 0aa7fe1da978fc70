/**
 * What a probe copies of a captured value beyond its own bytes: the regions of target
 * memory the snapshot value decoder would read to render it under the same limits (string
 * contents up to maxString, slice elements up to maxElements, pointees and nested fields up
 * to maxDepth, a non-empty interface's type word through its itab, a func's code pointer, a
 * channel's header). An interface's dynamic value is copied for the types worth it (string,
 * and errors whose message is data), else its first 32 bytes. Each region reads from a
 * pointer word already in the record, so the plan is a list in dependency order; the
 * program (emit-regions.ts) follows it, and the decoder reads the regions back as memory.
 */
import { PeriscopeError } from '../../common/errors.js';
import type { DwarfData } from '../../dwarf/dwarf-data.js';
import type { DwarfType } from '../../dwarf/types.js';
import { kindOf } from '../../goruntime/expr/index.js';
import type { CaptureLimits } from '../probe-spec.js';
import { REGION, round8 } from './record-layout.js';

/** The length of a region: fixed, or a count word (clamped) times an element size. */
export type RegionLength =
  | { readonly fixed: number }
  | { readonly countWord: number; readonly elemSize: number; readonly maxCount: number };

/** A guard on an interface's dynamic type: the u64 at `word` (inside `wordRegion` when set). */
export interface TypeGuard {
  readonly word: number;
  /** The region holding the word (it must have been read), for an itab's type word. */
  readonly wordRegion?: number;
  /** Read when the word is this descriptor (an offset from runtime.types)… */
  readonly is?: number;
  /** …or when it is none of these and not 0. */
  readonly isNot?: readonly number[];
}

/** One region of target memory to copy into the record. */
export interface RegionPlan {
  /** Record offset of the region's header (REGION). */
  readonly off: number;
  /** Bytes reserved for the data. */
  readonly max: number;
  /** Record offset of the u64 pointer to read from. */
  readonly ptrWord: number;
  /** Added to the pointer (e.g. the type field's offset in an itab). */
  readonly add: number;
  readonly length: RegionLength;
  /** Read only if region `region` was read with at least `minLength` bytes. */
  readonly after?: { readonly region: number; readonly minLength: number };
  readonly type?: TypeGuard;
}

/** What must hold for reads from a value's own bytes: its region was read, its dynamic type matched. */
export interface Gate {
  readonly after?: RegionPlan['after'];
  readonly type?: TypeGuard;
}

/** Dynamic types of interfaces whose values are worth copying (their message or text is data). */
const INTERESTING_DYNAMIC = ['string', '*errors.errorString', '*fmt.wrapError', '*fmt.wrapErrors'];
/** Bytes copied behind an interface's data word when its dynamic type is none of those. */
const DYNAMIC_PREFIX = 32;
/**
 * Interfaces inside interfaces whose dynamic values are planned: `*fmt.wrapError` holds an
 * `error` that may be a `*fmt.wrapError`, and each level restarts at depth 0, so without a
 * bound an error capture planned wrappers until the record budget refused it (any binary
 * that links fmt's %w, e.g. every net/http server). One level is enough for the text: a
 * wrapper's `msg` already holds the whole message; an inner error shows as a prefix.
 */
const MAX_IFACE_NESTING = 1;
/** Bytes of record one event may use. */
export const MAX_RECORD_BYTES = 16 * 1024;

const COMPOSITE = new Set(['array', 'slice', 'struct', 'map']);

/** Lays out regions from a record offset on, within the record budget. */
export class RegionPlanner {
  readonly regions: RegionPlan[] = [];
  private readonly dynamic: { t: DwarfType; descriptor: number }[];
  /** Interfaces being planned around the current value. */
  private nesting = 0;

  constructor(
    private readonly dwarf: DwarfData,
    private readonly limits: CaptureLimits,
    /** The next free record offset. */
    public cursor: number,
    private readonly what: string,
  ) {
    this.dynamic = [];
    for (const name of INTERESTING_DYNAMIC) {
      const t = dwarf.findType(name);
      const d = t ? dwarf.runtimeAddressOf(t) : undefined;
      if (t && d !== undefined) this.dynamic.push({ t, descriptor: d });
    }
  }

  /** Plans the reads for a value of type `t` whose bytes are at record offset `at`. */
  value(t: DwarfType, at: number, depth: number, gate: Gate = {}): void {
    const d = this.dwarf;
    const kind = kindOf(d, t);
    const u = d.underlying(t);
    if (COMPOSITE.has(kind) && depth > this.limits.maxDepth) return;
    const size = (x: DwarfType) => x.byteSize ?? d.underlying(x).byteSize ?? 0;
    const field = (name: string) => u.fields?.find((f) => f.name === name);
    switch (kind) {
      case 'string': {
        if (this.limits.maxString === 0) return;
        const len = {
          countWord: at + (field('len')?.offset ?? 8),
          elemSize: 1,
          maxCount: this.limits.maxString,
        };
        this.region(at + (field('str')?.offset ?? 0), 0, len, gate);
        return;
      }
      case 'array': {
        const elem = u.elem === undefined ? undefined : d.typeAt(u.elem);
        if (!elem) return;
        const shown = Math.min(u.count ?? 0, this.limits.maxElements);
        for (let i = 0; i < shown; i++) this.value(elem, at + i * size(elem), depth + 1, gate);
        return;
      }
      case 'slice': {
        const arr = field('array');
        const elem = elemOfSlice(d, t);
        if (!arr || !elem || this.limits.maxElements === 0) return;
        const es = size(elem);
        const len = {
          countWord: at + (field('len')?.offset ?? 8),
          elemSize: es,
          maxCount: this.limits.maxElements,
        };
        const r = this.region(at + arr.offset, 0, len, gate);
        if (es > 0)
          for (let i = 0; i < this.limits.maxElements; i++)
            this.value(elem, r.off + REGION.bytes + i * es, depth + 1, {
              after: { region: r.off, minLength: (i + 1) * es },
            });
        return;
      }
      case 'struct':
        for (const f of u.fields ?? [])
          if (f.name !== '_' && f.type !== undefined)
            this.value(d.typeAt(f.type), at + f.offset, depth + 1, gate);
        return;
      case 'ptr': {
        const elem =
          u.elem === undefined ? (t.elem === undefined ? undefined : d.typeAt(t.elem)) : d.typeAt(u.elem);
        if (!elem || size(elem) === 0 || depth + 1 > this.limits.maxDepth) return;
        const r = this.region(at, 0, { fixed: size(elem) }, gate);
        this.value(elem, r.off + REGION.bytes, depth + 1, {
          after: { region: r.off, minLength: size(elem) },
        });
        return;
      }
      case 'func':
        this.region(at, 0, { fixed: 8 }, gate);
        return;
      case 'chan': {
        const hchan = u.elem === undefined ? undefined : d.underlying(d.typeAt(u.elem));
        if (hchan?.byteSize) this.region(at, 0, { fixed: hchan.byteSize }, gate);
        return;
      }
      case 'interface':
        this.iface(t, at, gate);
        return;
      default:
        return; // scalars (their bytes are in place) and maps (not copied: a marker says so)
    }
  }

  /**
   * An interface: its type word (through the itab for non-empty ones), then its dynamic value
   * for the interesting types (planned from depth 0: the error and string forms show their
   * text at any depth), else a prefix of what the data word points at.
   */
  private iface(t: DwarfType, at: number, gate: Gate): void {
    const d = this.dwarf;
    const u = d.underlying(t);
    const data = at + (u.fields?.find((f) => f.name === 'data')?.offset ?? 8);
    const eType = u.fields?.find((f) => f.name === '_type');
    let word: { word: number; wordRegion?: number };
    if (eType) word = { word: at + eType.offset };
    else {
      const tab = u.fields?.find((f) => f.name === 'tab');
      const itab = d.findType('runtime.itab') ?? d.findType('internal/abi.ITab');
      const tf = itab && d.underlying(itab).fields?.find((f) => f.name === '_type' || f.name === 'Type');
      const r = this.region(at + (tab?.offset ?? 0), tf?.offset ?? 8, { fixed: 8 }, gate);
      word = { word: r.off + REGION.bytes, wordRegion: r.off };
    }
    const dynamic = this.nesting < MAX_IFACE_NESTING ? this.dynamic : [];
    this.nesting++;
    try {
      for (const c of dynamic) {
        const guarded: Gate = { after: gate.after, type: { ...word, is: c.descriptor } };
        if (isDirect(d, c.t)) this.value(c.t, data, 0, guarded);
        else {
          const n = c.t.byteSize ?? 0;
          const r = this.region(data, 0, { fixed: n }, guarded);
          this.value(c.t, r.off + REGION.bytes, 0, { after: { region: r.off, minLength: n } });
        }
      }
    } finally {
      this.nesting--;
    }
    const isNot = dynamic.map((c) => c.descriptor);
    this.region(data, 0, { fixed: DYNAMIC_PREFIX }, { after: gate.after, type: { ...word, isNot } });
  }

  /** Adds a region; a refusal when the record would outgrow its budget. */
  private region(ptrWord: number, add: number, length: RegionLength, gate: Gate): RegionPlan {
    const max = 'fixed' in length ? length.fixed : length.elemSize * length.maxCount;
    const r: RegionPlan = { off: this.cursor, max, ptrWord, add, length, after: gate.after, type: gate.type };
    this.cursor += REGION.bytes + round8(max);
    if (this.cursor > MAX_RECORD_BYTES)
      throw new PeriscopeError(
        'unsupported',
        `capturing ${this.what} needs more than ${MAX_RECORD_BYTES} bytes per event: capture fewer or smaller values (a field rather than the whole struct), or lower limits (maxDepth, maxElements, maxString)`,
      );
    this.regions.push(r);
    return r;
  }
}

/** The element type of a slice type (through its array field's pointer when DWARF gives no elem). */
function elemOfSlice(d: DwarfData, t: DwarfType): DwarfType | undefined {
  const u = d.underlying(t);
  const e = t.elem ?? u.elem;
  if (e !== undefined) return d.typeAt(e);
  const arr = u.fields?.find((f) => f.name === 'array');
  const p = arr?.type === undefined ? undefined : d.typeAt(arr.type);
  return p?.elem === undefined ? undefined : d.typeAt(p.elem);
}

/** Whether values of `t` sit in an interface's data word itself (pointer-shaped types). */
function isDirect(d: DwarfData, t: DwarfType): boolean {
  const k = kindOf(d, t);
  return k === 'ptr' || k === 'map' || k === 'chan' || k === 'func' || k === 'unsafe.Pointer';
}
