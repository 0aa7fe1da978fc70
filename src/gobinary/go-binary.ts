/**
 * A Go binary, opened once and queried lazily: ELF, build info, pclntab (always), DWARF
 * (when not stripped), line tables and the runtime layout. The static facts of a binary,
 * shared by every process that runs it; nothing here knows about processes.
 */
import type { LinkAddress } from '../common/address.js';
import { PeriscopeError } from '../common/errors.js';
import { asDwarfError, DwarfData } from '../dwarf/dwarf-data.js';
import type { FunctionInfo } from '../dwarf/functions.js';
import type { LineStrings } from '../dwarf/line-header.js';
import { LineIndex, type LineIndexData, type LineIndexOptions } from '../dwarf/line-index.js';
import type { LineRow } from '../dwarf/line-table.js';
import { dwarfSectionsOf, LIST_SECTIONS } from '../dwarf/sections.js';
import type { DwarfType } from '../dwarf/types.js';
import { type ElfFile, openElf } from '../elf/elf-file.js';
import type { BinaryFacts, LearnedFacts } from './binary-facts.js';
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

  private constructor(elf: ElfFile, facts: BinaryFacts | undefined) {
    this.path = elf.path;
    this.elf = elf;
    this.buildInfo = readBuildInfo(elf);
    this.symtab = openGoSymtab(elf);
    this.preloadFuncdata();
    const sections = dwarfSectionsOf(elf);
    try {
      this.dwarf = sections ? new DwarfData(sections, facts?.nameIndex?.(sections)) : undefined;
      // Facts stored for these very bytes were learned from a sound .debug_info: without
      // them, its unit headers are checked now, so that a damaged one is reported on open.
      if (!facts?.nameIndex) this.dwarf?.check();
    } catch (e) {
      throw asDwarfError(e);
    }
    if (facts) {
      this.layout = facts.runtimeLayout;
      this.waitReasonTable = facts.waitReasons?.slice();
      if (facts.lines && sections) this.lineIndex = this.makeLineIndex(facts.lines);
      if (facts.symbols) elf.rememberSymbols(facts.symbols);
    }
  }

  /**
   * What was learned about the binary so far that is costly to learn again (see
   * BinaryFacts), for storing it; `GoBinary.fromElf(elf, facts)` starts from it.
   */
  facts(): LearnedFacts {
    return {
      nameIndex: this.dwarf?.builtIndex,
      lines: this.lineIndex?.data(),
      runtimeLayout: this.layout,
      waitReasons: this.waitReasonTable,
      symbols: this.elf.symbolsLookedUp(),
    };
  }

  /**
   * Reads the funcdata (inline trees, which unwinding inside a pause reads) now, so that no
   * pause waits on the file: Go 1.26 puts it in the pclntab, held already; earlier releases
   * at the end of .rodata, from go:func.* to the end of that section.
   */
  private preloadFuncdata(): void {
    const base = this.symtab.funcdataBase?.address;
    if (base === undefined) return;
    const sec = this.elf.sectionForAddress(base);
    if (sec && !this.elf.holdsSection(sec)) this.elf.preload(base, sec.addr + sec.size - base);
  }

  /** Opens a Go executable; throws a one-line PeriscopeError for anything that is not one. */
  static async open(path: string): Promise<GoBinary> {
    return GoBinary.fromElf(await openElf(path));
  }

  /** Wraps an ELF file already opened; `facts` were stored for a binary with the same bytes. */
  static fromElf(elf: ElfFile, facts?: BinaryFacts): GoBinary {
    return new GoBinary(elf, facts);
  }

  /** The Go version that built the binary (e.g. "go1.24.13"), if known. */
  get goVersion(): string | undefined {
    return this.buildInfo?.goVersion;
  }

  /**
   * Builds now what every snapshot of the binary needs: the DWARF name index, the runtime
   * layout and the wait reasons (each is otherwise built on first use). Never throws: what
   * fails is reported when it is used.
   */
  loadIndexes(): void {
    try {
      if (this.dwarf) {
        this.dwarf.index();
        this.runtimeLayout();
      }
      this.waitReasons();
    } catch {
      // The same call fails again where its result is needed, with its error.
    }
  }

  /**
   * Drops what only compiling a spec reads (location and range lists, 15% of a large binary's
   * size): the next prepare reads them again. Call between prepares, never during one.
   */
  trim(): void {
    for (const name of LIST_SECTIONS) {
      const sec = this.elf.sectionByName(name);
      if (sec) this.elf.dropSection(sec);
    }
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
      const s = dwarf.sections;
      this.lineIndex = LineIndex.build({ line: s.line, lineStr: s.lineStr, str: s.str }, this.lineOptions());
    }
    return this.lineIndex;
  }

  private makeLineIndex(data: LineIndexData): LineIndex {
    const s = this.requireDwarf('line tables').sections;
    const strings: LineStrings = {
      get line() {
        return s.line;
      },
      get lineStr() {
        return s.lineStr;
      },
      get str() {
        return s.str;
      },
    };
    return LineIndex.fromData(strings, this.lineOptions(), data);
  }

  /** Comp dirs of the programs' units, looked up when a program's header is first read. */
  private lineOptions(): LineIndexOptions {
    let compDirs: Map<number, string | undefined> | undefined;
    return {
      compDirOf: (off) => {
        if (!compDirs) {
          compDirs = new Map();
          for (const u of this.requireDwarf('line tables').units())
            if (u.stmtList !== undefined) compDirs.set(u.stmtList, u.compDir);
        }
        return compDirs.get(off);
      },
    };
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

  /**
   * PC -> line as Go's traceback prints it, from the pclntab alone: reads no DWARF (so an
   * agent need not hold the line tables, 10% of a large binary, for an error message).
   */
  goLineForPC(pc: LinkAddress): number | undefined {
    return this.symtab.pcln.lineForPC(pc)?.line;
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
