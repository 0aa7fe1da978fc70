/**
 * A Go binary, opened once and queried lazily: ELF, build info, pclntab (always), DWARF
 * (when not stripped), line tables and the runtime layout. The static facts of a binary,
 * shared by every process that runs it; nothing here knows about processes.
 */
import type { LinkAddress } from '../common/address.js';
import { PeriscopeError } from '../common/errors.js';
import { asDwarfError, DwarfData } from '../dwarf/dwarf-data.js';
import type { FunctionInfo } from '../dwarf/functions.js';
import { LineIndex } from '../dwarf/line-index.js';
import type { LineRow } from '../dwarf/line-table.js';
import { dwarfSectionsOf } from '../dwarf/sections.js';
import type { DwarfType } from '../dwarf/types.js';
import { type ElfFile, openElf } from '../elf/elf-file.js';
import { type BuildInfo, readBuildInfo } from './buildinfo.js';
import { type GoSymtab, openGoSymtab } from './pclntab-open.js';
import { deriveRuntimeLayout, type RuntimeLayout } from './runtime-layout.js';
import { readWaitReasons } from './wait-reasons.js';

/** How to get DWARF back, for the messages about stripped binaries. */
export const REBUILD_WITH_DWARF =
  'rebuild without -ldflags="-s -w" (and without running strip); Go keeps DWARF by default';

/** A source position: file, line, and the function (from DWARF line tables, or the pclntab). */
export interface SourcePosition {
  readonly file: string;
  readonly line: number;
  readonly function: string | undefined;
}

/** A Go executable, opened once; every part beyond the headers is loaded on first use. */
export class GoBinary {
  readonly path: string;
  readonly elf: ElfFile;
  readonly buildInfo: BuildInfo | undefined;
  readonly symtab: GoSymtab;
  /** The DWARF of the binary, or undefined when it was stripped. */
  readonly dwarf: DwarfData | undefined;
  private lineIndex: LineIndex | undefined;
  private layout: RuntimeLayout | undefined;
  private waitReasonTable: string[] | undefined;

  private constructor(elf: ElfFile) {
    this.path = elf.path;
    this.elf = elf;
    this.buildInfo = readBuildInfo(elf);
    this.symtab = openGoSymtab(elf);
    const sections = dwarfSectionsOf(elf);
    try {
      this.dwarf = sections ? new DwarfData(sections) : undefined;
    } catch (e) {
      throw asDwarfError(e);
    }
  }

  /** Opens a Go executable; throws a one-line PeriscopeError for anything that is not one. */
  static async open(path: string): Promise<GoBinary> {
    return GoBinary.fromElf(await openElf(path));
  }

  /** Wraps an already-read ELF file. */
  static fromElf(elf: ElfFile): GoBinary {
    return new GoBinary(elf);
  }

  /** The Go version that built the binary (e.g. "go1.24.13"), if known. */
  get goVersion(): string | undefined {
    return this.buildInfo?.goVersion;
  }

  /** The GNU build ID, else the Go build ID: the key under which binary info is cached. */
  get buildId(): string | undefined {
    return this.elf.buildId();
  }

  /** True when the binary carries no DWARF (built with -ldflags=-w or stripped). */
  get stripped(): boolean {
    return this.dwarf === undefined;
  }

  /** The DWARF, or a 'stripped' error that says how to rebuild with it. */
  requireDwarf(what: string): DwarfData {
    if (this.dwarf) return this.dwarf;
    throw new PeriscopeError(
      'stripped',
      `${this.path} has no DWARF debug information, needed for ${what}; ${REBUILD_WITH_DWARF}`,
    );
  }

  /** Number of functions in the Go symbol table (pclntab), available even when stripped. */
  get functionCount(): number {
    return this.symtab.pcln.nfunc;
  }

  /** Number of named types in the DWARF (0 when stripped). */
  get typeCount(): number {
    return this.dwarf?.typeCount ?? 0;
  }

  /** The line tables of every compile unit, indexed by address (built on first use). */
  get lines(): LineIndex {
    if (!this.lineIndex) {
      const dwarf = this.requireDwarf('line tables');
      const compDirs = new Map<number, string | undefined>();
      for (const u of dwarf.units()) if (u.stmtList !== undefined) compDirs.set(u.stmtList, u.compDir);
      const s = dwarf.sections;
      this.lineIndex = LineIndex.build(
        { line: s.line, lineStr: s.lineStr, str: s.str },
        { compDirOf: (off) => compDirs.get(off) },
      );
    }
    return this.lineIndex;
  }

  /** The DWARF description of a function by fully qualified name. */
  findFunction(name: string): FunctionInfo | undefined {
    return this.requireDwarf(`function ${name}`).findFunction(name);
  }

  /** The DWARF type with this name, as DWARF spells it (`main.T`, `*main.T`, `[]int`). */
  findType(name: string): DwarfType | undefined {
    return this.requireDwarf(`type ${name}`).findType(name);
  }

  /** PC -> file:line: the DWARF line table when present, else the pclntab. */
  lineForPC(pc: LinkAddress): SourcePosition | undefined {
    if (this.dwarf) {
      const row: LineRow | undefined = this.lines.lineForPC(pc);
      if (row) return { file: row.file, line: row.line, function: this.symtab.pcln.funcForPC(pc)?.name };
    }
    const l = this.symtab.pcln.lineForPC(pc);
    return l ? { file: l.file, line: l.line, function: l.function } : undefined;
  }

  /** The runtime's data layout, derived from DWARF (cached). */
  runtimeLayout(): RuntimeLayout {
    this.layout ??= deriveRuntimeLayout(this.requireDwarf('the Go runtime layout'));
    return this.layout;
  }

  /** The wait-reason strings of this release, indexed by runtime.waitReason value. */
  waitReasons(): readonly string[] {
    this.waitReasonTable ??= readWaitReasons(this.elf) ?? [];
    return this.waitReasonTable;
  }
}
