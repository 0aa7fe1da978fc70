/**
 * One decoded line-number program: its rows, PC -> file:line lookups and the statement
 * addresses of a source line.
 */
import { type LinkAddress, linkAddr } from '../common/address.js';
import { FormatError } from '../common/errors.js';
import { type LineFile, type LineHeader, type LineStrings, parseLineHeader } from './line-header.js';
import {
  type DecodedLines,
  type LineSequence,
  ROW_END_SEQUENCE,
  ROW_EPILOGUE_BEGIN,
  ROW_IS_STMT,
  ROW_PROLOGUE_END,
  runLineProgram,
} from './line-program.js';
import type { LineOffset } from './sections.js';

/** One row of a line table, with its file resolved to a full path. */
export interface LineRow {
  readonly address: LinkAddress;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly isStmt: boolean;
  readonly prologueEnd: boolean;
  readonly epilogueBegin: boolean;
  readonly endSequence: boolean;
  readonly discriminator: number;
}

/** Options for opening a line table. */
export interface LineTableOptions {
  /** DW_AT_comp_dir of the unit, to resolve relative directories of v2–v4 tables. */
  readonly compDir?: string;
}

/** The decoded rows of the line-number program at one .debug_line offset. */
export class LineTable {
  readonly header: LineHeader;
  private readonly d: DecodedLines;
  /** Sequences ordered by start address, for binary search. */
  private readonly byAddress: readonly LineSequence[];

  /** Decodes a program whose header is already parsed. */
  constructor(lineSection: Uint8Array, header: LineHeader) {
    this.header = header;
    this.d = runLineProgram(lineSection, header);
    this.byAddress = this.d.sequences.filter((s) => s.hi > s.lo).sort((a, b) => a.lo - b.lo);
  }

  /** Parses and decodes the program at `offset` of .debug_line. */
  static open(strings: LineStrings, offset: LineOffset, opts: LineTableOptions = {}): LineTable {
    return new LineTable(strings.line, parseLineHeader(strings, offset, opts.compDir));
  }

  /** The file table (with files added by DW_LNE_define_file). */
  get files(): readonly LineFile[] {
    return this.d.fileTable;
  }
  /** Number of rows, end_sequence rows included. */
  get rowCount(): number {
    return this.d.count;
  }
  /** The sequences in program order. */
  get sequences(): readonly LineSequence[] {
    return this.d.sequences;
  }

  /** The full path of file-table entry `index`; a FormatError if a row names a missing file. */
  filePath(index: number): string {
    const f = this.d.fileTable[index];
    if (!f) {
      throw new FormatError(
        '.debug_line',
        this.header.offset,
        `a row refers to file ${index}, the table has ${this.d.fileTable.length}`,
      );
    }
    return f.path;
  }

  /** Row `i` as an object. */
  row(i: number): LineRow {
    const d = this.d;
    const f = d.flags[i]!;
    return {
      address: linkAddr(d.addresses[i]!),
      file: this.filePath(d.files[i]!),
      line: d.lines[i]!,
      column: d.columns[i]!,
      isStmt: (f & ROW_IS_STMT) !== 0,
      prologueEnd: (f & ROW_PROLOGUE_END) !== 0,
      epilogueBegin: (f & ROW_EPILOGUE_BEGIN) !== 0,
      endSequence: (f & ROW_END_SEQUENCE) !== 0,
      discriminator: d.discriminators[i]!,
    };
  }

  /** All rows in program order. */
  rows(): LineRow[] {
    const out: LineRow[] = [];
    for (let i = 0; i < this.d.count; i++) out.push(this.row(i));
    return out;
  }

  /** The sequence covering pc, if any. */
  sequenceFor(pc: LinkAddress): LineSequence | undefined {
    const seqs = this.byAddress;
    let lo = 0;
    let hi = seqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (seqs[mid]!.lo <= pc) lo = mid + 1;
      else hi = mid;
    }
    const s = seqs[lo - 1];
    return s && pc < s.hi ? s : undefined;
  }

  /** The row in effect at pc (the last row at or below it in its sequence), if pc is covered. */
  lineForPC(pc: LinkAddress): LineRow | undefined {
    const s = this.sequenceFor(pc);
    return s ? this.row(this.rowIndexIn(s, pc)) : undefined;
  }

  /** Index of the last row of sequence s whose address is <= pc (pc must lie in s). */
  rowIndexIn(s: LineSequence, pc: LinkAddress): number {
    const a = this.d.addresses;
    let lo = s.firstRow;
    let hi = s.endRow;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (a[mid]! <= pc) lo = mid + 1;
      else hi = mid;
    }
    return Math.max(lo - 1, s.firstRow);
  }

  /** Indices of the file-table entries that are `file`: the same full path, or ending in "/" + file. */
  private fileMatches(file: string): Set<number> {
    const out = new Set<number>();
    this.d.fileTable.forEach((f, i) => {
      if (f.path === file || f.path.endsWith(`/${file}`)) out.add(i);
    });
    return out;
  }

  /** Statement addresses (is_stmt rows) of file:line, sorted and unique; file may be a path suffix. */
  pcsForLine(file: string, line: number): LinkAddress[] {
    const files = this.fileMatches(file);
    if (files.size === 0) return [];
    const d = this.d;
    const out = new Set<number>();
    for (let i = 0; i < d.count; i++) {
      if (d.lines[i] === line && (d.flags[i]! & (ROW_IS_STMT | ROW_END_SEQUENCE)) === ROW_IS_STMT) {
        if (files.has(d.files[i]!)) out.add(d.addresses[i]!);
      }
    }
    return [...out].sort((a, b) => a - b).map(linkAddr);
  }
}
