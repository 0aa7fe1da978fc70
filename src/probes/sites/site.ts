/**
 * A probe site: one instruction where a uprobe goes, what it is, how the kernel will handle
 * a hit there (the cost differs 20–100x), and the file offset the uprobe is registered at.
 */
import { type FileOffset, hex, type LinkAddress } from '../../common/address.js';
import { PeriscopeError } from '../../common/errors.js';
import type { GoBinary } from '../../gobinary/go-binary.js';
import { type InstructionKind, instructionKind } from '../x86/classify.js';
import type { PlacedInstruction } from '../x86/code.js';
import { type UprobeHandling, uprobeHandling } from '../x86/kernel-uprobes.js';
import type { ReturnVia } from './return-sites.js';

/** Why a site was chosen. */
export type SiteKind = 'entry' | 'return' | 'line' | 'inlined-entry' | 'call';

/** One place to probe. */
export interface ProbeSite {
  readonly kind: SiteKind;
  /** The function the probe is about (the inlined callee for an inlined copy). */
  readonly function: string;
  /** The function whose machine code holds the site. */
  readonly host: string;
  /** Link-time address (add the load bias for a running PIE). */
  readonly address: LinkAddress;
  /** Offset in the executable file: what a uprobe is registered with. */
  readonly fileOffset: FileOffset;
  readonly instruction: InstructionKind;
  /** 'emulated' (cheap) or 'stepped' (a second trap); refused instructions are never sites. */
  readonly handling: Exclude<UprobeHandling, 'refused'>;
  /** Source position for line sites and inlined copies (the call site of the copy). */
  readonly file?: string;
  readonly line?: number;
  /** Something the user should know about this site (e.g. it may fire more than once per call). */
  readonly note?: string;
  /** A return site on an emulated instruction before its RET: which RET, and the registers there. */
  readonly via?: ReturnVia;
}

/** The fields of a site that depend on the kind of probe. */
export interface SiteRole {
  readonly kind: SiteKind;
  readonly function: string;
  readonly host: string;
  readonly file?: string;
  readonly line?: number;
  readonly note?: string;
}

/** Makes a site at an instruction; a clear error when the kernel would refuse a probe there. */
export function siteAt(bin: GoBinary, p: PlacedInstruction, role: SiteRole): ProbeSite {
  const verdict = uprobeHandling(p.insn);
  if (verdict.handling === 'refused')
    throw new PeriscopeError(
      'unsupported',
      `cannot probe ${role.function} at ${hex(p.address)} (${role.kind}): ${verdict.reason}`,
    );
  const fileOffset = bin.elf.addressToFileOffset(p.address);
  if (fileOffset === undefined)
    throw new PeriscopeError('corrupt', `${hex(p.address)} is not backed by the file ${bin.path}`);
  return {
    ...role,
    address: p.address,
    fileOffset,
    instruction: instructionKind(p.insn),
    handling: verdict.handling,
  };
}
