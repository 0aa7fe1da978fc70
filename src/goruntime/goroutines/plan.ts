/**
 * The plan of a goroutine capture, made once per binary (and load bias), outside the
 * pause: addresses of runtime.allgs and friends, the parts of runtime.g and runtime.m to
 * copy, the status constants, and the limits that bound a capture of damaged memory.
 */
import { type Address, type LoadBias, NO_BIAS } from '../../common/address.js';
import { PeriscopeError } from '../../common/errors.js';
import type { GoBinary } from '../../gobinary/go-binary.js';
import type { RuntimeLayout } from '../../gobinary/runtime-layout.js';
import { type StackSymbols, stackSymbolsFor } from './stack-symbols.js';

/** Offsets and addresses computed once per binary, outside the pause. */
export interface GoroutineCapturePlan {
  readonly layout: RuntimeLayout;
  /** The binary's stack symbols (a signal handler's frames are walked inside the pause). */
  readonly sym: StackSymbols;
  /** Load bias of the executable in the process (0 for non-PIE, Go's default). */
  readonly bias: LoadBias;
  readonly allglen: Address;
  readonly allgs: Address;
  readonly allgptr: Address | undefined;
  /** Bytes of runtime.g copied per goroutine. */
  readonly gSize: number;
  /** The part of runtime.m copied per m: [start, start+size) within it. */
  readonly mStart: number;
  readonly mSize: number;
  readonly mVdsoSp: number | undefined;
  readonly mVdsoPc: number | undefined;
  /** Offset of m.gsignal (the g of the signal stack). */
  readonly mGsignal: number | undefined;
  readonly scanBit: number;
  readonly running: number;
  readonly syscall: number;
  readonly dead: ReadonlySet<number>;
  readonly maxGoroutines: number;
  readonly maxStackBytes: number;
  readonly maxTotalStackBytes: number;
}

/** Options of planGoroutineCapture. */
export interface CapturePlanOptions {
  /** Default NO_BIAS. */
  bias?: LoadBias;
  /** At most this many goroutines are copied (the rest are counted, not read). Default 1,000,000. */
  maxGoroutines?: number;
  /** At most this many bytes of one goroutine's stack. Default 64 MiB. */
  maxStackBytes?: number;
  /** At most this many stack bytes in all (stacks past it are not copied). Default 512 MiB. */
  maxTotalStackBytes?: number;
}

/** Prepares a capture for a binary: symbol addresses and runtime offsets, derived from DWARF. */
export function planGoroutineCapture(bin: GoBinary, opts: CapturePlanOptions = {}): GoroutineCapturePlan {
  const layout = bin.runtimeLayout();
  const bias = opts.bias ?? NO_BIAS;
  const sym = (name: string) => bin.elf.symbol(name);
  const allglen = sym('runtime.allglen');
  const allgs = sym('runtime.allgs');
  if (!allglen || !allgs)
    throw new PeriscopeError(
      'stripped',
      `${bin.path} has no symbol runtime.allgs/runtime.allglen; rebuild without -ldflags=-s and do not strip it`,
    );
  const allgptr = sym('runtime.allgptr');
  const mf = (name: string) => layout.m.fields.find((f) => f.name === name)?.offset;
  const mVdsoSp = mf('vdsoSP');
  const mVdsoPc = mf('vdsoPC');
  const mGsignal = mf('gsignal');
  const mo = layout.mOffsets;
  const mOffs = [mo.procid, mo.curg, mo.id, mo.g0, mVdsoSp, mVdsoPc, mGsignal].filter((x) => x !== undefined);
  const mStart = Math.min(...mOffs);
  const sv = layout.statusValues;
  const dead = new Set<number>();
  for (const n of ['_Gdead', '_Gdeadextra']) if (sv.has(n)) dead.add(sv.get(n)!);
  return {
    layout,
    sym: stackSymbolsFor(bin),
    bias,
    allglen: bias.toRuntime(allglen.value),
    allgs: bias.toRuntime(allgs.value),
    allgptr: allgptr ? bias.toRuntime(allgptr.value) : undefined,
    gSize: layout.g.size,
    mStart,
    mSize: Math.max(...mOffs) + 8 - mStart,
    mVdsoSp,
    mVdsoPc,
    mGsignal,
    scanBit: sv.get('_Gscan') ?? 0x1000,
    running: sv.get('_Grunning')!,
    syscall: sv.get('_Gsyscall') ?? -1,
    dead,
    maxGoroutines: opts.maxGoroutines ?? 1_000_000,
    maxStackBytes: opts.maxStackBytes ?? 64 << 20,
    maxTotalStackBytes: opts.maxTotalStackBytes ?? 512 << 20,
  };
}
