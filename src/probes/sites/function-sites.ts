/**
 * A function's entry and return sites.
 *
 * Entry: the first instruction after the stack-growth check. When the check fails, Go calls
 * runtime.morestack, which copies the stack and jumps back to the function's first
 * instruction: a probe there fires twice for that call, one after the check fires once.
 * There the compiler puts `PUSHQ BP` for every function with a frame, which the kernel
 * emulates. A function without a check (NOSPLIT) cannot be re-entered that way: its first
 * instruction is the entry.
 *
 * Returns: every RET of the function's code (never kernel uretprobes: they replace the return
 * address on the goroutine stack, which Go moves and inspects). RETs are single-stepped by
 * the kernel. A tail JMP out of the function (Go emits them in wrappers) leaves without RET;
 * such exits are listed so a caller pairing entries and returns knows.
 */
import { type LinkAddress, linkAddr } from '../../common/address.js';
import type { GoBinary } from '../../gobinary/go-binary.js';
import { instructionKind, isReturn } from '../x86/classify.js';
import { functionCode, goFunction } from './function-code.js';
import { type ProbeSite, siteAt } from './site.js';

/** The entry and return sites of one function. */
export interface FunctionSites {
  readonly function: string;
  readonly entry: ProbeSite;
  /** Whether the function checks for stack growth (the entry then follows the check). */
  readonly hasStackCheck: boolean;
  readonly returns: readonly ProbeSite[];
  /** Addresses of JMPs that leave the function's code (tail calls): exits without a RET. */
  readonly tailJumps: readonly LinkAddress[];
}

/** Chooses the entry and return sites of the Go function `name`. */
export function functionSites(bin: GoBinary, name: string): FunctionSites {
  const fn = goFunction(bin, name);
  const code = functionCode(bin, fn);
  const hasStackCheck = code.bodyStart !== undefined;
  const body = code.instructions[code.bodyStart ?? 0]!;
  const entry = siteAt(bin, body, {
    kind: 'entry',
    function: fn.name,
    host: fn.name,
    note: hasStackCheck ? undefined : 'no stack-growth check (NOSPLIT): the first instruction',
  });
  const returns: ProbeSite[] = [];
  for (const p of code.instructions)
    if (isReturn(p.insn)) returns.push(siteAt(bin, p, { kind: 'return', function: fn.name, host: fn.name }));
  const tailJumps: LinkAddress[] = [];
  for (const b of code.branches) {
    const i = code.indexOf.get(b.from)!;
    if (instructionKind(code.instructions[i]!.insn) === 'jmp' && (b.to < fn.entry || b.to >= fn.end))
      tailJumps.push(linkAddr(b.from));
  }
  return { function: fn.name, entry, hasStackCheck, returns, tailJumps };
}
