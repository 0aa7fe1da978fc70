import { FormatError } from '../common/errors.js';
import { AT } from './constants.js';
import { type Die, INFO } from './die.js';
import type { InfoOffset } from './sections.js';
import { type Unit, unitContaining } from './units.js';

/**
 * A cursor over the DIEs of .debug_info, in section order across units: seek to an offset,
 * step with next(), jump over a subtree with skipChildren() (using DW_AT_sibling when present).
 */
export class DieReader {
  private readonly units: readonly Unit[];
  private unit: Unit | undefined;
  private unitIndex = 0;
  private pos = 0;
  /** The last DIE returned by next(), when it has children not yet entered. */
  private last: Die | undefined;

  constructor(units: readonly Unit[], offset?: InfoOffset) {
    this.units = units;
    if (units.length > 0) this.seek(offset ?? units[0]!.firstDie);
  }

  /** Positions the cursor at a DIE offset (or a unit's offset, meaning its root DIE). */
  seek(offset: InfoOffset): void {
    const u = unitContaining(this.units, offset);
    if (!u) throw new FormatError(INFO, offset, 'offset is not inside any unit');
    this.unit = u;
    this.unitIndex = this.units.indexOf(u);
    this.pos = offset < u.firstDie ? u.firstDie : offset;
    this.last = undefined;
  }

  /** The unit the cursor is in. */
  currentUnit(): Unit | undefined {
    return this.unit;
  }

  /**
   * The next entry: a Die, null for a null entry (the end of a sibling list), or undefined
   * at the end of the section. Moves on to the next unit at the end of one.
   */
  next(): Die | null | undefined {
    this.last = undefined;
    let u = this.unit;
    while (u && this.pos >= u.end) {
      u = this.units[++this.unitIndex];
      this.unit = u;
      if (u) this.pos = u.firstDie;
    }
    if (!u) return undefined;
    const die = u.dieAt(this.pos);
    if (!die) {
      this.pos++;
      return null;
    }
    this.pos = die.end;
    if (die.hasChildren) this.last = die;
    return die;
  }

  /** After next() returned a DIE with children, moves past all of them. */
  skipChildren(): void {
    const die = this.last;
    this.last = undefined;
    if (!die) return;
    this.pos = subtreeEnd(die);
  }
}

/** Offset just past a DIE and all its descendants (its next sibling). */
export function subtreeEnd(die: Die): number {
  if (!die.hasChildren) return die.end;
  const u = die.unit;
  if (die.abbrev.siblingIndex >= 0) {
    const sib = die.num(AT.sibling);
    if (sib !== undefined && sib > die.offset && sib <= u.end) return sib;
  }
  let depth = 1;
  let pos = die.end;
  // Every entry takes at least one byte, so pos strictly increases and is bounded by the unit.
  while (depth > 0) {
    if (pos >= u.end)
      throw new FormatError(INFO, die.offset, 'children are not terminated before the unit ends');
    const child = u.dieAt(pos);
    if (!child) {
      depth--;
      pos++;
      continue;
    }
    if (child.hasChildren) {
      const sib = child.abbrev.siblingIndex >= 0 ? child.num(AT.sibling) : undefined;
      if (sib !== undefined && sib > child.offset && sib <= u.end) {
        pos = sib;
        continue;
      }
      depth++;
    }
    pos = child.end;
  }
  return pos;
}

/** The direct children of a DIE, in order. */
export function childrenOf(die: Die): Die[] {
  const out: Die[] = [];
  if (!die.hasChildren) return out;
  const u = die.unit;
  let pos = die.end;
  for (;;) {
    if (pos >= u.end)
      throw new FormatError(INFO, die.offset, 'children are not terminated before the unit ends');
    const child = u.dieAt(pos);
    if (!child) return out;
    out.push(child);
    pos = subtreeEnd(child);
  }
}
