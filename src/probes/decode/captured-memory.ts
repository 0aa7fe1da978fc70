/**
 * The target memory one event copied, as a `Memory` the snapshot value decoder reads: the
 * regions of the record (each at the address it was read from), then the binary's read-only
 * data (type descriptors, itabs, function tables: the same bytes in the file as in the
 * process). Anything else was not captured by the probe, and reading it fails with that
 * reason, which the decoder shows as an unreadable marker.
 */
import { type Address, linkAddr } from '../../common/address.js';
import { PF_W, PT_LOAD } from '../../elf/elf-constants.js';
import type { ElfFile } from '../../elf/elf-file.js';
import { type Memory, MemoryError } from '../../proc/memory.js';

/** One region copied by the probe. */
export interface CapturedRegion {
  readonly address: number;
  readonly bytes: Uint8Array;
}

/** The read-only, file-backed ranges of a binary at run time (link-time ranges plus the load bias). */
export class StaticData {
  private readonly ranges: { lo: number; hi: number }[];
  constructor(
    private readonly elf: ElfFile,
    private readonly bias: number,
  ) {
    this.ranges = elf.segments
      .filter((s) => s.type === PT_LOAD && (s.flags & PF_W) === 0)
      .map((s) => ({ lo: s.vaddr + bias, hi: s.vaddr + bias + s.filesz }));
  }

  /** The bytes at a run-time address, or undefined when they are not read-only data of the file. */
  read(address: number, size: number): Uint8Array | undefined {
    for (const r of this.ranges)
      if (address >= r.lo && address + size <= r.hi)
        return this.elf.readAt(linkAddr(address - this.bias), size);
    return undefined;
  }
}

/** Memory made of an event's regions and the binary's read-only data. */
export class CapturedMemory implements Memory {
  constructor(
    /** The regions of the value being decoded (a decoder reuses one CapturedMemory, replacing them). */
    public regions: readonly CapturedRegion[],
    private readonly statics: StaticData,
  ) {}

  read(address: Address, size: number): Uint8Array {
    for (const r of this.regions) {
      const at = address - r.address;
      if (at >= 0 && at + size <= r.bytes.length) return r.bytes.subarray(at, at + size);
    }
    const s = this.statics.read(address, size);
    if (s) return s;
    throw new MemoryError(address, size, 'not captured by the probe');
  }
}
