/**
 * A compiled probe as tracefs `uprobe_events` definitions, for machines where eBPF is not
 * allowed. tracefs fetch arguments read registers and memory at fixed places and cannot
 * branch: what translates is a capture of an integer, bool or string that names a variable,
 * its fields or what its pointers point to (tracefs-path.ts), wherever DWARF puts it at the
 * site (registers, the frame, in pieces, the heap). Conditions, durations, stacks and labels change what a probe means and are
 * refused; other captures are reported as unavailable in each event, with the reason.
 */
import { PeriscopeError } from '../../common/errors.js';
import type { DwarfType } from '../../dwarf/types.js';
import { type GoValue, type Redactor, redactedMark } from '../../goruntime/values/index.js';
import type { CompiledProbe, CompiledSite } from '../compile/compile-probe.js';
import { fetchAt, tracefsPath } from './tracefs-path.js';

/** How a capture's fetch arguments decode into a value. */
export type TracefsCaptureKind = 'int' | 'uint' | 'bool' | 'string';

/**
 * Per capture at a site: how to decode it (and how many pointers it follows, fetched as
 * `cNpK`: one of them nil, the capture is a nil pointer dereference), its redaction (never
 * fetched), or why it is unavailable.
 */
export type TracefsCapture =
  | { readonly kind: TracefsCaptureKind; readonly pointers: number }
  | { readonly redacted: GoValue }
  | { readonly unavailable: string };

/** One site's definition: where, and the fetch arguments after the goroutine id. */
export interface TracefsSiteDef {
  readonly fileOffset: number;
  /** `cN=…` (and for strings `cNl=…` the length) per capture that translates at this site. */
  readonly args: readonly string[];
  /** Per capture: its kind here, or why it is unavailable here. */
  readonly captures: readonly TracefsCapture[];
}

/** Bytes of a string fetched: tracefs arrays hold at most 64 elements. */
export const TRACEFS_MAX_STRING = 64;
/** tracefs refuses a fetch argument longer than this. */
const MAX_ARG_CHARS = 63;

function kindOf(t: DwarfType): TracefsCaptureKind | undefined {
  if (t.kind === 'string' && t.byteSize === 16) return 'string';
  if (t.encoding === 'boolean' && t.byteSize === 1) return 'bool';
  if (t.encoding === 'signed' && [1, 2, 4, 8].includes(t.byteSize ?? 0)) return 'int';
  if (t.encoding === 'unsigned' && [1, 2, 4, 8].includes(t.byteSize ?? 0)) return 'uint';
  return undefined;
}

/** The fetch arguments of capture `i` at `site`, or why there are none. */
function captureArgs(
  probe: CompiledProbe,
  site: CompiledSite,
  i: number,
  redactor: Redactor | undefined,
):
  | { args: string[]; kind: TracefsCaptureKind; pointers: number }
  | { redacted: GoValue }
  | { unavailable: string } {
  const c = site.captures[i];
  const source = probe.captures[i]?.source ?? '?';
  if (!c) return { unavailable: `${source} is not at this site` };
  if ('unavailable' in c) return { unavailable: probe.reasons[c.unavailable] ?? 'unavailable here' };
  const dwarf = probe.bin.requireDwarf('tracefs probes');
  const path = tracefsPath(dwarf, site.frame, c.expr, source);
  if ('unavailable' in path) return path;
  let t = path.type;
  for (let n = 0; t.tagName === 'typedef' && t.type !== undefined && n < 8; n++) t = dwarf.typeAt(t.type);
  const rule =
    path.names.map((n) => redactor?.byName(n)).find((r) => r !== undefined) ??
    path.typeNames.map((n) => redactor?.byType(n)).find((r) => r !== undefined);
  if (rule !== undefined) return { redacted: redactedMark(rule, path.type.name) };
  const kind = kindOf(t);
  if (!kind)
    return {
      unavailable: `tracefs can only capture integers, bools and strings; ${source} is ${t.name ?? t.kind}`,
    };
  const size = t.byteSize ?? 8;
  const at = (offset: number, n: number) => fetchAt(path.place, offset, n, site.frame.spDelta);
  const cant = { unavailable: `${source}: its location at this site cannot be read by tracefs` };
  const args = path.pointers.map((p, k) => `c${i}p${k}=${p}:x64`);
  if (kind === 'string') {
    const ptr = at(0, 8);
    const len = at(8, 8);
    if (!ptr || !len) return cant;
    const n = Math.min(probe.limits.maxString, TRACEFS_MAX_STRING);
    // `+0(%ax)` reads at the address in ax; `+0(+8(%sp))` at the address stored there.
    args.push(`c${i}=+0(${ptr}):u8[${Math.max(1, n)}]`, `c${i}l=${len}:s64`);
  } else {
    const p = at(0, size);
    if (!p) return cant;
    args.push(`c${i}=${p}:${kind === 'int' ? 's' : 'u'}${size * 8}`);
  }
  if (args.some((a) => a.length - a.indexOf('=') - 1 > MAX_ARG_CHARS)) return cant;
  return { args, kind, pointers: path.pointers.length };
}

/** What tracefs cannot do of `probe` as a whole (undefined: it can run there). */
export function tracefsRefusal(probe: CompiledProbe): string | undefined {
  const s = probe.spec;
  const no = [
    s.condition ? 'conditions' : '',
    s.duration ? 'durations' : '',
    s.stackFrames ? 'stacks' : '',
    s.labels ? 'labels' : '',
  ].filter(Boolean);
  // A return site moved before its RET may sit on a Jcc that fires both ways; only eBPF tests the flags.
  if (probe.sites.some((x) => x.site.via))
    return 'internal: this probe was compiled with return sites before their RETs; for tracefs compile it with returnSites "ret"';
  if (no.length === 0) return undefined;
  return `probes run on tracefs uprobe_events here (no eBPF), which has no ${no.join(', ')}: remove them from the probe or run the agent where eBPF is allowed`;
}

/**
 * The tracefs definitions of `probe`'s main sites; a PeriscopeError when it cannot run on
 * tracefs. A capture naming a secret under `redactor` is not fetched: its value is the mark.
 */
export function tracefsDefinitions(probe: CompiledProbe, redactor?: Redactor): TracefsSiteDef[] {
  const refusal = tracefsRefusal(probe);
  if (refusal) throw new PeriscopeError('unsupported', `probe ${probe.spec.name}: ${refusal}`);
  return probe.sites
    .filter((s) => s.main)
    .map((site) => {
      const args: string[] = [];
      const captures = probe.captures.map((_, i) => {
        const r = captureArgs(probe, site, i, redactor);
        if (!('args' in r)) return r;
        args.push(...r.args);
        return { kind: r.kind, pointers: r.pointers };
      });
      return { fileOffset: Number(site.site.fileOffset), args, captures };
    });
}
