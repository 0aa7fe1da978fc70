/**
 * A ProbeSpec compiled for one binary: its sites (entry after the stack check and every
 * inlined copy, or every RET, or a line's statement starts; plus the entry/return pairs a
 * duration needs), each capture and the condition checked against the DWARF scope at every
 * site and compiled there, the record layout, and a program generator per site for a given
 * process (map fds, load bias). What cannot run in a probe is refused here, with the reason:
 * a syntax or type error, an operation BPF cannot do, a value too large, a capture available
 * at no site, a condition unavailable at some site. A capture unavailable at only some sites
 * (optimized out there) stays, and its events at those sites carry the reason.
 */
import { PeriscopeError } from '../../common/errors.js';
import type { DwarfType } from '../../dwarf/types.js';
import type { GoBinary } from '../../gobinary/go-binary.js';
import { stypeName } from '../../goruntime/expr/index.js';
import type { SiteIdSource } from '../event-program.js';
import { type CaptureLimits, captureLimits, type ProbeSpec, validateProbeSpec } from '../probe-spec.js';
import type { ProbeSite } from '../sites/site.js';
import { captureType, checkAtSite } from './check-at-site.js';
import type { StackMode } from './emit-extras.js';
import { type CaptureSlot, emitSiteProgram, type SiteCapture, type SiteExpr } from './emit-program.js';
import { Emitter, Refusal } from './emitter.js';
import { ExprCompiler, SiteUnavailable } from './expr-values.js';
import type { ProbeMapFds } from './probe-maps.js';
import { probeSites } from './probe-sites.js';
import { HEADER_BYTES, REGION, round8, SLOT } from './record-layout.js';
import { type SiteFrame, siteFrame } from './site-frame.js';
import { type RegionPlan, RegionPlanner } from './value-plan.js';

/** A capture's place in every event of the probe. */
export interface CaptureLayout {
  readonly source: string;
  readonly type: DwarfType;
  readonly slot: CaptureSlot;
}

/** The labels' place in the record: the g.labels word, the list's header and elements, each pair's strings. */
export interface LabelsLayout {
  readonly off: number;
  readonly regions: readonly RegionPlan[];
  /** The region of the list's elements. */
  readonly elements: RegionPlan;
  /** The regions of each element's key and value. */
  readonly pairs: readonly { readonly key: RegionPlan; readonly value: RegionPlan }[];
  /** The record offset after the labels. */
  readonly end: number;
}

/** One site of a compiled probe. */
export interface CompiledSite {
  readonly site: ProbeSite;
  readonly frame: SiteFrame;
  /** Evaluates the condition and emits (false: only times calls for the duration). */
  readonly main: boolean;
  readonly timestamp: boolean;
  readonly duration: boolean;
  readonly condition?: SiteExpr;
  readonly captures: readonly SiteCapture[];
  readonly stackMode: StackMode;
}

/** A probe ready to be attached to processes running its binary. */
export interface CompiledProbe {
  readonly spec: ProbeSpec;
  readonly bin: GoBinary;
  readonly limits: CaptureLimits;
  readonly sites: readonly CompiledSite[];
  readonly captures: readonly CaptureLayout[];
  readonly labels: LabelsLayout | undefined;
  /** Bytes of each event; 0 for a probe that only counts (and times). */
  readonly recordBytes: number;
  /** Why captures are unavailable at some sites (SiteCapture.unavailable indexes this). */
  readonly reasons: readonly string[];
  /** Things the user should know (inlined copies without returns, tail calls, …). */
  readonly notes: readonly string[];
  /** Link-time address of runtime.types. */
  readonly typesBase: number;
  /** The BPF program of site `i` for a process, as probe number `probe` of its set. */
  program(i: number, probe: number, siteId: SiteIdSource, maps: ProbeMapFds, bias: number): Uint8Array;
}

const DUMMY_MAPS: ProbeMapFds = {
  ring: { fd: 0 },
  hotBytes: 1 << 20,
  overflow: { fd: 0 },
  stats: { fd: 0 },
  histogram: { fd: 0 },
  starts: { fd: 0 },
  rate: { fd: 0 },
  stacks: { fd: 0 },
  stackFrames: 32,
};

/** How a probe is compiled besides its spec. */
export interface CompileOptions {
  /**
   * Return sites on the emulated instructions that lead to each RET where there are some
   * (default), or on every RET: tracefs cannot test a Jcc's flags before it records.
   */
  readonly returnSites?: 'emulated' | 'ret';
}

/** Compiles `spec` for `bin`; a PeriscopeError ('unsupported', 'no-such-symbol', 'bad-spec') says why not. */
export function compileProbe(bin: GoBinary, spec: ProbeSpec, options: CompileOptions = {}): CompiledProbe {
  validateProbeSpec(spec);
  const refuse = (msg: string): never => {
    throw new PeriscopeError('unsupported', `probe ${spec.name}: ${msg}`);
  };
  const dwarf = bin.requireDwarf(`probe ${spec.name}`);
  const limits = captureLimits(spec);
  const types = bin.elf.symbol('runtime.types') ?? bin.elf.symbol('type:*');
  if (!types) return refuse('the binary has no runtime.types symbol (built with -ldflags=-s?)');
  const layout = bin.runtimeLayout();
  const placed = probeSites(bin, spec, options.returnSites ?? 'emulated');
  const sources = spec.captures ?? [];
  const reasons: string[] = [];
  const reasonOf = (r: string): number => {
    const i = reasons.indexOf(r);
    return i >= 0 ? i : reasons.push(r) - 1;
  };
  // Check and trial-compile every expression at every main site.
  const types0: (DwarfType | undefined)[] = sources.map(() => undefined);
  const perSite = placed.sites.map((p) => {
    const frame = siteFrame(bin, p.site);
    const env = { bin, dwarf, frame, bindings: new Map(), consts: new Map(), typesBase: types.value };
    const check = (src: string, what: string): SiteExpr & { type: DwarfType } => {
      const c = checkAtSite(bin, dwarf, p.scopeFunction, src, frame.pc, p.site.kind === 'return');
      if (!c.ok) return refuse(`${what} ${JSON.stringify(src)}: ${c.message}`);
      const t =
        c.constant && what === 'capture'
          ? `it is a constant (${stypeName(c.type)}): nothing to capture`
          : captureType(dwarf, c.type);
      if (typeof t === 'string') return refuse(`${what} ${JSON.stringify(src)} cannot be captured: ${t}`);
      return { ast: c.ast, bindings: c.bindings, consts: c.consts, type: t };
    };
    const trial = (x: SiteExpr, what: string, src: string): string | undefined => {
      try {
        new ExprCompiler(new Emitter(0), { ...env, bindings: x.bindings, consts: x.consts }).value(x.ast);
        return undefined;
      } catch (e) {
        if (e instanceof SiteUnavailable) return e.message;
        if (e instanceof Refusal) return refuse(`${what} ${JSON.stringify(src)}: ${e.message}`);
        throw e;
      }
    };
    let condition: SiteExpr | undefined;
    const captures: ({ expr: SiteExpr } | { unavailable: string })[] = [];
    if (p.main) {
      if (spec.condition !== undefined) {
        condition = check(spec.condition, 'condition');
        const why = trial(condition, 'condition', spec.condition);
        if (why) refuse(`the condition cannot be evaluated at ${siteText(p.site)}: ${why}`);
      }
      sources.forEach((src, i) => {
        const x = check(src, 'capture');
        const prev = types0[i];
        if (prev && prev.offset !== x.type.offset && prev.name !== x.type.name)
          refuse(
            `capture ${JSON.stringify(src)} has type ${x.type.name} at one site and ${prev.name} at another`,
          );
        types0[i] = prev ?? x.type;
        const why = trial(x, 'capture', src);
        captures.push(why === undefined ? { expr: x } : { unavailable: why });
      });
    }
    return { placed: p, frame, condition, captures };
  });
  // Layout: header, then each capture's slot and regions, then the labels.
  let cursor = HEADER_BYTES;
  const captures: CaptureLayout[] = sources.map((src, i) => {
    const mains = perSite.filter((s) => s.placed.main);
    const t = types0[i];
    if (!t || mains.every((s) => 'unavailable' in s.captures[i]!)) {
      const why = mains.map((s) => (s.captures[i] as { unavailable?: string })?.unavailable).find(Boolean);
      return refuse(`capture ${JSON.stringify(src)} is available at none of its sites: ${why ?? 'no site'}`);
    }
    const size = t.byteSize ?? dwarf.underlying(t).byteSize ?? 0;
    const off = cursor;
    const planner = new RegionPlanner(dwarf, limits, off + SLOT.bytes + round8(size), JSON.stringify(src));
    planner.value(t, off + SLOT.bytes, 0);
    cursor = planner.cursor;
    return { source: src, type: t, slot: { source: src, off, size, regions: planner.regions } };
  });
  let labels: LabelsLayout | undefined;
  if (spec.labels) {
    const l = layout.labels;
    if (l.kind !== 'list')
      refuse(
        `labels cannot be read by a probe of this binary: ${l.kind === 'absent' ? l.reason : 'its Go release keeps them in a map'}`,
      );
    labels = labelsLayout(cursor, l as Extract<typeof l, { kind: 'list' }>, limits);
    cursor = labels.end;
  }
  const emits = sources.length > 0 || (spec.stackFrames ?? 0) > 0 || spec.labels === true;
  const recordBytes = emits ? round8(cursor) : 0;
  const rate = spec.rateLimit && {
    intervalNs: Math.max(1, Math.round(1e9 / spec.rateLimit.perSecond)),
    burst: spec.rateLimit.burst ?? Math.max(1, Math.min(1e6, Math.round(spec.rateLimit.perSecond))),
  };
  const sites: CompiledSite[] = perSite.map((s) => ({
    site: s.placed.site,
    frame: s.frame,
    main: s.placed.main,
    timestamp: s.placed.timestamp,
    duration: s.placed.duration,
    condition: s.condition,
    captures: s.captures.map((c, i) =>
      'expr' in c
        ? { slot: captures[i]!.slot, expr: c.expr }
        : { slot: captures[i]!.slot, unavailable: reasonOf(c.unavailable) },
    ),
    stackMode: stackMode(s.placed.site, s.frame),
  }));
  const g = layout.gOffsets;
  const program = (i: number, probe: number, siteId: SiteIdSource, maps: ProbeMapFds, bias: number) => {
    const s = sites[i]!;
    return emitSiteProgram(
      {
        probe,
        env: { bin, dwarf, frame: s.frame, bindings: new Map(), consts: new Map(), typesBase: types.value },
        siteId,
        timestamp: s.timestamp,
        duration: s.duration,
        main: s.main,
        condition: s.condition,
        rate,
        captures: s.captures,
        labels: labels && { off: labels.off, regions: labels.regions },
        stack: spec.stackFrames ? { frames: spec.stackFrames, mode: s.stackMode } : undefined,
        recordBytes,
        goidOffset: g.goid,
        stackHiOffset: g.stackHi,
        labelsOffset: g.labels,
      },
      maps,
      bias,
    );
  };
  // Generate every program once: what only shows when it is all put together (the stack) is refused now.
  sites.forEach((_, i) => {
    try {
      program(i, 0, { kind: 'cookie' }, DUMMY_MAPS, 0);
    } catch (e) {
      if (e instanceof Refusal) refuse(e.message);
      throw e;
    }
  });
  return {
    spec,
    bin,
    limits,
    sites,
    captures,
    labels,
    recordBytes,
    reasons,
    notes: placed.notes,
    typesBase: types.value,
    program,
  };
}

/** Regions for pprof labels kept as a list of key/value string pairs (Go 1.24+). */
function labelsLayout(
  off: number,
  l: { listOffset: number; elemSize: number; keyOffset: number; valueOffset: number },
  limits: CaptureLimits,
): LabelsLayout {
  let at = off + SLOT.bytes + 8;
  const regions: RegionPlan[] = [];
  const region = (r: Omit<RegionPlan, 'off' | 'max'> & { max: number }): RegionPlan => {
    const plan = { ...r, off: at };
    at += REGION.bytes + round8(r.max);
    regions.push(plan);
    return plan;
  };
  const list = region({ ptrWord: off + SLOT.bytes, add: l.listOffset, length: { fixed: 24 }, max: 24 });
  const n = limits.maxElements;
  const elements = region({
    ptrWord: list.off + REGION.bytes,
    add: 0,
    length: { countWord: list.off + REGION.bytes + 8, elemSize: l.elemSize, maxCount: n },
    max: n * l.elemSize,
    after: { region: list.off, minLength: 24 },
  });
  const pairs: LabelsLayout['pairs'][number][] = [];
  for (let i = 0; i < n; i++) {
    const str = (field: number) => {
      const word = elements.off + REGION.bytes + i * l.elemSize + field;
      return region({
        ptrWord: word,
        add: 0,
        length: { countWord: word + 8, elemSize: 1, maxCount: limits.maxString },
        max: limits.maxString,
        after: { region: elements.off, minLength: (i + 1) * l.elemSize },
      });
    };
    pairs.push({ key: str(l.keyOffset), value: str(l.valueOffset) });
  }
  return { off, regions, elements, pairs, end: at };
}

function siteText(s: ProbeSite): string {
  return `${s.kind} site ${s.function} 0x${s.address.toString(16)}${s.line ? ` (line ${s.line})` : ''}`;
}

function stackMode(site: ProbeSite, frame: SiteFrame): StackMode {
  if (site.via) return site.via.ownFrame ? 'own' : 'caller';
  if (site.kind === 'entry' || site.kind === 'return') return 'caller';
  return frame.spDelta > 8 ? 'own' : 'caller';
}
