/**
 * Inline expansion of a pc into logical frames, exactly as the runtime's inlineUnwinder
 * (runtime/symtabinl.go) does for tracebacks and runtime.CallersFrames: the pc's
 * PCDATA_InlTreeIndex names an inlinedCall in the function's FUNCDATA_InlTree; that
 * entry's parentPc is a pc in the caller whose own index and position give the next frame.
 */
import { hex, type LinkAddress, linkAddr } from '../common/address.js';
import { ByteReader } from '../common/bytes.js';
import { FormatError, PeriscopeError } from '../common/errors.js';
import type { Pclntab } from './pclntab.js';
import { FUNCDATA_INL_TREE, type GoFunc, PCDATA_INL_TREE_INDEX } from './pclntab-func.js';

/** One logical frame at a pc. */
export interface InlinedFrame {
  /** Function name as the runtime prints it (generic shapes shown as "[...]"). */
  readonly function: string;
  /** Linker name (with shapes). */
  readonly name: string;
  readonly file: string;
  readonly line: number;
  /** Whether this frame was inlined into its caller (every frame but the last). */
  readonly inlined: boolean;
  /** internal/abi.FuncID of the frame's function (release-specific numbering). */
  readonly funcID: number;
  /** Line of the function's `func` keyword (0 when the binary does not record it). */
  readonly startLine: number;
  /** The pc whose source position this frame reports (the query pc, then parentPcs). */
  readonly pc: LinkAddress;
}

/** A decoded runtime.inlinedCall. */
export interface InlinedCall {
  readonly funcID: number;
  readonly nameOff: number;
  /** Offset from the physical function's entry of a pc positioned at the call site. */
  readonly parentPc: number;
  readonly startLine: number;
}

/** Reads bytes of the binary image at a link-time address. */
export type ImageReader = (a: LinkAddress, size: number) => Uint8Array;

/** Bound on inline depth, so a corrupt tree (a cycle) cannot loop forever. */
const MAX_DEPTH = 1000;

/** Go's funcNameForPrint: the shape inside the outermost brackets becomes "...". */
export function funcNameForPrint(name: string): string {
  const i = name.indexOf('[');
  const j = name.lastIndexOf(']');
  if (i < 0 || j <= i) return name;
  return `${name.slice(0, i)}[...]${name.slice(j + 1)}`;
}

/** Expands pcs into inlined frames, reading inline trees from the binary image. */
export class InlineExpander {
  private readonly pcln: Pclntab;
  private readonly base: LinkAddress | undefined;
  private readonly read: ImageReader;

  /** `funcdataBase` is go:func.* (see findFuncdataBase); undefined if it could not be found. */
  constructor(pcln: Pclntab, funcdataBase: LinkAddress | undefined, read: ImageReader) {
    this.pcln = pcln;
    this.base = funcdataBase;
    this.read = read;
  }

  /** Logical frames at pc, innermost first; [] when no function contains pc. */
  framesAt(pc: LinkAddress): InlinedFrame[] {
    const fn = this.pcln.funcForPC(pc);
    if (!fn) return [];
    const treeOff = fn.funcdata[FUNCDATA_INL_TREE];
    const out: InlinedFrame[] = [];
    let at = pc;
    let ix = treeOff === undefined ? -1 : this.pcln.pcdataValue(fn, PCDATA_INL_TREE_INDEX, at);
    for (let depth = 0; ix >= 0; depth++) {
      if (depth >= MAX_DEPTH)
        throw new FormatError(
          'inline tree',
          treeOff!,
          `inline tree of ${fn.name} is deeper than ${MAX_DEPTH}`,
        );
      const call = this.inlinedCall(fn, treeOff!, ix);
      const name = this.pcln.funcName(call.nameOff);
      out.push(this.frame(fn, at, name, true, call.funcID, call.startLine));
      at = linkAddr(fn.entry + call.parentPc);
      ix = this.pcln.pcdataValue(fn, PCDATA_INL_TREE_INDEX, at);
    }
    out.push(this.frame(fn, at, fn.name, false, fn.funcID, fn.startLine));
    return out;
  }

  /** The funcnametab offset of the callee of entry ix of the inline tree at treeOff (nothing else decoded). */
  inlinedNameOff(treeOff: number, ix: number): number {
    if (this.base === undefined)
      throw new PeriscopeError(
        'stripped',
        'cannot expand inlined calls: the funcdata base (go:func.*) was not found',
      );
    const v120 = this.pcln.header.format === '1.20';
    const size = v120 ? 16 : 20;
    const b = this.read(linkAddr(this.base + treeOff + ix * size), size);
    const at = v120 ? 4 : 12;
    return b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24) | 0;
  }

  /** Entry ix of fn's inline tree. */
  inlinedCall(fn: GoFunc, treeOff: number, ix: number): InlinedCall {
    if (this.base === undefined)
      throw new PeriscopeError(
        'stripped',
        `cannot expand inlined calls of ${fn.name}: the funcdata base (go:func.*) was not found`,
      );
    const v120 = this.pcln.header.format === '1.20';
    const size = v120 ? 16 : 20;
    const r = new ByteReader(this.read(linkAddr(this.base + treeOff + ix * size), size), 'inline tree');
    if (v120) {
      const funcID = r.u8();
      r.skip(3);
      return { funcID, nameOff: r.i32(), parentPc: r.i32(), startLine: r.i32() };
    }
    // Go 1.18/1.19: {parent int16, funcID uint8, _ byte, file, line, func_, parentPc int32}.
    r.i16();
    const funcID = r.u8();
    r.skip(1);
    r.i32();
    r.i32();
    const nameOff = r.i32();
    return { funcID, nameOff, parentPc: r.i32(), startLine: 0 };
  }

  private frame(
    fn: GoFunc,
    pc: LinkAddress,
    name: string,
    inlined: boolean,
    funcID: number,
    startLine: number,
  ): InlinedFrame {
    if (pc < fn.entry || pc >= fn.end)
      throw new FormatError('inline tree', 0, `parent pc ${hex(pc)} lies outside ${fn.name}`);
    const fl = this.pcln.fileLine(fn, pc);
    return {
      function: funcNameForPrint(name),
      name,
      file: fl?.file ?? '?',
      line: fl?.line ?? 0,
      inlined,
      funcID,
      startLine,
      pc,
    };
  }
}
