/**
 * Go's register ABI on amd64 (ABIInternal, src/cmd/compile/abi-internal.md), for the values
 * DWARF does not locate: Go describes results with an empty location at their RETs, where
 * they sit in the registers the ABI assigns. Results are assigned from the first register
 * again, independently of the arguments: integers, pointers, maps, chans and funcs take one
 * integer register, strings two, slices three, interfaces two, structs field by field,
 * arrays of one element as that element; floats take XMM registers. A value that does not
 * fit in the registers left goes to the stack, after the stack-assigned arguments.
 */
import type { DwarfData } from '../../dwarf/dwarf-data.js';
import type { DwarfType } from '../../dwarf/types.js';
import { GO_INT_ARGS, type PtReg } from '../pt-regs.amd64.js';

/** One part of a register-assigned value: bytes [offset, offset + size) in a register. */
export type AbiPiece =
  | { readonly offset: number; readonly size: number; readonly reg: PtReg }
  | { readonly offset: number; readonly size: number; readonly xmm: number };

/** Where the ABI puts one value. */
export type AbiAssignment =
  | { readonly kind: 'registers'; readonly pieces: readonly AbiPiece[] }
  /** On the stack at CFA + offset (the caller's argument area). */
  | { readonly kind: 'stack'; readonly offset: number };

const FLOAT_REGS = 15;
const INT_KINDS = new Set([
  'bool',
  'int',
  'int8',
  'int16',
  'int32',
  'int64',
  'uint',
  'uint8',
  'uint16',
  'uint32',
  'uint64',
  'uintptr',
  'ptr',
  'unsafe.Pointer',
  'map',
  'chan',
  'func',
]);

/** Where the ABI puts each result, given the parameter and result types in declaration order. */
export function assignResults(
  dwarf: DwarfData,
  params: readonly DwarfType[],
  results: readonly DwarfType[],
): AbiAssignment[] {
  // Stack-assigned arguments come first in the argument area; results follow them.
  let stack = 0;
  const argRegs = { ints: 0, floats: 0 };
  for (const p of params) {
    const r = assignRegisters(dwarf, p, argRegs);
    if (!r) stack = alignUp(stack, alignOf(dwarf, p)) + sizeOf(dwarf, p);
  }
  stack = alignUp(stack, 8);
  const resRegs = { ints: 0, floats: 0 };
  return results.map((t) => {
    const pieces = assignRegisters(dwarf, t, resRegs);
    if (pieces) return { kind: 'registers', pieces };
    stack = alignUp(stack, alignOf(dwarf, t));
    const at = stack;
    stack += sizeOf(dwarf, t);
    return { kind: 'stack', offset: at };
  });
}

/** Registers for one value, consuming them from `used`; undefined (and nothing consumed) when it does not fit. */
function assignRegisters(
  dwarf: DwarfData,
  t: DwarfType,
  used: { ints: number; floats: number },
): AbiPiece[] | undefined {
  const pieces: AbiPiece[] = [];
  const trial = { ...used };
  if (!assign(dwarf, t, 0, trial, pieces, 0)) return undefined;
  used.ints = trial.ints;
  used.floats = trial.floats;
  return pieces;
}

function assign(
  dwarf: DwarfData,
  t: DwarfType,
  offset: number,
  used: { ints: number; floats: number },
  out: AbiPiece[],
  depth: number,
): boolean {
  if (depth > 16) return false;
  const u = dwarf.underlying(t);
  const size = sizeOf(dwarf, t);
  const kind = kindOf(dwarf, t);
  const int = (off: number, n: number): boolean => {
    const reg = GO_INT_ARGS[used.ints];
    if (!reg) return false;
    used.ints++;
    out.push({ offset: off, size: n, reg });
    return true;
  };
  const float = (off: number, n: number): boolean => {
    if (used.floats >= FLOAT_REGS) return false;
    out.push({ offset: off, size: n, xmm: used.floats++ });
    return true;
  };
  if (size === 0) return true;
  if (INT_KINDS.has(kind)) return int(offset, size);
  switch (kind) {
    case 'float32':
    case 'float64':
      return float(offset, size);
    case 'complex64':
    case 'complex128':
      return float(offset, size / 2) && float(offset + size / 2, size / 2);
    case 'string':
    case 'interface':
      return int(offset, 8) && int(offset + 8, 8);
    case 'slice':
      return int(offset, 8) && int(offset + 8, 8) && int(offset + 16, 8);
    case 'struct':
      return (u.fields ?? []).every(
        (f) =>
          f.type === undefined ||
          assign(dwarf, dwarf.typeAt(f.type), offset + f.offset, used, out, depth + 1),
      );
    case 'array': {
      if ((u.count ?? 0) === 0) return true;
      if (u.count !== 1 || u.elem === undefined) return false;
      return assign(dwarf, dwarf.typeAt(u.elem), offset, used, out, depth + 1);
    }
    default:
      return false;
  }
}

function kindOf(dwarf: DwarfData, t: DwarfType): string {
  return t.kind ?? dwarf.underlying(t).kind ?? 'unknown';
}

function sizeOf(dwarf: DwarfData, t: DwarfType): number {
  return t.byteSize ?? dwarf.underlying(t).byteSize ?? 0;
}

/** A type's alignment on amd64 (Go's rules: the largest alignment of its parts, at most 8). */
function alignOf(dwarf: DwarfData, t: DwarfType, depth = 0): number {
  const u = dwarf.underlying(t);
  const kind = kindOf(dwarf, t);
  if (depth > 16) return 8;
  if (kind === 'struct')
    return Math.max(
      1,
      ...(u.fields ?? []).map((f) =>
        f.type === undefined ? 1 : alignOf(dwarf, dwarf.typeAt(f.type), depth + 1),
      ),
    );
  if (kind === 'array') return u.elem === undefined ? 1 : alignOf(dwarf, dwarf.typeAt(u.elem), depth + 1);
  if (kind === 'complex64') return 4;
  const size = sizeOf(dwarf, t);
  return Math.min(8, Math.max(1, size));
}

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}
