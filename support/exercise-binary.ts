/**
 * Runs every query `periscope inspect` can make on a binary's bytes, so that robustness
 * tests can feed it damaged files: it must return or throw a PeriscopeError, nothing else.
 */
import { binarySummary, functionView, typeView } from '../src/cli/commands/inspect-view.js';
import { ElfFile } from '../src/elf/elf-file.js';
import { GoBinary } from '../src/gobinary/go-binary.js';

/** Opens the bytes as a Go binary and queries functions, types, lines, runtime layout and inline frames. */
export function exerciseBinary(bytes: Uint8Array): void {
  const bin = GoBinary.fromElf(new ElfFile(bytes, 'damaged'));
  binarySummary(bin);
  bin.waitReasons();
  const main = bin.symtab.pcln.funcByName('main.main');
  const fns = bin.symtab.pcln.functions().slice(0, 50);
  for (const f of fns) {
    bin.symtab.inlinedFramesAt(f.entry);
    bin.symtab.pcln.lineForPC(f.entry);
  }
  if (bin.stripped || !bin.dwarf) return;
  const dwarf = bin.dwarf;
  functionView(bin, dwarf, 'main.main');
  functionView(bin, dwarf, 'main.distance');
  typeView(dwarf, 'main.Point');
  typeView(dwarf, 'runtime.g');
  for (const name of dwarf.functionNames().slice(0, 30)) functionView(bin, dwarf, name);
  for (const f of fns) bin.lineForPC(f.entry);
  if (main) bin.lineForPC(main.entry);
  bin.runtimeLayout();
}
