/**
 * The instructions of a range of machine code (one function), decoded from its first byte
 * to its end: the boundaries where a probe may sit.
 */
import { hex, type LinkAddress, linkAddr } from '../../common/address.js';
import { decodeInstruction, type Instruction, isFailure } from './decode.js';

/** One instruction at its link-time address. */
export interface PlacedInstruction {
  readonly address: LinkAddress;
  readonly insn: Instruction;
}

/** A decoded range: every instruction up to the end, or up to the first undecodable bytes. */
export interface DecodedCode {
  readonly start: LinkAddress;
  readonly end: LinkAddress;
  readonly instructions: readonly PlacedInstruction[];
  /** Where and why decoding stopped before the end, if it did. */
  readonly failure?: { readonly address: LinkAddress; readonly error: string };
}

/** Decodes `code` (the bytes of [start, start + code.length)) instruction by instruction. */
export function decodeCode(code: Uint8Array, start: LinkAddress): DecodedCode {
  const instructions: PlacedInstruction[] = [];
  let at = 0;
  while (at < code.length) {
    const r = decodeInstruction(code, at);
    if (isFailure(r))
      return {
        start,
        end: linkAddr(start + code.length),
        instructions,
        failure: { address: linkAddr(start + at), error: `${hex(start + at)}: ${r.error}` },
      };
    instructions.push({ address: linkAddr(start + at), insn: r });
    at += r.length;
  }
  return { start, end: linkAddr(start + code.length), instructions };
}
