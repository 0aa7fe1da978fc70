/**
 * A binary-wide PC -> line index over every program in .debug_line, built by walking the
 * unit_length chain (no .debug_info needed). Every program's sequences are scanned up front
 * (their address ranges are all the index keeps); a program's header (file table) and rows
 * are decoded only when a PC in it is asked for.
 */
import { hex, type LinkAddress } from '../common/address.js';
import { FormatError } from '../common/errors.js';
import { type LineHeader, type LineStrings, parseLineHeader } from './line-header.js';
import { runLineProgram } from './line-program.js';
import { type LineRow, LineTable } from './line-table.js';
import type { LineOffset } from './sections.js';

/** Options for building a line index. */
export interface LineIndexOptions {
  /** DW_AT_comp_dir of the unit owning a program, for relative directories (v2–v4). */
  readonly compDirOf?: (offset: LineOffset) => string | undefined;
}

/** What a LineIndex is built from, to store and load it (see LineIndex.data). */
export interface LineIndexData {
  /** Offsets of the programs, in section order. */
  readonly programs: Float64Array;
  /** Sequences sorted by start address: [lo, hi) and the index of the owning program. */
  readonly seqLo: Float64Array;
  readonly seqHi: Float64Array;
  readonly seqProgram: Int32Array;
}

/** Every line program of a binary, indexed by the address ranges of their sequences. */
export class LineIndex {
  private readonly strings: LineStrings;
  private readonly opts: LineIndexOptions;
  private readonly offsets: Float64Array;
  /** Headers parsed so far (a program's file table is read when its rows are). */
  private readonly headers = new Map<number, LineHeader>();
  private readonly tables = new Map<number, LineTable>();
  private readonly seqLo: Float64Array;
  private readonly seqHi: Float64Array;
  private readonly seqProgram: Int32Array;

  private constructor(strings: LineStrings, opts: LineIndexOptions, d: LineIndexData) {
    if (d.seqHi.length !== d.seqLo.length || d.seqProgram.length !== d.seqLo.length)
      throw new RangeError('the sequence arrays of a line index disagree in length');
    for (const p of d.seqProgram)
      if (p < 0 || p >= d.programs.length) throw new RangeError('no such program');
    this.strings = strings;
    this.opts = opts;
    this.offsets = d.programs;
    this.seqLo = d.seqLo;
    this.seqHi = d.seqHi;
    this.seqProgram = d.seqProgram;
  }

  /**
   * Walks .debug_line: the fixed part of every header and every program's sequences (no
   * rows, no file names: those are read for a program when a PC in it is asked for).
   */
  static build(strings: LineStrings, opts: LineIndexOptions = {}): LineIndex {
    const bytes = strings.line;
    const programs: number[] = [];
    const lo: number[] = [];
    const hi: number[] = [];
    const owner: number[] = [];
    let off = 0;
    while (off < bytes.length) {
      const offset = off as LineOffset;
      const h = parseLineHeader(strings, offset, undefined, { tables: false });
      if (h.end <= off) throw new FormatError('.debug_line', off, 'line program does not advance');
      const idx = programs.length;
      programs.push(offset);
      for (const s of runLineProgram(bytes, h, true).sequences) {
        if (s.hi > s.lo) {
          lo.push(s.lo);
          hi.push(s.hi);
          owner.push(idx);
        }
      }
      off = h.end;
    }
    const order = lo.map((_, i) => i).sort((a, b) => lo[a]! - lo[b]! || hi[a]! - hi[b]!);
    return new LineIndex(strings, opts, {
      programs: Float64Array.from(programs),
      seqLo: Float64Array.from(order, (i) => lo[i]!),
      seqHi: Float64Array.from(order, (i) => hi[i]!),
      seqProgram: Int32Array.from(order, (i) => owner[i]!),
    });
  }

  /** A LineIndex over stored data (what `data` gave for the same .debug_line). */
  static fromData(strings: LineStrings, opts: LineIndexOptions, d: LineIndexData): LineIndex {
    return new LineIndex(strings, opts, d);
  }

  /** The arrays the index is made of, to store. */
  data(): LineIndexData {
    return { programs: this.offsets, seqLo: this.seqLo, seqHi: this.seqHi, seqProgram: this.seqProgram };
  }

  /** Offsets of all programs, in section order. */
  get programs(): LineOffset[] {
    return Array.from(this.offsets, (o) => o as LineOffset);
  }
  /** Parsed headers of all programs, in section order (parsed now when not yet). */
  get programHeaders(): readonly LineHeader[] {
    return Array.from(this.offsets, (o) => this.header(o));
  }
  /** Number of non-empty sequences over all programs. */
  get sequenceCount(): number {
    return this.seqLo.length;
  }
  /** Number of programs decoded so far (the rest are only scanned). */
  get decodedCount(): number {
    return this.tables.size;
  }

  /** The decoded table of the program at `offset` (decoded once, then cached). */
  table(offset: LineOffset): LineTable {
    const cached = this.tables.get(offset);
    if (cached) return cached;
    if (!this.offsets.includes(offset))
      throw new FormatError('.debug_line', offset, 'no line program starts at this offset');
    return this.tableOf(this.header(offset));
  }

  private header(offset: number): LineHeader {
    let h = this.headers.get(offset);
    if (!h) {
      h = parseLineHeader(this.strings, offset as LineOffset, this.opts.compDirOf?.(offset as LineOffset));
      this.headers.set(offset, h);
    }
    return h;
  }

  private tableOf(h: LineHeader): LineTable {
    let t = this.tables.get(h.offset);
    if (!t) {
      t = new LineTable(this.strings.line, h);
      this.tables.set(h.offset, t);
    }
    return t;
  }

  /** The program whose sequence covers pc, if any. */
  programFor(pc: LinkAddress): LineHeader | undefined {
    const lo = this.seqLo;
    let a = 0;
    let b = lo.length;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (lo[mid]! <= pc) a = mid + 1;
      else b = mid;
    }
    // Sequences do not overlap in well-formed tables; look back a little in case they do.
    for (let i = a - 1; i >= 0 && i >= a - 4; i--) {
      if (pc < this.seqHi[i]!) return this.header(this.offsets[this.seqProgram[i]!]!);
    }
    return undefined;
  }

  /** The line-table row in effect at pc, binary-wide; undefined if no sequence covers pc. */
  lineForPC(pc: LinkAddress): LineRow | undefined {
    const h = this.programFor(pc);
    return h ? this.tableOf(h).lineForPC(pc) : undefined;
  }

  /** Statement addresses of file:line over all programs (file may be a path suffix). */
  pcsForLine(file: string, line: number): LinkAddress[] {
    const out: LinkAddress[] = [];
    for (const h of this.programHeaders) {
      if (!h.files.some((f) => f.path === file || f.path.endsWith(`/${file}`))) continue;
      out.push(...this.tableOf(h).pcsForLine(file, line));
    }
    return out.sort((a, b) => a - b);
  }

  /** Describes an address for error messages: "0x4a0340 (main.go:24)" or just the hex. */
  describe(pc: LinkAddress): string {
    const row = this.lineForPC(pc);
    return row ? `${hex(pc)} (${row.file}:${row.line})` : hex(pc);
  }
}
