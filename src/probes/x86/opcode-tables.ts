/**
 * Which x86-64 opcodes take a ModRM byte and what immediate follows, per opcode map, as
 * the Intel SDM's opcode tables give them for 64-bit mode. Only what an instruction's
 * length depends on; the names of instructions are not needed here.
 */

/** A 256-entry table written as 16 rows of 16 characters ('1' = yes), one row per high nibble. */
function table(rows: string): Uint8Array {
  const bits = rows.replace(/[^01]/g, '');
  if (bits.length !== 256) throw new Error(`opcode table has ${bits.length} entries, not 256`);
  return Uint8Array.from(bits, (c) => (c === '1' ? 1 : 0));
}

/** One-byte map: ModRM present (0x62, 0xc4, 0xc5 are EVEX/VEX escapes in 64-bit mode and handled apart). */
export const MODRM_1 = table(`
  1111000011110000
  1111000011110000
  1111000011110000
  1111000011110000
  0000000000000000
  0000000000000000
  0001000001010000
  0000000000000000
  1111111111111111
  0000000000000000
  0000000000000000
  0000000000000000
  1100001100000000
  1111000011111111
  0000000000000000
  0000001100000011
`);

/** Immediate kinds of the one-byte map. */
export const IMM_NONE = 0;
/** 8-bit immediate or rel8. */
export const IMM_8 = 1;
/** 16-bit immediate (RET imm16). */
export const IMM_16 = 2;
/** 32-bit, or 16-bit under a 0x66 prefix without REX.W (Intel's "z"). */
export const IMM_Z = 3;
/** 64-bit with REX.W, else like IMM_Z (MOV r, imm: Intel's "v"). */
export const IMM_V = 4;
/** ENTER: imm16 then imm8. */
export const IMM_16_8 = 5;
/** Absolute address (MOV moffs): 8 bytes, 4 under 0x67. */
export const IMM_MOFFS = 6;
/** rel32 of a near CALL/JMP/Jcc: always 4 bytes in 64-bit mode. */
export const IMM_32 = 7;
/** Group 3 (0xf6/0xf7): an immediate only for TEST (ModRM.reg 0 or 1). */
export const IMM_GROUP3 = 8;

/** One-byte map immediates (hex digit per opcode: see the IMM_ constants). */
export const IMM_1 = Uint8Array.from(
  `
  0000130000001300
  0000130000001300
  0000130000001300
  0000130000001300
  0000000000000000
  0000000000000000
  0000000033110000
  1111111111111111
  1311000000000000
  0000000000000000
  6666000013000000
  1111111144444444
  1120001350200100
  0000000000000000
  1111111177010000
  0000008800000000
`
    .replace(/\s/g, '')
    .split(''),
  (c) => Number.parseInt(c, 16),
);

/** Two-byte map (0F xx): ModRM present. */
export const MODRM_0F = table(`
  1111000000000101
  1111111111111111
  1111000011111111
  0000000000000000
  1111111111111111
  1111111111111111
  1111111111111111
  1111111011111111
  0000000000000000
  1111111111111111
  0001110000011111
  1111111111111111
  1111111100000000
  1111111111111111
  1111111111111111
  1111111111111111
`);

/** Two-byte map: an 8-bit immediate follows (shifts by imm, PSHUF*, SHLD/SHRD, BT imm, CMPPS, PINSRW, PEXTRW, SHUFPS, 3DNow!). */
export const IMM8_0F = table(`
  0000000000000001
  0000000000000000
  0000000000000000
  0000000000000000
  0000000000000000
  0000000000000000
  0000000000000000
  1111000000000000
  0000000000000000
  0000000000000000
  0000100000001000
  0000000000100000
  0010111000000000
  0000000000000000
  0000000000000000
  0000000000000000
`);
