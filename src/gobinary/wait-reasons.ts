/**
 * Tables of strings the runtime keeps in static data, read from the binary instead of
 * hardcoded per release: `runtime.waitReasonStrings` ([N]string indexed by waitReason) and
 * `runtime.gStatusStrings` ([N]string indexed by the goroutine status constants _Gidle...).
 */
import { linkAddr } from '../common/address.js';
import { FormatError } from '../common/errors.js';
import type { ElfFile } from '../elf/elf-file.js';
import { readGoString } from './go-strings.js';

const STRING_HEADER_SIZE = 16;
/** A [N]string array larger than this is not one of the runtime's tables. */
const MAX_ELEMENTS = 4096;

/** Wait reason strings indexed by runtime.waitReason value; undefined without a symbol table. */
export function readWaitReasons(elf: ElfFile): string[] | undefined {
  return readStringArray(elf, 'runtime.waitReasonStrings');
}

/**
 * Goroutine status names indexed by status value (without the _Gscan bit), e.g.
 * [1] = "runnable", [4] = "waiting"; statuses without a name are "". The _Gscan bit
 * (0x1000) is a constant the binary does not record.
 */
export function readGoroutineStatusNames(elf: ElfFile): string[] | undefined {
  return readStringArray(elf, 'runtime.gStatusStrings');
}

/** Reads a global [N]string variable by symbol name (N from the symbol size). */
export function readStringArray(elf: ElfFile, symbol: string): string[] | undefined {
  const sym = elf.symbol(symbol);
  if (!sym) return undefined;
  if (sym.size % STRING_HEADER_SIZE !== 0 || sym.size / STRING_HEADER_SIZE > MAX_ELEMENTS)
    throw new FormatError(symbol, 0, `size ${sym.size} is not that of a [N]string array`);
  const out: string[] = [];
  for (let i = 0; i < sym.size / STRING_HEADER_SIZE; i++)
    out.push(readGoString(elf, linkAddr(sym.value + i * STRING_HEADER_SIZE), `${symbol}[${i}]`));
  return out;
}
