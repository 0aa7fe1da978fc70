/**
 * The DWARF line-number state machine: runs one program's opcodes and produces its rows
 * (columnar, in typed arrays) and sequences, or in scan mode only the sequences' ranges.
 */
import { ByteReader } from '../common/bytes.js';
import { type LineFile, type LineHeader, legacyFile } from './line-header.js';

/** Bits of DecodedLines.flags. */
export const ROW_IS_STMT = 1;
export const ROW_PROLOGUE_END = 2;
export const ROW_EPILOGUE_BEGIN = 4;
export const ROW_END_SEQUENCE = 8;
export const ROW_BASIC_BLOCK = 16;

/** One sequence: a run of rows over [lo, hi) ending with an end_sequence row. */
export interface LineSequence {
  readonly lo: number;
  readonly hi: number;
  /** Index of the sequence's first row (rows only; undefined in scan mode). */
  readonly firstRow: number;
  /** Index of its end_sequence row. */
  readonly endRow: number;
}

/** All rows of one program, column by column (row i is addresses[i], lines[i], ...). */
export interface DecodedLines {
  readonly count: number;
  readonly addresses: Float64Array;
  readonly files: Int32Array;
  readonly lines: Int32Array;
  readonly columns: Int32Array;
  readonly discriminators: Int32Array;
  readonly flags: Uint8Array;
  readonly sequences: readonly LineSequence[];
  /** The file table, including files added by DW_LNE_define_file. */
  readonly fileTable: readonly LineFile[];
}

const SECTION = '.debug_line';

/**
 * Runs the program of `header` over `bytes` (the whole .debug_line section). With
 * `scanOnly` no rows are kept: only the sequences, which is all an address index needs.
 */
export function runLineProgram(bytes: Uint8Array, header: LineHeader, scanOnly = false): DecodedLines {
  const r = new ByteReader(bytes.subarray(0, header.end), SECTION, header.programStart);
  const { minInstLength, maxOpsPerInst, lineBase, lineRange, opcodeBase, standardOpcodeLengths } = header;
  const fileTable = header.files.slice();
  const dirs = header.directories;
  const addrCol: number[] = [];
  const fileCol: number[] = [];
  const lineCol: number[] = [];
  const colCol: number[] = [];
  const discCol: number[] = [];
  const flagCol: number[] = [];
  const sequences: LineSequence[] = [];
  const defaultStmt = header.defaultIsStmt ? ROW_IS_STMT : 0;

  // State-machine registers.
  let address = 0;
  let opIndex = 0;
  let file = 1;
  let line = 1;
  let column = 0;
  let flags = defaultStmt;
  let discriminator = 0;
  let seqLo = -1;
  let seqFirst = 0;
  let rowCount = 0;

  const advance = (opAdvance: number): void => {
    if (maxOpsPerInst === 1) address += minInstLength * opAdvance;
    else {
      const total = opIndex + opAdvance;
      address += minInstLength * Math.floor(total / maxOpsPerInst);
      opIndex = total % maxOpsPerInst;
    }
  };
  const emit = (): void => {
    if (seqLo < 0) {
      seqLo = address;
      seqFirst = rowCount;
    }
    if (!scanOnly) {
      addrCol.push(address);
      fileCol.push(file);
      lineCol.push(line);
      colCol.push(column);
      discCol.push(discriminator);
      flagCol.push(flags);
    }
    rowCount++;
    flags &= ROW_IS_STMT;
    discriminator = 0;
  };

  while (r.pos < header.end) {
    const op = r.u8();
    if (op >= opcodeBase) {
      const adjusted = op - opcodeBase;
      advance(Math.floor(adjusted / lineRange));
      line += lineBase + (adjusted % lineRange);
      emit();
      continue;
    }
    switch (op) {
      case 0: {
        const len = r.uleb();
        const start = r.pos;
        if (len === 0 || len > header.end - start) r.fail(`extended opcode length ${len} is out of bounds`);
        const sub = r.u8();
        if (sub === 1) {
          flags |= ROW_END_SEQUENCE;
          emit();
          sequences.push({ lo: seqLo, hi: address, firstRow: seqFirst, endRow: rowCount - 1 });
          if (address < seqLo) r.fail(`sequence ends at 0x${address.toString(16)} before it starts`, start);
          address = 0;
          opIndex = 0;
          file = 1;
          line = 1;
          column = 0;
          flags = defaultStmt;
          discriminator = 0;
          seqLo = -1;
        } else if (sub === 2) {
          address = r.uint(len - 1);
          opIndex = 0;
        } else if (sub === 3) {
          const name = r.cstring();
          const dirIndex = r.uleb();
          r.uleb();
          r.uleb();
          if (!scanOnly) fileTable.push(legacyFile(r, dirs, name, dirIndex));
        } else if (sub === 4) {
          discriminator = r.uleb();
        }
        r.seek(start + len);
        break;
      }
      case 1: // DW_LNS_copy
        emit();
        break;
      case 2: // DW_LNS_advance_pc
        advance(r.uleb());
        break;
      case 3: // DW_LNS_advance_line
        line += r.sleb();
        break;
      case 4: // DW_LNS_set_file
        file = r.uleb();
        break;
      case 5: // DW_LNS_set_column
        column = r.uleb();
        break;
      case 6: // DW_LNS_negate_stmt
        flags ^= ROW_IS_STMT;
        break;
      case 7: // DW_LNS_set_basic_block
        flags |= ROW_BASIC_BLOCK;
        break;
      case 8: // DW_LNS_const_add_pc
        advance(Math.floor((255 - opcodeBase) / lineRange));
        break;
      case 9: // DW_LNS_fixed_advance_pc
        address += r.u16();
        opIndex = 0;
        break;
      case 10: // DW_LNS_set_prologue_end
        flags |= ROW_PROLOGUE_END;
        break;
      case 11: // DW_LNS_set_epilogue_begin
        flags |= ROW_EPILOGUE_BEGIN;
        break;
      default: {
        // DW_LNS_set_isa (12) and opcodes unknown to us: skip their ULEB operands.
        const n = standardOpcodeLengths[op] ?? 0;
        for (let i = 0; i < n; i++) r.uleb();
      }
    }
  }
  return {
    count: scanOnly ? 0 : rowCount,
    addresses: Float64Array.from(addrCol),
    files: Int32Array.from(fileCol),
    lines: Int32Array.from(lineCol),
    columns: Int32Array.from(colCol, (c) => Math.min(c, 0x7fffffff)),
    discriminators: Int32Array.from(discCol, (c) => Math.min(c, 0x7fffffff)),
    flags: Uint8Array.from(flagCol),
    sequences,
    fileTable,
  };
}
