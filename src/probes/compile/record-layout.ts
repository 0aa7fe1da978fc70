/**
 * The binary record a probe writes to the ring buffer for each event: a fixed header, then
 * one slot per capture at offsets fixed when the probe is compiled. A slot holds the value's
 * own bytes (from registers or memory) and the regions of target memory read beyond it
 * (string contents, slice elements, pointees, an interface's type), each with the address it
 * came from, so user space can decode the value with the same decoder snapshots use.
 *
 * Ring buffer memory is not zeroed: every field the decoder reads is written by the program,
 * and a region that was not read says so in its status.
 */

/** Offsets in the record header. */
export const HDR = {
  /** u32: the probe's index in its probe set. */
  probe: 0,
  /** u32: the site (the attach cookie, or the program's own site number). */
  site: 4,
  /** u32: the thread id. */
  tid: 8,
  /** u32: FLAG_* bits. */
  flags: 12,
  /** u64: the goroutine id (0 when g could not be read). */
  goid: 16,
  /** u64: bpf_ktime_get_ns at the hit. */
  time: 24,
  /** u64: nanoseconds since the paired entry (FLAG_DURATION). */
  duration: 32,
  /** u64: the hash of the stack (FLAG_STACK), a key of the stacks map. */
  stack: 40,
} as const;

/** Bytes of the header. */
export const HEADER_BYTES = 48;

/** Header flags. */
export const FLAG_DURATION = 1;
export const FLAG_STACK = 2;

/** Offsets in a capture slot. */
export const SLOT = {
  /** u32: CAPTURE_* status (0: the value is here). */
  status: 0,
  /** u64: what the status is about (an address, an index, a type descriptor, a reason number). */
  aux: 8,
  /** u64: where the value's bytes came from in target memory (0: registers). */
  address: 16,
  /** The value's bytes, rounded up to 8. */
  bytes: 24,
} as const;

/** Offsets in a region of target memory copied into the record. */
export const REGION = {
  /** u64: the target address read. */
  address: 0,
  /** u32: bytes asked for. */
  length: 8,
  /** i32: 0 when read, the helper's negative errno when the read failed, REGION_SKIPPED when not tried, REGION_IN_FILE when in the binary's read-only data. */
  status: 12,
  /** The bytes, up to the region's maximum (rounded up to 8). */
  bytes: 16,
} as const;

/** A region's status when its pointer was nil, its guard false, or its parent unread. */
export const REGION_SKIPPED = 1;
/** A region's status when its bytes are the binary's read-only data at its address: not copied, the decoder reads the file. */
export const REGION_IN_FILE = 2;

/** Capture statuses (slot status; also the error codes of conditions). */
export const CAPTURE = {
  ok: 0,
  /** A nil pointer was dereferenced (aux: -). */
  nil: 1,
  /** Target memory could not be read (aux: the address). */
  unreadable: 2,
  /** An index was out of range (aux: the index). */
  index: 3,
  /** Division by zero. */
  divide: 4,
  /** A type assertion failed (aux: the dynamic type's descriptor, 0 for nil). */
  assertion: 5,
  /** Not available at this site (aux: the reason's number in the compiled probe). */
  unavailable: 6,
  /** A string too long to compare in the kernel (aux: its length). */
  tooLong: 7,
  /** A negative shift count (aux: the count). */
  shift: 8,
} as const;

/** Rounds up to a multiple of 8. */
export function round8(n: number): number {
  return Math.ceil(n / 8) * 8;
}
