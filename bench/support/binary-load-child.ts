/**
 * Child process of bench/binary-load: opens a Go binary with Periscope's loader facade and
 * runs a first query of each kind (function by name, type by name, PC -> file:line), then
 * prints one JSON line with its timings (ms since this process started) and peak RSS.
 *
 * Usage: node binary-load-child.js <binary> <function> <type> [facade-module]
 *
 * The facade (src/gobinary/go-binary.ts) is imported dynamically through a computed
 * specifier so that this file compiles while the facade is being written; the interface
 * below is the API this benchmark relies on.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import type { Address } from '../../src/common/address.js';

/** The part of GoBinary's API the benchmark uses. */
interface LoadedBinary {
  findFunction(name: string): { readonly entry: Address } | undefined;
  findType(name: string): unknown;
  lineForPC(pc: Address): { readonly file: string; readonly line: number } | undefined;
  readonly functionCount: number;
  readonly typeCount: number;
}

interface FacadeModule {
  GoBinary: { open(path: string): Promise<LoadedBinary> };
}

/** What the child prints. */
export interface ChildResult {
  readonly importedMs: number;
  readonly openedMs: number;
  readonly queriedMs: number;
  readonly maxRssKiB: number;
  readonly cpuMs: number;
  readonly functionCount: number;
  readonly typeCount: number;
  readonly fn: string;
  readonly line: string;
}

async function main(): Promise<void> {
  const [binary, fnName, typeName, facadeArg] = process.argv.slice(2);
  if (!binary || !fnName || !typeName)
    throw new Error('usage: binary-load-child <binary> <function> <type> [facade]');
  const facade = facadeArg
    ? pathToFileURL(facadeArg).href
    : new URL('../../src/gobinary/go-binary.js', import.meta.url).href;
  const { GoBinary } = (await import(facade)) as FacadeModule;
  const importedMs = performance.now();
  const bin = await GoBinary.open(binary);
  const openedMs = performance.now();
  const fn = bin.findFunction(fnName);
  if (!fn) throw new Error(`${fnName} not found`);
  const type = bin.findType(typeName);
  if (type === undefined || type === null) throw new Error(`type ${typeName} not found`);
  const line = bin.lineForPC(fn.entry);
  if (!line) throw new Error(`no line for the entry of ${fnName}`);
  const queriedMs = performance.now();
  const ru = process.resourceUsage();
  const result: ChildResult = {
    importedMs,
    openedMs,
    queriedMs,
    maxRssKiB: ru.maxRSS,
    cpuMs: (ru.userCPUTime + ru.systemCPUTime) / 1000,
    functionCount: bin.functionCount,
    typeCount: bin.typeCount,
    fn: `${fnName} @ 0x${fn.entry.toString(16)}`,
    line: `${line.file}:${line.line}`,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
