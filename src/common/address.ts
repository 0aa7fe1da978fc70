/**
 * Branded number types. User-space addresses fit in 53 bits, so plain numbers are exact
 * and fast; the brands stop an address from being used as a file offset and vice versa.
 */
declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

/** A virtual address in the target's (or the binary's link-time) address space. */
export type Address = Brand<number, 'Address'>;
/** A byte offset into the file on disk. */
export type FileOffset = Brand<number, 'FileOffset'>;

/** Marks a number as an address (the caller vouches for its meaning). */
export const addr = (n: number): Address => n as Address;
/** Marks a number as a file offset. */
export const fileOffset = (n: number): FileOffset => n as FileOffset;

/** Formats an address as 0x-prefixed hex. */
export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}
