/**
 * Branded number types. User-space addresses fit in 53 bits, so plain numbers are exact
 * and fast; the brands stop one kind of address or offset from being used as another.
 *
 * Two kinds of address: where something is in a live process (`Address`), and where the
 * binary's own tables put it (`LinkAddress`: ELF, DWARF, pclntab). They differ by the
 * executable's load bias in that process (0 unless PIE), and a `LoadBias` is the only way
 * from one to the other.
 */
declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

/** An address in a live process: what memory is read at, pointers, the pcs and sps of threads and frames. */
export type Address = Brand<number, 'Address'>;
/** An address as the binary was linked: ELF sections, segments and symbols, the pclntab, DWARF. */
export type LinkAddress = Brand<number, 'LinkAddress'>;
/** A byte offset into the file on disk. */
export type FileOffset = Brand<number, 'FileOffset'>;

/** Marks a number as an address in a process (the caller vouches for its meaning). */
export const addr = (n: number): Address => n as Address;
/** Marks a number as a link-time address of the binary (the caller vouches for its meaning). */
export const linkAddr = (n: number): LinkAddress => n as LinkAddress;
/** Marks a number as a file offset. */
export const fileOffset = (n: number): FileOffset => n as FileOffset;

/**
 * The load bias of one executable in one process: runtime address = link-time address +
 * bias (0 unless the executable is position-independent). Immutable; the conversions are
 * plain additions, inlined on hot paths.
 */
export class LoadBias {
  /** Runtime minus link-time address, in bytes. */
  readonly value: number;

  constructor(value: number) {
    this.value = value;
  }

  /** Where a link-time address of the binary is in the process. */
  toRuntime(a: LinkAddress): Address {
    return (a + this.value) as Address;
  }

  /** The link-time address of the binary at a process address (in the executable's mappings). */
  toLink(a: Address): LinkAddress {
    return (a - this.value) as LinkAddress;
  }
}

/** The bias of an executable loaded where it was linked (non-PIE; or a binary read without a process). */
export const NO_BIAS = new LoadBias(0);

/** Formats an address as 0x-prefixed hex. */
export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}
