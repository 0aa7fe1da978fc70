/** A spec's probe entry as the probe compiler takes it, and what keeps it from compiling for a binary. */
import { describeError } from '../common/errors.js';
import type { GoBinary } from '../gobinary/go-binary.js';
import { compileProbe } from '../probes/compile/compile-probe.js';
import type { ProbeSpec } from '../probes/probe-spec.js';
import type { CaptureError } from '../snapshot/snapshot-types.js';
import { probeSiteText } from '../spec/probe-parse.js';
import type { ProbeEntry } from '../spec/spec-types.js';

/** A spec's probe as the compiler takes it (the agent's default rate limit for probes that emit). */
export function probeSpecOf(p: ProbeEntry, defaultRate: number): ProbeSpec {
  const captures = [...new Set(p.capture.map((c) => c.expr))];
  const emits = captures.length > 0 || p.stack > 0 || p.labels;
  const rate = p.rateLimit ?? (emits ? { perSecond: defaultRate } : undefined);
  return {
    name: p.name,
    at: p.site,
    captures,
    ...(p.condition ? { condition: p.condition.expr } : {}),
    ...(rate ? { rateLimit: rate } : {}),
    duration: p.duration,
    stackFrames: p.stack,
    labels: p.labels,
    ...(p.limits ? { limits: p.limits } : {}),
  };
}

/**
 * What keeps probe `p` from running on `bin` (the agents' check of a new spec): its function
 * missing, an expression that does not fit, something BPF cannot do; each at its place in
 * the spec. Empty when it compiles.
 */
export function probeProblems(bin: GoBinary, p: ProbeEntry, defaultRate: number): CaptureError[] {
  try {
    compileProbe(bin, probeSpecOf(p, defaultRate));
    return [];
  } catch (e) {
    let msg = describeError(e).replace(`probe ${p.name}: `, '');
    const fn = `probe ${p.name} at ${probeSiteText(p.site)}`;
    for (const c of p.capture) {
      const quoted = JSON.stringify(c.expr);
      if (!msg.includes(quoted)) continue;
      msg = msg.replace(`capture ${quoted}: `, '').replace(`capture ${quoted} `, '');
      const at = c.exprAt ?? c.at;
      return [
        { function: fn, table: p.name, column: c.column, expr: c.expr, ...(at ? { at } : {}), message: msg },
      ];
    }
    if (p.condition && /condition/.test(msg)) {
      msg = msg.replace(`condition ${JSON.stringify(p.condition.expr)}: `, '');
      const at = p.condition.exprAt ?? p.condition.at;
      return [
        {
          function: fn,
          table: p.name,
          column: 'condition',
          expr: p.condition.expr,
          ...(at ? { at } : {}),
          message: msg,
        },
      ];
    }
    return [{ function: fn, table: p.name, ...(p.at ? { at: p.at } : {}), message: msg }];
  }
}
