/**
 * Memory for capturing values while the process is paused: reads come from what was
 * already copied, and anything else is read from the (still stopped) process and added to
 * the copy, so that everything a captured expression reached is in the snapshot.
 */
import type { Address } from '../common/address.js';
import type { CopiedMemory } from '../goruntime/copied-memory.js';
import { type Memory, MemoryError } from '../proc/memory.js';

/** Reads through a copy to the live process, keeping what it read. */
export class PauseMemory implements Memory {
  private liveReads = 0;
  private liveBytes = 0;
  constructor(
    private readonly copy: CopiedMemory,
    private readonly live: Memory,
  ) {}

  read(address: Address, size: number): Uint8Array {
    if (this.copy.has(address, size)) return this.copy.read(address, size);
    let bytes: Uint8Array;
    try {
      bytes = this.live.read(address, size);
    } catch (e) {
      if (e instanceof MemoryError) throw e;
      throw new MemoryError(address, size, (e as Error).message);
    }
    // Keep a copy: the caller may hold a view into a reused buffer.
    const kept = new Uint8Array(bytes);
    this.copy.add(address, kept);
    this.liveReads++;
    this.liveBytes += size;
    return kept;
  }

  /** Reads that went to the process, and their bytes. */
  stats(): { reads: number; bytes: number } {
    return { reads: this.liveReads, bytes: this.liveBytes };
  }
}
