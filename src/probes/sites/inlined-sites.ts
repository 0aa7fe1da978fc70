/**
 * Every inlined copy of a function (DWARF DW_TAG_inlined_subroutine): the functions hosting
 * one are found from the pclntab's inline trees (cheap, no DWARF walk of the whole binary),
 * then each host's DWARF gives the copies' address ranges. A copy's entry site is the lowest
 * address of its ranges. Returns of an inlined copy are not RETs (the code just continues in
 * the host), so there are no return sites for them.
 */
import { hex } from '../../common/address.js';
import type { InlinedCall } from '../../dwarf/functions.js';
import type { GoBinary } from '../../gobinary/go-binary.js';
import { FUNCDATA_INL_TREE, type GoFunc, PCDATA_INL_TREE_INDEX } from '../../gobinary/pclntab-func.js';
import { functionCode } from './function-code.js';
import { type ProbeSite, siteAt } from './site.js';

/** Bound on inline-tree entries read per function, so a corrupt tree cannot make us loop. */
const MAX_INLINE_ENTRIES = 1 << 16;

/** The entry sites of every inlined copy of the function `name` (empty when it is never inlined). */
export function inlinedSites(bin: GoBinary, name: string): ProbeSite[] {
  const dwarf = bin.requireDwarf(`the inlined copies of ${name}`);
  const out: ProbeSite[] = [];
  for (const host of hostsOf(bin, name)) {
    const info = dwarf.functionAt(host.entry);
    if (!info) continue;
    const code = functionCode(bin, host);
    const copies: InlinedCall[] = [];
    collect(info.inlined, name, copies);
    for (const c of copies) {
      if (c.ranges.length === 0) continue;
      const low = Math.min(...c.ranges.map((r) => r.low));
      const i = code.indexOf.get(low);
      if (i === undefined) continue; // not in this host's code (a corrupt range): never guess
      const backEdge = code.branches.some((b) => b.to === low && b.from > low && inRanges(c, b.from));
      const file =
        c.callFile !== undefined && info.stmtList !== undefined
          ? fileOf(bin, info.stmtList, c.callFile)
          : undefined;
      out.push(
        siteAt(bin, code.instructions[i]!, {
          kind: 'inlined-entry',
          function: name,
          host: host.name,
          file,
          line: c.callLine,
          note: backEdge
            ? `a loop of the inlined body jumps back to ${hex(low)}: fires once per iteration`
            : undefined,
        }),
      );
    }
  }
  return out.sort((a, b) => a.address - b.address);
}

/** Functions whose inline tree names `name` (a tree that cannot be read is skipped: never guess a site). */
function hostsOf(bin: GoBinary, name: string): GoFunc[] {
  const pcln = bin.symtab.pcln;
  const inline = bin.symtab.inline;
  const hosts: GoFunc[] = [];
  if (bin.symtab.funcdataBase === undefined) return hosts;
  for (let i = 0; i < pcln.nfunc; i++) {
    const fn = pcln.funcAt(i);
    const tree = fn.funcdata[FUNCDATA_INL_TREE];
    if (tree === undefined) continue;
    try {
      let max = -1;
      for (const r of pcln.pcRanges(fn, PCDATA_INL_TREE_INDEX)) if (r.value > max) max = r.value;
      for (let ix = 0; ix <= Math.min(max, MAX_INLINE_ENTRIES); ix++) {
        if (pcln.funcName(inline.inlinedCall(fn, tree, ix).nameOff) === name) {
          hosts.push(fn);
          break;
        }
      }
    } catch {
      // A corrupt inline tree: its copies, if any, are not offered.
    }
  }
  return hosts;
}

function collect(calls: readonly InlinedCall[], name: string, out: InlinedCall[]): void {
  for (const c of calls) {
    if (c.name === name) out.push(c);
    collect(c.inlined, name, out);
  }
}

function inRanges(c: InlinedCall, pc: number): boolean {
  return c.ranges.some((r) => pc >= r.low && pc < r.high);
}

function fileOf(
  bin: GoBinary,
  stmtList: Parameters<GoBinary['lines']['table']>[0],
  index: number,
): string | undefined {
  try {
    return bin.lines.table(stmtList).filePath(index);
  } catch {
    return undefined;
  }
}
