/**
 * The entries of .debug_frame: CIEs (common parameters and initial instructions) and FDEs
 * (one per function range, with its own instructions). Instructions stay raw bytes here;
 * frame-rules.ts executes them.
 */
import { ByteReader } from '../common/bytes.js';
import type { FrameOffset } from './sections.js';

/** A Common Information Entry. */
export interface Cie {
  readonly offset: FrameOffset;
  readonly version: number;
  readonly augmentation: string;
  readonly addressSize: number;
  readonly codeAlignment: number;
  readonly dataAlignment: number;
  readonly returnAddressRegister: number;
  /** Initial instructions: the rules in effect at every FDE's first address. */
  readonly instructions: Uint8Array;
  /** Section offset of instructions[0], for error messages. */
  readonly instructionsOffset: number;
}

/** A Frame Description Entry: the rules for [lo, hi). */
export interface Fde {
  readonly offset: FrameOffset;
  readonly cie: Cie;
  readonly lo: number;
  readonly hi: number;
  readonly instructions: Uint8Array;
  readonly instructionsOffset: number;
}

/** Options for parsing a frame section. */
export interface FrameParseOptions {
  /** Address size when the CIE does not say (versions 1 and 3); 8 for 64-bit targets. */
  readonly addressSize?: number;
  /** Section name, for error messages. */
  readonly section?: string;
}

/** The parsed entries of a .debug_frame section, FDEs sorted by start address. */
export interface FrameEntries {
  readonly cies: readonly Cie[];
  readonly fdes: readonly Fde[];
}

/** Parses every CIE and FDE of a .debug_frame section. */
export function parseDebugFrame(bytes: Uint8Array, opts: FrameParseOptions = {}): FrameEntries {
  const section = opts.section ?? '.debug_frame';
  const r: ByteReader = new ByteReader(bytes, section);
  const cies = new Map<number, Cie>();
  const fdes: Fde[] = [];
  // FDEs may precede their CIE; parse those after the CIEs are known.
  const deferred: { offset: number; cieOffset: number; body: number; end: number }[] = [];
  while (!r.atEnd()) {
    const offset = r.pos;
    let length = r.u32();
    let is64 = false;
    if (length === 0xffffffff) {
      length = r.u64();
      is64 = true;
    } else if (length >= 0xfffffff0) r.fail(`reserved length 0x${length.toString(16)}`, offset);
    if (length === 0) continue; // padding / terminator
    const end = r.pos + length;
    if (end > bytes.length) r.fail(`entry length ${length} runs past the end of the section`, offset);
    const idPos = r.pos;
    const id = is64 ? r.u64big() : BigInt(r.u32());
    const isCie = is64 ? id === 0xffffffffffffffffn : id === 0xffffffffn;
    if (isCie) {
      cies.set(offset, parseCie(new ByteReader(bytes.subarray(0, end), section, r.pos), offset, opts));
    } else {
      const cieOffset = Number(id);
      if (cieOffset >= bytes.length)
        r.fail(`FDE points to CIE 0x${cieOffset.toString(16)} out of bounds`, idPos);
      deferred.push({ offset, cieOffset, body: r.pos, end });
    }
    r.seek(end);
  }
  for (const d of deferred) {
    const cie = cies.get(d.cieOffset);
    if (!cie) r.fail(`FDE points to 0x${d.cieOffset.toString(16)}, which is not a CIE`, d.offset);
    const fr = new ByteReader(bytes.subarray(0, d.end), section, d.body);
    const lo = fr.uint(cie.addressSize);
    const range = fr.uint(cie.addressSize);
    if (cie.augmentation.startsWith('z')) fr.skip(fr.uleb());
    fdes.push({
      offset: d.offset as FrameOffset,
      cie,
      lo,
      hi: lo + range,
      instructions: bytes.subarray(fr.pos, d.end),
      instructionsOffset: fr.pos,
    });
  }
  fdes.sort((a, b) => a.lo - b.lo);
  return { cies: [...cies.values()], fdes };
}

function parseCie(r: ByteReader, offset: number, opts: FrameParseOptions): Cie {
  const version = r.u8();
  if (version !== 1 && version !== 3 && version !== 4)
    r.fail(`unsupported CIE version ${version}`, r.pos - 1);
  const augmentation = r.cstring();
  if (augmentation !== '' && !augmentation.startsWith('z'))
    r.fail(`unsupported CIE augmentation "${augmentation}"`, offset);
  let addressSize = opts.addressSize ?? 8;
  if (version >= 4) {
    addressSize = r.u8();
    const segment = r.u8();
    if (segment !== 0) r.fail(`segment selectors (size ${segment}) are not supported`);
  }
  const codeAlignment = r.uleb();
  const dataAlignment = r.sleb();
  const returnAddressRegister = version === 1 ? r.u8() : r.uleb();
  if (augmentation.startsWith('z')) r.skip(r.uleb());
  const end = r.bytes.length;
  return {
    offset: offset as FrameOffset,
    version,
    augmentation,
    addressSize,
    codeAlignment,
    dataAlignment,
    returnAddressRegister,
    instructions: r.bytes.subarray(r.pos, end),
    instructionsOffset: r.pos,
  };
}

/** Finds the FDE covering pc in FDEs sorted by start address (binary search). */
export function findFde(fdes: readonly Fde[], pc: number): Fde | undefined {
  let lo = 0;
  let hi = fdes.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (fdes[mid]!.lo <= pc) lo = mid + 1;
    else hi = mid;
  }
  const f = fdes[lo - 1];
  return f && pc < f.hi ? f : undefined;
}
