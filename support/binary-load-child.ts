/**
 * Child process of bench/binary-load: opens a Go binary with Periscope's loader facade and
 * runs a first query of each kind (function by name, type by name, PC -> file:line), then
 * prints one JSON line with its timings (ms since this process started) and peak RSS.
 *
 * Usage: node binary-load-child.js <binary> <function> <type> [facade-module]
 *
 * The facade is src/gobinary/go-binary.ts, imported statically (its load is part of the
 * cold figure); a facade-module path replaces it with a stand-in of the same API, for
 * testing the harness only.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { GoBinary } from '../src/gobinary/go-binary.js';

/** The part of GoBinary's API the benchmark uses. */
type LoaderFacade = Pick<typeof GoBinary, 'open'>;

/** What the child prints. */
export interface ChildResult {
  readonly importedMs: number;
  readonly openedMs: number;
  readonly queriedMs: number;
  /** Time of each first query: function by name, type by name, PC -> line. */
  readonly queryMs: { readonly fn: number; readonly type: number; readonly line: number };
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
  const facade: LoaderFacade = facadeArg
    ? ((await import(pathToFileURL(facadeArg).href)) as { GoBinary: LoaderFacade }).GoBinary
    : GoBinary;
  const importedMs = performance.now();
  const bin = await facade.open(binary);
  const openedMs = performance.now();
  const fn = bin.findFunction(fnName);
  if (!fn) throw new Error(`function ${fnName} not found`);
  const fnDoneMs = performance.now();
  const type = bin.findType(typeName);
  if (!type) throw new Error(`type ${typeName} not found`);
  const typeDoneMs = performance.now();
  const line = bin.lineForPC(fn.entryPc);
  if (!line) throw new Error(`no line for the entry of ${fnName}`);
  const queriedMs = performance.now();
  const ru = process.resourceUsage();
  const result: ChildResult = {
    importedMs,
    openedMs,
    queriedMs,
    queryMs: { fn: fnDoneMs - openedMs, type: typeDoneMs - fnDoneMs, line: queriedMs - typeDoneMs },
    maxRssKiB: ru.maxRSS,
    cpuMs: (ru.userCPUTime + ru.systemCPUTime) / 1000,
    functionCount: bin.functionCount,
    typeCount: bin.typeCount,
    fn: `${fnName} @ 0x${fn.entryPc.toString(16)}`,
    line: `${line.file}:${line.line}`,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
