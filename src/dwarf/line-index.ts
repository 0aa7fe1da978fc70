/**
 * A binary-wide PC -> line index over every program in .debug_line, built by walking the
 * unit_length chain (no .debug_info needed). Headers are parsed and sequences' address
 * ranges scanned up front; a program's rows are decoded only when a PC in it is asked for.
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

/** Every line program of a binary, indexed by the address ranges of their sequences. */
export class LineIndex {
  private readonly strings: LineStrings;
  private readonly headers: LineHeader[];
  private readonly tables = new Map<number, LineTable>();
  // Sequences of all programs, sorted by start address: [lo, hi) and the owning program.
  private readonly seqLo: Float64Array;
  private readonly seqHi: Float64Array;
  private readonly seqProgram: Int32Array;

  private constructor(strings: LineStrings, headers: LineHeader[], seqs: [number, number, number][]) {
    this.strings = strings;
    this.headers = headers;
    seqs.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    this.seqLo = Float64Array.from(seqs, (s) => s[0]);
    this.seqHi = Float64Array.from(seqs, (s) => s[1]);
    this.seqProgram = Int32Array.from(seqs, (s) => s[2]);
  }

  /** Walks .debug_line, parses every header and scans every program's sequences. */
  static build(strings: LineStrings, opts: LineIndexOptions = {}): LineIndex {
    const bytes = strings.line;
    const headers: LineHeader[] = [];
    const seqs: [number, number, number][] = [];
    let off = 0;
    while (off < bytes.length) {
      const offset = off as LineOffset;
      const h = parseLineHeader(strings, offset, opts.compDirOf?.(offset));
      if (h.end <= off) throw new FormatError('.debug_line', off, 'line program does not advance');
      const idx = headers.length;
      headers.push(h);
      for (const s of runLineProgram(bytes, h, true).sequences) {
        if (s.hi > s.lo) seqs.push([s.lo, s.hi, idx]);
      }
      off = h.end;
    }
    return new LineIndex(strings, headers, seqs);
  }

  /** Offsets of all programs, in section order. */
  get programs(): LineOffset[] {
    return this.headers.map((h) => h.offset);
  }
  /** Parsed headers of all programs, in section order. */
  get programHeaders(): readonly LineHeader[] {
    return this.headers;
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
    const h = this.headers.find((x) => x.offset === offset);
    if (!h) throw new FormatError('.debug_line', offset, 'no line program starts at this offset');
    return this.tableOf(h);
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
      if (pc < this.seqHi[i]!) return this.headers[this.seqProgram[i]!];
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
    for (const h of this.headers) {
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
