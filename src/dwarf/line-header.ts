/**
 * The header of one .debug_line program (DWARF 2–5): opcode parameters, directory and
 * file tables. Decoding the program itself is line-program.ts's job.
 */
import { ByteReader, cstringAt } from '../common/bytes.js';
import type { LineOffset } from './sections.js';

/** The string sections a v5 header's DW_FORM_line_strp / DW_FORM_strp forms point into. */
export interface LineStrings {
  readonly line: Uint8Array;
  readonly lineStr: Uint8Array;
  readonly str: Uint8Array;
}

/** One file of a program's file table, with its path already joined to its directory. */
export interface LineFile {
  /** The name as written in the table. */
  readonly name: string;
  /** Directory index as written in the table. */
  readonly dirIndex: number;
  /** Full path: name joined with its directory and (for relative directories) the comp dir. */
  readonly path: string;
  /** MD5 of the file (DWARF 5 DW_LNCT_MD5), as 32 hex digits, when present. */
  readonly md5?: string;
}

/** The parsed header of one line-number program. */
export interface LineHeader {
  readonly offset: LineOffset;
  /** Offset one past the program's last byte. */
  readonly end: number;
  /** Offset of the first opcode. */
  readonly programStart: number;
  readonly version: number;
  readonly offsetSize: 4 | 8;
  readonly addressSize: number;
  readonly minInstLength: number;
  readonly maxOpsPerInst: number;
  readonly defaultIsStmt: boolean;
  readonly lineBase: number;
  readonly lineRange: number;
  readonly opcodeBase: number;
  /** Number of ULEB operands of each standard opcode, indexed by opcode (index 0 unused). */
  readonly standardOpcodeLengths: readonly number[];
  readonly directories: readonly string[];
  /** The file table; DWARF 5 indexes it from 0, earlier versions from 1 (index 0 unused). */
  readonly files: LineFile[];
}

const SECTION = '.debug_line';

// DW_LNCT_* content types and the DW_FORM_* codes a v5 entry format may use.
const LNCT_PATH = 1;
const LNCT_DIRECTORY_INDEX = 2;
const LNCT_MD5 = 5;
const FORM = {
  block: 0x09,
  block1: 0x0a,
  data1: 0x0b,
  data2: 0x05,
  data4: 0x06,
  data8: 0x07,
  data16: 0x1e,
  string: 0x08,
  strp: 0x0e,
  lineStrp: 0x1f,
  udata: 0x0f,
  sdata: 0x0d,
} as const;

/** Joins a directory and a name like a path, leaving absolute names alone and dropping ".". */
export function joinPath(dir: string, name: string): string {
  if (name === '.' || name === '') return dir;
  if (name.startsWith('/') || dir === '' || dir === '.') return name;
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

/** Parses the program header at `offset`; compDir resolves relative directories (v2–v4). */
export function parseLineHeader(
  strings: LineStrings,
  offset: LineOffset,
  compDir?: string,
  opts: { readonly tables?: boolean } = {},
): LineHeader {
  const r = new ByteReader(strings.line, SECTION, offset);
  let unitLength = r.u32();
  let offsetSize: 4 | 8 = 4;
  if (unitLength === 0xffffffff) {
    unitLength = r.u64();
    offsetSize = 8;
  } else if (unitLength >= 0xfffffff0) {
    r.fail(`reserved unit_length 0x${unitLength.toString(16)}`, offset);
  }
  const end = r.pos + unitLength;
  if (end > strings.line.length) r.fail(`unit_length ${unitLength} runs past the end of the section`, offset);
  const version = r.u16();
  if (version < 2 || version > 5) r.fail(`unsupported line table version ${version}`, offset + offsetSize);
  let addressSize = 8;
  if (version >= 5) {
    addressSize = r.u8();
    const segSel = r.u8();
    if (segSel !== 0) r.fail(`segment selectors (size ${segSel}) are not supported`);
  }
  const headerLength = offsetSize === 8 ? r.u64() : r.u32();
  const programStart = r.pos + headerLength;
  if (programStart > end) r.fail(`header_length ${headerLength} runs past the unit`, r.pos - offsetSize);
  const minInstLength = r.u8();
  const maxOpsPerInst = version >= 4 ? r.u8() : 1;
  if (maxOpsPerInst === 0) r.fail('maximum_operations_per_instruction is 0');
  const defaultIsStmt = r.u8() !== 0;
  const lineBase = r.i8();
  const lineRange = r.u8();
  if (lineRange === 0) r.fail('line_range is 0');
  const opcodeBase = r.u8();
  if (opcodeBase === 0) r.fail('opcode_base is 0');
  const standardOpcodeLengths = [0];
  for (let i = 1; i < opcodeBase; i++) standardOpcodeLengths.push(r.u8());

  const hr = new ByteReader(strings.line.subarray(0, programStart), SECTION, r.pos);
  let directories: string[];
  let files: LineFile[];
  if (opts.tables === false) {
    // A scan of the program's sequences needs no directory or file names.
    directories = [];
    files = [];
  } else if (version >= 5) {
    const ctx = { strings, offsetSize, addressSize };
    const dirRows = readEntries(hr, ctx);
    directories = dirRows.map((e) => e.path ?? '');
    const dir0 = directories[0] ?? '';
    const base = dir0.startsWith('/') || !compDir ? dir0 : joinPath(compDir, dir0);
    const fullDir = (i: number): string => {
      const d = directories[i];
      if (d === undefined) return hr.fail(`file refers to directory ${i} of ${directories.length}`);
      return i === 0 ? base : d.startsWith('/') ? d : joinPath(base, d);
    };
    files = readEntries(hr, ctx).map((e) => {
      const name = e.path ?? '';
      const dirIndex = e.dirIndex ?? 0;
      return { name, dirIndex, path: joinPath(fullDir(dirIndex), name), ...(e.md5 ? { md5: e.md5 } : {}) };
    });
  } else {
    directories = [compDir ?? ''];
    for (let guard = 0; guard <= programStart; guard++) {
      const d = hr.cstring();
      if (d === '') break;
      directories.push(d);
    }
    files = [{ name: '', dirIndex: 0, path: '' }];
    for (let guard = 0; guard <= programStart; guard++) {
      const name = hr.cstring();
      if (name === '') break;
      const dirIndex = hr.uleb();
      hr.uleb(); // modification time
      hr.uleb(); // length
      files.push(legacyFile(hr, directories, name, dirIndex));
    }
  }
  return {
    offset,
    end,
    programStart,
    version,
    offsetSize,
    addressSize,
    minInstLength,
    maxOpsPerInst,
    defaultIsStmt,
    lineBase,
    lineRange,
    opcodeBase,
    standardOpcodeLengths,
    directories,
    files,
  };
}

/** Builds a v2–v4 file entry (from the header or DW_LNE_define_file). */
export function legacyFile(
  r: ByteReader,
  directories: readonly string[],
  name: string,
  dirIndex: number,
): LineFile {
  const dir = directories[dirIndex];
  if (dir === undefined) r.fail(`file ${name} refers to directory ${dirIndex} of ${directories.length}`);
  const comp = directories[0] ?? '';
  const full = dirIndex === 0 || dir.startsWith('/') ? dir : joinPath(comp, dir);
  return { name, dirIndex, path: joinPath(full, name) };
}

interface EntryCtx {
  strings: LineStrings;
  offsetSize: 4 | 8;
  addressSize: number;
}
interface Entry {
  path?: string;
  dirIndex?: number;
  md5?: string;
}

/** Reads a DWARF 5 entry-format description followed by its entries. */
function readEntries(r: ByteReader, ctx: EntryCtx): Entry[] {
  const formatCount = r.u8();
  const formats: [number, number][] = [];
  for (let i = 0; i < formatCount; i++) formats.push([r.uleb(), r.uleb()]);
  const count = r.uleb();
  if (count > r.remaining) r.fail(`${count} entries cannot fit in the ${r.remaining} header bytes left`);
  const out: Entry[] = [];
  for (let i = 0; i < count; i++) {
    const e: Entry = {};
    for (const [type, form] of formats) {
      const at = r.pos;
      const v = readForm(r, form, ctx);
      if (type === LNCT_PATH) {
        if (typeof v !== 'string') r.fail(`DW_LNCT_path has non-string form 0x${form.toString(16)}`, at);
        e.path = v;
      } else if (type === LNCT_DIRECTORY_INDEX) {
        if (typeof v !== 'number') r.fail(`DW_LNCT_directory_index has form 0x${form.toString(16)}`, at);
        e.dirIndex = v;
      } else if (type === LNCT_MD5 && v instanceof Uint8Array) {
        e.md5 = Array.from(v, (b) => b.toString(16).padStart(2, '0')).join('');
      }
    }
    out.push(e);
  }
  return out;
}

/** Reads one attribute value of the forms allowed in line table entry formats. */
function readForm(r: ByteReader, form: number, ctx: EntryCtx): string | number | Uint8Array {
  switch (form) {
    case FORM.string:
      return r.cstring();
    case FORM.lineStrp:
      return cstringAt(ctx.strings.lineStr, r.uint(ctx.offsetSize), '.debug_line_str');
    case FORM.strp:
      return cstringAt(ctx.strings.str, r.uint(ctx.offsetSize), '.debug_str');
    case FORM.udata:
      return r.uleb();
    case FORM.sdata:
      return r.sleb();
    case FORM.data1:
      return r.u8();
    case FORM.data2:
      return r.u16();
    case FORM.data4:
      return r.u32();
    case FORM.data8:
      return r.u64();
    case FORM.data16:
      return r.take(16);
    case FORM.block:
      return r.take(r.uleb());
    case FORM.block1:
      return r.take(r.u8());
    default:
      return r.fail(`unsupported form 0x${form.toString(16)} in a line table entry format`);
  }
}
