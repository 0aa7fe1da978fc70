/**
 * Byte ranges of a value that its location does not give: a DW_OP_piece with no location
 * (that part is optimized out at the PC), a piece in a register of an outer frame, or a
 * location shorter than the type. The value's other bytes are real; decoders render the
 * parts that lie wholly outside these ranges and mark the rest (see partial.ts).
 */

/** One missing byte range of a value, and why it is missing. */
export interface MissingBytes {
  readonly offset: number;
  readonly size: number;
  readonly reason: string;
}

/** The first missing range that overlaps bytes [offset, offset + size), if any. */
export function missingIn(
  missing: readonly MissingBytes[],
  offset: number,
  size: number,
): MissingBytes | undefined {
  return missing.find((m) => m.offset < offset + size && offset < m.offset + m.size);
}

/** The missing ranges within bytes [offset, offset + size), relative to `offset`. */
export function missingWithin(
  missing: readonly MissingBytes[],
  offset: number,
  size: number,
): MissingBytes[] {
  const out: MissingBytes[] = [];
  for (const m of missing) {
    const lo = Math.max(m.offset, offset);
    const hi = Math.min(m.offset + m.size, offset + size);
    if (lo < hi) out.push({ offset: lo - offset, size: hi - lo, reason: m.reason });
  }
  return out;
}

/** Whether the missing ranges cover every byte of [0, size). */
export function allMissing(missing: readonly MissingBytes[], size: number): boolean {
  let covered = 0;
  for (const m of [...missing].sort((a, b) => a.offset - b.offset)) {
    if (m.offset > covered) return false;
    covered = Math.max(covered, m.offset + m.size);
  }
  return covered >= size;
}

/** The reason of a missing range in words, with the bytes it spans when they are not the whole value. */
export function missingText(m: MissingBytes, size: number): string {
  const whole = m.offset === 0 && m.size >= size;
  return whole || m.reason.startsWith('location covers')
    ? m.reason
    : `bytes ${m.offset}–${m.offset + m.size}: ${m.reason}`;
}
