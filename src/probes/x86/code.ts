/**
 * The instructions of a range of machine code (one function), decoded from its first byte
 * to its end: the boundaries where a probe may sit.
 */
import { type Address, addr, hex } from '../../common/address.js';
import { decodeInstruction, type Instruction, isFailure } from './decode.js';

/** One instruction at its link-time address. */
export interface PlacedInstruction {
  readonly address: Address;
  readonly insn: Instruction;
}

/** A decoded range: every instruction up to the end, or up to the first undecodable bytes. */
export interface DecodedCode {
  readonly start: Address;
  readonly end: Address;
  readonly instructions: readonly PlacedInstruction[];
  /** Where and why decoding stopped before the end, if it did. */
  readonly failure?: { readonly address: Address; readonly error: string };
}

/** Decodes `code` (the bytes of [start, start + code.length)) instruction by instruction. */
export function decodeCode(code: Uint8Array, start: Address): DecodedCode {
  const instructions: PlacedInstruction[] = [];
  let at = 0;
  while (at < code.length) {
    const r = decodeInstruction(code, at);
    if (isFailure(r))
      return {
        start,
        end: addr(start + code.length),
        instructions,
        failure: { address: addr(start + at), error: `${hex(start + at)}: ${r.error}` },
      };
    instructions.push({ address: addr(start + at), insn: r });
    at += r.length;
  }
  return { start, end: addr(start + code.length), instructions };
}
