/**
 * Memory for capturing values while the process is paused: reads come from what was
 * already copied, and anything else is read from the (still stopped) process and added to
 * the copy, so that everything a captured expression reached is in the snapshot.
 */
import type { Address } from '../common/address.js';
import type { CopiedMemory } from '../proc/copied-memory.js';
import { type Memory, MemoryError } from '../proc/memory.js';

/**
 * A live read smaller than this reads this much (within its page, so never into a mapping it
 * did not touch): expressions and their values read a field, then its neighbour, then what
 * it points at, 4–24 bytes at a time, and each live read is a system call.
 */
const READ_AHEAD = 256;
const PAGE = 4096;

/** How much a live read of `size` bytes at `address` reads (a small one reads ahead, within its page). */
export function liveReadSize(address: number, size: number): number {
  const toPageEnd = PAGE - (address % PAGE);
  return size < READ_AHEAD && size <= toPageEnd ? Math.min(READ_AHEAD, toPageEnd) : size;
}

/** Reads through a copy to the live process, keeping what it read. */
export class PauseMemory implements Memory {
  private liveReads = 0;
  private liveBytes = 0;
  /**
   * `keepLive` false: what is read from the process is not added to the copy (after a pause,
   * so that every evaluation that needs a byte the pause did not keep reads it, and is seen).
   */
  constructor(
    private readonly copy: CopiedMemory,
    private readonly live: Memory,
    private readonly keepLive = true,
  ) {}

  read(address: Address, size: number): Uint8Array {
    if (this.copy.has(address, size)) return this.copy.read(address, size);
    const ahead = liveReadSize(address, size);
    let bytes: Uint8Array;
    try {
      bytes = this.live.read(address, ahead);
    } catch (e) {
      if (e instanceof MemoryError) throw e;
      throw new MemoryError(address, size, (e as Error).message);
    }
    // Keep a copy: the caller may hold a view into a reused buffer.
    const kept = new Uint8Array(bytes);
    if (this.keepLive) this.copy.add(address, kept);
    this.liveReads++;
    this.liveBytes += ahead;
    return kept.subarray(0, size);
  }

  /** Reads that went to the process, and their bytes. */
  stats(): { reads: number; bytes: number } {
    return { reads: this.liveReads, bytes: this.liveBytes };
  }
}
