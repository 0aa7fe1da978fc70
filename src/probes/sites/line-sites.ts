/**
 * `file:line` sites: the line table's statement addresses (is_stmt rows) of that line, in
 * every function whose code holds one, inlined copies included (their rows name the inlined
 * function's file and line). So that one execution of the line fires once:
 * - a row at a function's first instruction (its `func` line) moves past the stack-growth
 *   check, like an entry site;
 * - rows inside the block the check jumps to (it runs only when the stack grows) are dropped;
 * - a row that only continues the same line (the instruction before it is of the same line
 *   and falls through into it, and nothing jumps to it) is dropped: Go marks such rows, e.g.
 *   the prologue_end row of the `func` line.
 * A line the compiler laid out in several places (loops, branches) keeps one site per place.
 */
import { hex } from '../../common/address.js';
import { PeriscopeError } from '../../common/errors.js';
import type { GoBinary } from '../../gobinary/go-binary.js';
import { instructionKind } from '../x86/classify.js';
import { type FunctionCode, functionCode, goFunctionAt } from './function-code.js';
import { type ProbeSite, siteAt } from './site.js';

/** The sites of `file:line` (file may be a path suffix, e.g. `main.go` or `pkg/x/y.go`). */
export function lineSites(bin: GoBinary, file: string, line: number): ProbeSite[] {
  const pcs = bin.lines.pcsForLine(file, line);
  if (pcs.length === 0)
    throw new PeriscopeError(
      'no-such-symbol',
      `${file}:${line} has no statement in ${bin.path} (no code, or a file name that matches no compiled file)`,
    );
  const out: ProbeSite[] = [];
  const seen = new Set<number>();
  for (const pc of pcs) {
    const fn = goFunctionAt(bin, pc);
    const code = functionCode(bin, fn);
    let i = code.indexOf.get(pc);
    if (i === undefined)
      throw new PeriscopeError(
        'corrupt',
        `the line table puts ${file}:${line} at ${hex(pc)}, inside an instruction of ${fn.name}`,
      );
    const block = code.morestackBlock;
    if (block && pc >= block.start && pc < block.end) continue;
    if (i === 0 && code.bodyStart !== undefined) i = code.bodyStart;
    else if (i > 0 && continuesSameLine(bin, code, i)) continue;
    const p = code.instructions[i]!;
    if (seen.has(p.address)) continue;
    seen.add(p.address);
    const row = bin.lines.lineForPC(pc);
    out.push(
      siteAt(bin, p, {
        kind: 'line',
        function: bin.symtab.pcln.funcForPC(p.address)?.name ?? fn.name,
        host: fn.name,
        file: row?.file ?? file,
        line,
      }),
    );
  }
  return out;
}

/** Whether instruction i only continues the line of the instruction before it (see the file comment). */
function continuesSameLine(bin: GoBinary, code: FunctionCode, i: number): boolean {
  const prev = code.instructions[i - 1]!;
  const here = code.instructions[i]!;
  const k = instructionKind(prev.insn);
  if (k === 'jmp' || k === 'ret' || k === 'int3') return false;
  if (code.branches.some((b) => b.to === here.address)) return false;
  const a = bin.lines.lineForPC(prev.address);
  const b = bin.lines.lineForPC(here.address);
  return a !== undefined && b !== undefined && a.file === b.file && a.line === b.line;
}
