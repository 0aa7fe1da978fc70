/**
 * What a probe's program can know of the frame at its site, from the binary alone: the CFA
 * (the stack pointer at the site plus the pcsp delta plus the return address: at an entry
 * site after the stack check, and at every RET, the delta is 0), and where each variable
 * lives at the site's PC (its DWARF location list entry, piece by piece: integer registers
 * of pt_regs, memory at CFA or register + offset, constants). Results at RET sites, which Go
 * leaves unlocated, come from the register ABI. What cannot be read from a uprobe is
 * 'unavailable' with the reason (optimized out here, a float register, a computed location).
 * At a call site the expressions name the callee's arguments, from the register ABI too.
 */
import type { LinkAddress } from '../../common/address.js';
import { locationAt, type Variable } from '../../dwarf/functions.js';
import { describeLocation } from '../../dwarf/location-expr.js';
import type { InfoOffset } from '../../dwarf/sections.js';
import type { GoBinary } from '../../gobinary/go-binary.js';
import type { PtReg } from '../pt-regs.amd64.js';
import type { ProbeSite } from '../sites/site.js';
import type { RegValue } from '../x86/straight-line.js';
import { type AbiAssignment, assignResults } from './abi.amd64.js';

/** Where an address comes from: the CFA, a register's value, or a link-time address (plus the load bias). */
export interface AddressSource {
  readonly base: 'cfa' | 'static' | PtReg;
  readonly offset: number;
}

/** One part of a value's bytes, [offset, offset + size), and where it comes from. */
export type SourcePiece =
  | { readonly offset: number; readonly size: number; readonly reg: PtReg }
  | { readonly offset: number; readonly size: number; readonly memory: AddressSource }
  | { readonly offset: number; readonly size: number; readonly bytes: Uint8Array };

/** Where a variable's value is at a site. */
export type ValueSource =
  /** Wholly in target memory: an address the program computes. */
  | { readonly kind: 'memory'; readonly at: AddressSource }
  /** Assembled from pieces (registers, memory, constants). */
  | { readonly kind: 'pieces'; readonly pieces: readonly SourcePiece[] }
  | { readonly kind: 'unavailable'; readonly reason: string };

/** The frame facts of one site. */
export interface SiteFrame {
  readonly site: ProbeSite;
  /** Link-time PC of the site. */
  readonly pc: LinkAddress;
  /** Bytes pushed below the return address at the site: CFA = sp + spDelta + 8. */
  readonly spDelta: number;
  /**
   * Values the ABI places, by DWARF variable offset: the function's results at RET sites, the
   * callee's arguments at call sites.
   */
  readonly results: ReadonlyMap<InfoOffset, AbiAssignment>;
}

/** DWARF register number to pt_regs field; XMM registers (17–32) are not in pt_regs. */
const DWARF_TO_PT: readonly (PtReg | undefined)[] = [
  'ax',
  'dx',
  'cx',
  'bx',
  'si',
  'di',
  'bp',
  'sp',
  'r8',
  'r9',
  'r10',
  'r11',
  'r12',
  'r13',
  'r14',
  'r15',
  'ip',
];

/** The frame of a site of `bin`. */
export function siteFrame(bin: GoBinary, site: ProbeSite): SiteFrame {
  const pc = site.address;
  const spDelta = bin.symtab.pcln.spDeltaAt(pc) ?? 0;
  const results = new Map<InfoOffset, AbiAssignment>();
  if (site.kind === 'call') {
    // At a CALL the callee's arguments are where the ABI hands them over: registers, and the
    // stack-assigned ones at the caller's SP (the callee's CFA), i.e. our CFA - spDelta - 8.
    const dwarf = bin.requireDwarf('probe captures');
    const fn = dwarf.findFunction(site.function);
    if (fn) {
      const params = fn.variables.filter((v) => v.isParameter && !v.isReturn && v.type !== undefined);
      const abi = assignResults(
        dwarf,
        [],
        params.map((v) => dwarf.typeAt(v.type!)),
      );
      params.forEach((v, i) => {
        const a = abi[i]!;
        results.set(v.offset, a.kind === 'stack' ? { kind: 'stack', offset: a.offset - spDelta - 8 } : a);
      });
    }
  }
  if (site.kind === 'return') {
    const dwarf = bin.requireDwarf('probe captures');
    const fn = dwarf.findFunction(site.function);
    if (fn) {
      const typed = (v: Variable) => v.type !== undefined;
      const params = fn.variables.filter((v) => v.isParameter && !v.isReturn && typed(v));
      const rets = fn.variables.filter((v) => v.isReturn && typed(v));
      const abi = assignResults(
        dwarf,
        params.map((v) => dwarf.typeAt(v.type!)),
        rets.map((v) => dwarf.typeAt(v.type!)),
      );
      rets.forEach((v, i) => {
        results.set(v.offset, abi[i]!);
      });
    }
  }
  return { site, pc, spDelta, results };
}

/** Whether `v` is in scope at the site: its lexical ranges hold the PC, or the ABI places it there (a callee's argument at a call site). */
export function inScopeAt(frame: SiteFrame, v: Variable): boolean {
  return frame.results.has(v.offset) || v.scope.some((r) => frame.pc >= r.low && frame.pc < r.high);
}

/** Where variable `v` (of `size` bytes) is at the site. */
export function variableSource(frame: SiteFrame, v: Variable, size: number, name: string): ValueSource {
  const abi = frame.results.get(v.offset);
  if (abi) return abiSource(abi, name, frame.site.via?.regs); // at a RET the results are where the ABI puts them
  const expr = locationAt(v, frame.pc);
  if (!expr || expr.length === 0)
    return { kind: 'unavailable', reason: `${name} is optimized out at this site` };
  let pieces: ReturnType<typeof describeLocation>;
  try {
    pieces = describeLocation(expr);
  } catch (e) {
    return { kind: 'unavailable', reason: `${name} has a malformed location: ${(e as Error).message}` };
  }
  const out: SourcePiece[] = [];
  let at = 0;
  for (const p of pieces) {
    const n = p.size ?? size - at;
    if (p.bitSize !== undefined || p.bitOffset !== undefined)
      return { kind: 'unavailable', reason: `${name} has a bit-piece location (${p.text})` };
    if (pieces.length === 1 && n >= size) {
      const mem = memorySource(p);
      if (mem) return { kind: 'memory', at: mem };
    }
    switch (p.kind) {
      case 'register': {
        const reg = DWARF_TO_PT[p.reg];
        if (!reg)
          return {
            kind: 'unavailable',
            reason: `${name} is in register ${p.name} at this site: floats travel in XMM registers, which a uprobe cannot read (capture it where it is in memory)`,
          };
        if (n > 8) return { kind: 'unavailable', reason: `${name}: a ${n}-byte piece in register ${p.name}` };
        out.push({ offset: at, size: n, reg });
        break;
      }
      case 'implicit-value':
        out.push({ offset: at, size: n, bytes: p.bytes });
        break;
      case 'empty':
        return { kind: 'unavailable', reason: `part of ${name} is optimized out at this site` };
      default: {
        const mem = memorySource(p);
        if (!mem)
          return { kind: 'unavailable', reason: `${name} has a location a probe cannot follow (${p.text})` };
        out.push({ offset: at, size: n, memory: mem });
      }
    }
    at += n;
  }
  if (at < size)
    return { kind: 'unavailable', reason: `${name}: its location covers ${at} of ${size} bytes here` };
  return { kind: 'pieces', pieces: out };
}

function memorySource(p: ReturnType<typeof describeLocation>[number]): AddressSource | undefined {
  switch (p.kind) {
    case 'cfa':
    case 'frame-base': // Go's frame base is DW_OP_call_frame_cfa
      return { base: 'cfa', offset: p.offset };
    case 'address':
      return { base: 'static', offset: p.address };
    case 'register-relative': {
      const reg = DWARF_TO_PT[p.reg];
      return reg ? { base: reg, offset: p.offset } : undefined;
    }
    default:
      return undefined;
  }
}

/**
 * Where an ABI-placed value is; `atRet`, for a return site before its RET, says where each
 * register's value at the RET is at the site.
 */
function abiSource(
  abi: AbiAssignment,
  name: string,
  atRet: ReadonlyMap<PtReg, RegValue> | undefined,
): ValueSource {
  if (abi.kind === 'stack') return { kind: 'memory', at: { base: 'cfa', offset: abi.offset } };
  const out: SourcePiece[] = [];
  for (const p of abi.pieces) {
    if ('xmm' in p)
      return {
        kind: 'unavailable',
        reason: `${name} is returned in register X${p.xmm}: floats travel in XMM registers, which a uprobe cannot read`,
      };
    const v = atRet ? atRet.get(p.reg) : { kind: 'reg' as const, reg: p.reg, add: 0 };
    const at = { offset: p.offset, size: p.size };
    if (v?.kind === 'reg' && v.add === 0) out.push({ ...at, reg: v.reg });
    else if (v?.kind === 'load') out.push({ ...at, memory: { base: v.base, offset: v.offset } });
    else if (v?.kind === 'const') {
      const bytes = new Uint8Array(8);
      new DataView(bytes.buffer).setBigUint64(0, BigInt.asUintN(64, v.value), true);
      out.push({ ...at, bytes: bytes.subarray(0, p.size) });
    } else
      return { kind: 'unavailable', reason: `${name}: its register at the RET is not known at this site` };
  }
  return { kind: 'pieces', pieces: out };
}
