/**
 * Memory for values an evaluation computes (a concatenated string, `[]rune(s)`, a boxed
 * interface): they live in a scratch space of the evaluator at addresses no user-space
 * mapping has (from 2^52), so that the value decoders read them like target memory. The
 * target itself is only ever read.
 */
import { type Address, addr } from '../../common/address.js';
import { type Memory, MemoryError } from '../../proc/memory.js';

/** Where scratch addresses start: above x86-64's 47-bit user space (mappings above it must be asked for; Go never does), within 53 bits. */
export const SCRATCH_BASE = 2 ** 52;
/** Bytes one evaluation may compute (a bound on what an expression can make Periscope allocate). */
export const SCRATCH_LIMIT = 64 << 20;

/** Target memory plus the scratch space of one evaluation. */
export class ScratchMemory implements Memory {
  private readonly blocks: { start: number; bytes: Uint8Array }[] = [];
  private next = SCRATCH_BASE;

  constructor(readonly target: Memory) {}

  /** Places bytes in scratch space and returns their address (never 0, 8-aligned). */
  alloc(bytes: Uint8Array): Address {
    const start = this.next;
    if (start + bytes.length - SCRATCH_BASE > SCRATCH_LIMIT)
      throw new MemoryError(
        addr(start),
        bytes.length,
        `the expression computes more than ${SCRATCH_LIMIT} bytes`,
      );
    this.blocks.push({ start, bytes });
    this.next = start + Math.ceil(Math.max(bytes.length, 1) / 8) * 8;
    return addr(start);
  }

  read(address: Address, size: number): Uint8Array {
    if (address < SCRATCH_BASE) return this.target.read(address, size);
    for (const b of this.blocks) {
      if (address >= b.start && address + size <= b.start + Math.max(b.bytes.length, 0)) {
        const off = address - b.start;
        return b.bytes.subarray(off, off + size);
      }
    }
    if (size === 0) return new Uint8Array(0);
    throw new MemoryError(address, size, 'outside the values this expression computed');
  }
}
