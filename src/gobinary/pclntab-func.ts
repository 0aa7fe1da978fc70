/**
 * One `_func` record of the pclntab (runtime._func): the per-function metadata that
 * points at the function's pc-value tables and funcdata.
 */
import { type LinkAddress, linkAddr } from '../common/address.js';
import type { ByteReader } from '../common/bytes.js';

/** runtime._func flag bits (internal/abi.FuncFlag). */
export const FUNC_FLAG_TOPFRAME = 1 << 0;
export const FUNC_FLAG_SPWRITE = 1 << 1;
export const FUNC_FLAG_ASM = 1 << 2;

/** Indices into the pcdata table (internal/abi.PCDATA_*). */
export const PCDATA_UNSAFE_POINT = 0;
export const PCDATA_STACK_MAP_INDEX = 1;
export const PCDATA_INL_TREE_INDEX = 2;
export const PCDATA_ARG_LIVE_INDEX = 3;

/** Indices into the funcdata table (internal/abi.FUNCDATA_*). */
export const FUNCDATA_ARGS_POINTER_MAPS = 0;
export const FUNCDATA_LOCALS_POINTER_MAPS = 1;
export const FUNCDATA_STACK_OBJECTS = 2;
export const FUNCDATA_INL_TREE = 3;
export const FUNCDATA_OPEN_CODED_DEFER_INFO = 4;
export const FUNCDATA_ARG_INFO = 5;
export const FUNCDATA_ARG_LIVE_INFO = 6;
export const FUNCDATA_WRAP_INFO = 7;

/** A decoded _func record. Table offsets (pcsp, pcfile, pcln, pcdata) are into pctab; 0 = none. */
export interface GoFunc {
  /** Index in the function table. */
  readonly index: number;
  /** Symbol name as the linker wrote it (generic shapes included: `F[go.shape.int]`). */
  readonly name: string;
  readonly entry: LinkAddress;
  /** First pc past the function (the next function's entry, or the end of text). */
  readonly end: LinkAddress;
  /** Size of the arguments and results, in bytes. */
  readonly args: number;
  /** Offset from entry of the deferreturn call, 0 if none. */
  readonly deferreturn: number;
  readonly pcsp: number;
  readonly pcfile: number;
  readonly pcln: number;
  readonly cuOffset: number;
  /** Line of the `func` keyword (0 for Go 1.18/1.19 binaries, which do not record it). */
  readonly startLine: number;
  /** internal/abi.FuncID: which special runtime function this is; numbering changes across releases. */
  readonly funcID: number;
  /** FUNC_FLAG_* bits. */
  readonly flag: number;
  /** pctab offsets of the pcdata tables, by PCDATA_* index (0 = absent). */
  readonly pcdata: readonly number[];
  /** Offsets from the funcdata base (go:func.*) by FUNCDATA_* index; undefined = absent. */
  readonly funcdata: readonly (number | undefined)[];
}

/** Size of the fixed part of _func in the given pclntab format. */
export function funcRecordSize(format: '1.18' | '1.20'): number {
  return format === '1.20' ? 44 : 40;
}

/**
 * Decodes the _func at `offset` of the function table. `name` resolves a funcnametab
 * offset; `end` is the function's end address, known from the function table.
 */
export function decodeFuncRecord(
  r: ByteReader,
  offset: number,
  format: '1.18' | '1.20',
  textStart: number,
  index: number,
  end: number,
  name: (nameOff: number) => string,
): GoFunc {
  r.seek(offset);
  const entryOff = r.u32();
  const nameOff = r.i32();
  const args = r.i32();
  const deferreturn = r.u32();
  const pcsp = r.u32();
  const pcfile = r.u32();
  const pcln = r.u32();
  const npcdata = r.u32();
  const cuOffset = r.u32();
  const startLine = format === '1.20' ? r.i32() : 0;
  const funcID = r.u8();
  const flag = r.u8();
  r.u8(); // padding
  const nfuncdata = r.u8();
  if (npcdata > r.remaining / 4) r.fail(`npcdata ${npcdata} does not fit`, offset + 28);
  const pcdata: number[] = [];
  for (let i = 0; i < npcdata; i++) pcdata.push(r.u32());
  const funcdata: (number | undefined)[] = [];
  for (let i = 0; i < nfuncdata; i++) {
    const v = r.u32();
    funcdata.push(v === 0xffffffff ? undefined : v);
  }
  return {
    index,
    name: name(nameOff),
    entry: linkAddr(textStart + entryOff),
    end: linkAddr(end),
    args,
    deferreturn,
    pcsp,
    pcfile,
    pcln,
    cuOffset,
    startLine,
    funcID,
    flag,
    pcdata,
    funcdata,
  };
}
