/**
 * The sites of a probe and what each does: a function's entry (after its stack check) and
 * every inlined copy, or every RET, or a line's statement starts, or a function's calls of
 * another; a probe with durations
 * also gets the other half of each entry/return pair (entry sites store the time, RET sites
 * measure). Inlined copies have no RET: they are not timed, and the notes say so.
 */
import { PeriscopeError } from '../../common/errors.js';
import type { GoBinary } from '../../gobinary/go-binary.js';
import { inlineChainAt } from '../../goruntime/expr/index.js';
import type { ProbeSpec } from '../probe-spec.js';
import { callSites } from '../sites/call-sites.js';
import { functionCode, goFunction } from '../sites/function-code.js';
import { type FunctionSites, functionSites } from '../sites/function-sites.js';
import { inlinedSites } from '../sites/inlined-sites.js';
import { lineSites } from '../sites/line-sites.js';
import { returnPlans } from '../sites/return-sites.js';
import { type ProbeSite, siteAt } from '../sites/site.js';

/** A site and its roles in the probe. */
export interface PlacedSite {
  readonly site: ProbeSite;
  /** The function whose variables expressions name here (an inlined copy's own). */
  readonly scopeFunction: string;
  /** Evaluates condition and captures and emits. */
  readonly main: boolean;
  readonly timestamp: boolean;
  readonly duration: boolean;
}

/** The sites of `spec` in `bin`, and notes for the user. */
export function probeSites(
  bin: GoBinary,
  spec: ProbeSpec,
  returnSites: 'emulated' | 'ret' = 'emulated',
): { sites: PlacedSite[]; notes: string[] } {
  const at = spec.at;
  const notes: string[] = [];
  const out: PlacedSite[] = [];
  if (at.kind === 'call') {
    // The expressions name the callee's arguments (compile/site-frame.ts).
    for (const site of callSites(bin, at.function, at.callee))
      out.push({ site, scopeFunction: at.callee, main: true, timestamp: false, duration: false });
    return { sites: out, notes };
  }
  if (at.kind === 'line') {
    const dwarf = bin.requireDwarf(`probe ${spec.name}`);
    for (const site of lineSites(bin, at.file, at.line)) {
      const outer = dwarf.functionAt(site.address);
      const chain = outer ? inlineChainAt(outer.inlined, site.address) : [];
      const scopeFunction = chain.at(-1)?.name ?? site.function;
      out.push({ site, scopeFunction, main: true, timestamp: false, duration: false });
    }
    return { sites: out, notes };
  }
  const name = at.function;
  const own = bin.symtab.pcln.funcByName(name) ? functionSites(bin, name) : undefined;
  const inlined = at.kind === 'entry' ? inlinedSites(bin, name) : [];
  if (!own && inlined.length === 0)
    throw new PeriscopeError(
      'no-such-symbol',
      `probe ${spec.name}: ${bin.path} has no function ${name} (names are fully qualified, e.g. main.handle or main.(*Server).Serve)`,
    );
  const timed = spec.duration === true;
  if (timed && !own)
    throw new PeriscopeError(
      'unsupported',
      `probe ${spec.name}: ${name} exists only inlined, and an inlined copy has no return to time`,
    );
  if (at.kind === 'entry') {
    if (own)
      out.push({ site: own.entry, scopeFunction: name, main: true, timestamp: timed, duration: false });
    for (const site of inlined)
      out.push({ site, scopeFunction: name, main: true, timestamp: false, duration: false });
    if (timed)
      for (const site of returnsOf(bin, own!, spec, returnSites, notes))
        out.push({ site, scopeFunction: name, main: false, timestamp: false, duration: true });
    if (inlined.length > 0 && timed)
      notes.push(
        `${inlined.length} inlined copies of ${name} are probed but not timed (they have no return)`,
      );
  } else {
    if (!own)
      throw new PeriscopeError(
        'unsupported',
        `probe ${spec.name}: ${name} exists only inlined: it has no return to probe`,
      );
    for (const site of returnsOf(bin, own, spec, returnSites, notes))
      out.push({ site, scopeFunction: name, main: true, timestamp: false, duration: timed });
    if (timed)
      out.push({ site: own.entry, scopeFunction: name, main: false, timestamp: true, duration: false });
  }
  if (own && own.tailJumps.length > 0 && (timed || at.kind === 'return'))
    notes.push(`${name} also leaves by ${own.tailJumps.length} tail jump(s), which no return probe sees`);
  if (own?.entry.note) notes.push(`${name}: ${own.entry.note}`);
  const deep = inlined.filter((s) => s.note);
  if (deep.length > 0) notes.push(...deep.map((s) => `${s.host}: ${s.note}`));
  return { sites: out, notes };
}

function returnsOf(
  bin: GoBinary,
  fs: FunctionSites,
  spec: ProbeSpec,
  how: 'emulated' | 'ret',
  notes: string[],
): readonly ProbeSite[] {
  if (fs.returns.length === 0)
    throw new PeriscopeError(
      'unsupported',
      `probe ${spec.name}: ${fs.function} has no RET instruction (it never returns, or only by tail calls)`,
    );
  if (how === 'ret') return fs.returns;
  const role = { kind: 'return', function: fs.function, host: fs.function } as const;
  const plans = returnPlans(bin, functionCode(bin, goFunction(bin, fs.function)));
  const stepped = plans.filter((p) => p.kind === 'ret').length;
  if (stepped > 0 && !notes.some((n) => n.startsWith(`${fs.function}: `)))
    notes.push(
      `${fs.function}: ${stepped} of its ${plans.length} RETs probed at the RET (single-stepped: no emulated instruction leads only to it)`,
    );
  return plans.flatMap((p) =>
    p.kind === 'ret'
      ? [siteAt(bin, p.at, role)]
      : p.sites.map((s) => ({ ...siteAt(bin, s.at, role), via: s.via })),
  );
}
