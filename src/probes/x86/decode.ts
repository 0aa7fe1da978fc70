/**
 * x86-64 instruction length decoder for the code Go and gcc emit: legacy prefixes, REX,
 * VEX (2 and 3 bytes), EVEX, the one-byte, 0F, 0F38 and 0F3A maps (EVEX maps 5 and 6),
 * ModRM, SIB, displacements (RIP-relative noted) and immediates. It finds where each
 * instruction starts and what it is, not what it does; `classify.ts` names it.
 */
import {
  IMM_1,
  IMM_8,
  IMM_16,
  IMM_16_8,
  IMM_32,
  IMM_GROUP3,
  IMM_MOFFS,
  IMM_V,
  IMM_Z,
  IMM8_0F,
  MODRM_0F,
  MODRM_1,
} from './opcode-tables.js';

/** Prefix flags of a decoded instruction. */
export const PFX_66 = 1;
export const PFX_67 = 2;
export const PFX_F2 = 4;
export const PFX_F3 = 8;
export const PFX_LOCK = 16;
/** ES, CS, SS or DS segment override (also Intel's branch hints and CET's NOTRACK 0x3e). */
export const PFX_SEG_OLD = 32;
/** FS or GS segment override. */
export const PFX_SEG_FSGS = 64;

/** Opcode maps: the one-byte map, 0F, 0F38, 0F3A, and EVEX maps 5 and 6 (FP16). */
export type OpcodeMap = 0 | 1 | 2 | 3 | 5 | 6;

/** Which escape introduced the instruction. */
export type Encoding = 'legacy' | 'vex' | 'evex';

/** One decoded instruction; offsets are relative to its first byte. */
export interface Instruction {
  readonly length: number;
  /** Legacy prefix bytes present (PFX_ flags); a VEX/EVEX pp field is not counted here. */
  readonly prefixes: number;
  /** The REX byte (0x40–0x4f), 0 when absent. */
  readonly rex: number;
  readonly encoding: Encoding;
  readonly map: OpcodeMap;
  /** The opcode byte within its map. */
  readonly opcode: number;
  /** The ModRM byte, -1 when the instruction has none. */
  readonly modrm: number;
  /** Whether its memory operand is RIP-relative (ModRM mod=00 r/m=101). */
  readonly ripRelative: boolean;
  /** Offset of the displacement (-1 if none) and its size. */
  readonly dispOffset: number;
  readonly dispSize: number;
  /** Offset of the immediate (-1 if none) and its size. */
  readonly immOffset: number;
  readonly immSize: number;
}

/** Why bytes could not be decoded. */
export interface DecodeFailure {
  readonly error: string;
}

const MAX_LENGTH = 15;

/** Decodes the instruction at `bytes[at]`; a failure (truncated, invalid escape) says why. */
export function decodeInstruction(bytes: Uint8Array, at: number): Instruction | DecodeFailure {
  const end = Math.min(bytes.length, at + MAX_LENGTH);
  let p = at;
  let prefixes = 0;
  let rex = 0;
  // Legacy prefixes, in any order; a REX byte counts only right before the opcode.
  for (;;) {
    if (p >= end) return { error: 'truncated in its prefixes' };
    const b = bytes[p]!;
    const flag = prefixFlag(b);
    if (flag !== 0) {
      prefixes |= flag;
      rex = 0;
      p++;
      continue;
    }
    if ((b & 0xf0) === 0x40) {
      rex = b;
      p++;
      continue;
    }
    break;
  }
  if (p >= end) return { error: 'truncated before its opcode' };
  let b = bytes[p++]!;
  let encoding: Encoding = 'legacy';
  let map: OpcodeMap = 0;
  let vexW = false;
  if (b === 0xc4 || b === 0xc5 || b === 0x62) {
    // VEX and EVEX (in 64-bit mode these bytes are never LES/LDS/BOUND).
    const n = b === 0xc5 ? 1 : b === 0xc4 ? 2 : 3;
    if (p + n >= end) return { error: 'truncated in its VEX/EVEX prefix' };
    if (b === 0xc5) {
      map = 1;
      encoding = 'vex';
    } else if (b === 0xc4) {
      const mmmmm = bytes[p]! & 0x1f;
      if (mmmmm < 1 || mmmmm > 3) return { error: `VEX opcode map ${mmmmm} is not one x86-64 defines` };
      map = mmmmm as OpcodeMap;
      vexW = (bytes[p + 1]! & 0x80) !== 0;
      encoding = 'vex';
    } else {
      const mmm = bytes[p]! & 0x07;
      if (mmm !== 1 && mmm !== 2 && mmm !== 3 && mmm !== 5 && mmm !== 6)
        return { error: `EVEX opcode map ${mmm} is not supported` };
      map = mmm as OpcodeMap;
      vexW = (bytes[p + 1]! & 0x80) !== 0;
      encoding = 'evex';
    }
    p += n;
    b = bytes[p++]!;
  } else if (b === 0x0f) {
    if (p >= end) return { error: 'truncated after 0F' };
    b = bytes[p++]!;
    map = 1;
    if (b === 0x38 || b === 0x3a) {
      map = b === 0x38 ? 2 : 3;
      if (p >= end) return { error: 'truncated after its 0F 38/3A escape' };
      b = bytes[p++]!;
    }
  }
  const opcode = b;
  const w = encoding === 'legacy' ? (rex & 8) !== 0 : vexW;
  let hasModrm: boolean;
  let imm = 0;
  if (encoding === 'legacy' && map === 0) {
    hasModrm = MODRM_1[opcode] === 1;
    imm = immediateSize(IMM_1[opcode]!, prefixes, w);
  } else if (map === 1) {
    hasModrm = encoding === 'legacy' ? MODRM_0F[opcode] === 1 : opcode !== 0x77;
    if (encoding === 'legacy' && opcode >= 0x80 && opcode <= 0x8f) imm = 4;
    else if (IMM8_0F[opcode] === 1 && (encoding === 'legacy' || opcode !== 0x0f)) imm = 1;
  } else {
    hasModrm = true;
    imm = map === 3 ? 1 : 0;
  }
  let modrm = -1;
  let ripRelative = false;
  let dispOffset = -1;
  let dispSize = 0;
  if (hasModrm) {
    if (p >= end) return { error: 'truncated before its ModRM byte' };
    modrm = bytes[p++]!;
    const mod = modrm >> 6;
    const rm = modrm & 7;
    if (mod !== 3) {
      if (rm === 4) {
        if (p >= end) return { error: 'truncated before its SIB byte' };
        const sib = bytes[p++]!;
        if (mod === 0 && (sib & 7) === 5) dispSize = 4;
      } else if (mod === 0 && rm === 5) {
        dispSize = 4;
        ripRelative = true;
      }
      if (mod === 1) dispSize = 1;
      else if (mod === 2) dispSize = 4;
    }
    if (encoding === 'legacy' && map === 0 && IMM_1[opcode] === IMM_GROUP3 && ((modrm >> 3) & 7) < 2)
      imm = opcode === 0xf6 ? 1 : prefixes & PFX_66 && !w ? 2 : 4;
  }
  if (dispSize > 0) dispOffset = p - at;
  p += dispSize;
  const immOffset = imm > 0 ? p - at : -1;
  p += imm;
  if (p > end) return { error: p - at > MAX_LENGTH ? 'longer than 15 bytes' : 'truncated in its operands' };
  return {
    length: p - at,
    prefixes,
    rex,
    encoding,
    map,
    opcode,
    modrm,
    ripRelative,
    dispOffset,
    dispSize,
    immOffset,
    immSize: imm,
  };
}

/** Whether a decode result is a failure. */
export function isFailure(r: Instruction | DecodeFailure): r is DecodeFailure {
  return (r as DecodeFailure).error !== undefined;
}

function prefixFlag(b: number): number {
  switch (b) {
    case 0x66:
      return PFX_66;
    case 0x67:
      return PFX_67;
    case 0xf2:
      return PFX_F2;
    case 0xf3:
      return PFX_F3;
    case 0xf0:
      return PFX_LOCK;
    case 0x26:
    case 0x2e:
    case 0x36:
    case 0x3e:
      return PFX_SEG_OLD;
    case 0x64:
    case 0x65:
      return PFX_SEG_FSGS;
    default:
      return 0;
  }
}

function immediateSize(kind: number, prefixes: number, w: boolean): number {
  switch (kind) {
    case IMM_8:
      return 1;
    case IMM_16:
      return 2;
    case IMM_16_8:
      return 3;
    case IMM_32:
      return 4;
    case IMM_Z:
      return prefixes & PFX_66 && !w ? 2 : 4;
    case IMM_V:
      return w ? 8 : prefixes & PFX_66 ? 2 : 4;
    case IMM_MOFFS:
      return prefixes & PFX_67 ? 4 : 8;
    default:
      return 0;
  }
}
