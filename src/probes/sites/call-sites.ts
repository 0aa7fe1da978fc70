/**
 * Call sites: every direct `CALL callee` in a function's machine code. The kernel emulates
 * CALL rel32, so a probe there costs a trap and no single step (unlike a `RET`), and it fires
 * once per call, before the callee runs, with the callee's arguments loaded as the register ABI
 * hands them over: a call site's `function` is the callee (whose arguments expressions name)
 * and its `host` the caller. A call site is how a probe reads a value the moment it is handed
 * on: e.g. the new goroutine `runtime.newproc`'s closure
 * passes to `runtime.runqput` once `runtime.newproc1` has given it its id.
 */
import { PeriscopeError } from '../../common/errors.js';
import type { GoBinary } from '../../gobinary/go-binary.js';
import { instructionKind } from '../x86/classify.js';
import { functionCode, goFunction } from './function-code.js';
import { type ProbeSite, siteAt } from './site.js';

/** The sites of every direct CALL to `callee` in the code of `host` (an error when there is none). */
export function callSites(bin: GoBinary, host: string, callee: string): ProbeSite[] {
  const fn = goFunction(bin, host);
  const target = goFunction(bin, callee);
  const code = functionCode(bin, fn);
  const out: ProbeSite[] = [];
  for (const b of code.branches) {
    if (b.to !== target.entry) continue;
    const p = code.instructions[code.indexOf.get(b.from)!]!;
    if (instructionKind(p.insn) !== 'call') continue;
    const block = code.morestackBlock;
    if (block && p.address >= block.start && p.address < block.end) continue;
    out.push(siteAt(bin, p, { kind: 'call', function: target.name, host: fn.name }));
  }
  if (out.length === 0)
    throw new PeriscopeError(
      'no-such-symbol',
      `${fn.name} has no direct call to ${target.name} in ${bin.path} (inlined, or another Go release lays it out differently)`,
    );
  return out;
}
