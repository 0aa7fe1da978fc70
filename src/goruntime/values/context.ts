/**
 * What value decoding needs to know about one process running one binary: the binary's
 * DWARF and symbols, the process's memory, its load bias, the runtime address of the type
 * descriptors and the render limits. Plain data, so a decoder can also run over a copy of
 * memory taken during a pause.
 */
import { type Address, type LoadBias, NO_BIAS } from '../../common/address.js';
import { PeriscopeError } from '../../common/errors.js';
import type { DwarfData } from '../../dwarf/dwarf-data.js';
import type { GoBinary } from '../../gobinary/go-binary.js';
import type { RuntimeLayout } from '../../gobinary/runtime-layout.js';
import type { Memory } from '../../proc/memory.js';
import type { Redactor } from './redaction.js';
import { type RenderLimits, renderLimits } from './render-limits.js';

/** Everything a value decoder reads from: binary facts, process memory, limits. */
export interface ValueContext {
  readonly bin: GoBinary;
  readonly dwarf: DwarfData;
  readonly memory: Memory;
  readonly layout: RuntimeLayout;
  /** Load bias: runtime address minus link-time address (0 for non-PIE binaries). */
  readonly bias: LoadBias;
  /** Runtime address of the `runtime.types` symbol (type descriptors are offsets from it). */
  readonly typesBase: Address;
  readonly limits: RenderLimits;
  /** Whether well-known types (time.Time, sync.Mutex, ...) get their pretty forms (default true). */
  readonly pretty: boolean;
  /** Secret-looking names and types whose values are replaced by a mark (redaction.ts); none when absent. */
  readonly redact?: Redactor;
}

/** Builds a ValueContext for a process running `bin` (throws 'stripped' without DWARF). */
export function makeValueContext(
  bin: GoBinary,
  memory: Memory,
  bias: LoadBias = NO_BIAS,
  limits: Partial<RenderLimits> = {},
): ValueContext {
  const dwarf = bin.requireDwarf('decoding Go values');
  const types = bin.elf.symbol('runtime.types') ?? bin.elf.symbol('type:*');
  if (!types) {
    throw new PeriscopeError(
      'stripped',
      `${bin.path} has no runtime.types symbol, needed to find the dynamic types of interfaces; rebuild without -ldflags=-s`,
    );
  }
  return {
    bin,
    dwarf,
    memory,
    layout: bin.runtimeLayout(),
    bias,
    typesBase: bias.toRuntime(types.value),
    limits: renderLimits(limits),
    pretty: true,
  };
}

/** The same context with other limits (for callers that render one value differently). */
export function withLimits(ctx: ValueContext, limits: Partial<RenderLimits>): ValueContext {
  return { ...ctx, limits: renderLimits({ ...ctx.limits, ...limits }) };
}

/** The same context without pretty forms: every value in its plain structural form. */
export function withoutPretty(ctx: ValueContext): ValueContext {
  return { ...ctx, pretty: false };
}

/** The same context with values matching `redactor`'s rules replaced by marks (undefined: none). */
export function withRedaction(ctx: ValueContext, redactor: Redactor | undefined): ValueContext {
  if (redactor === undefined) {
    const { redact: _r, ...rest } = ctx;
    return rest;
  }
  return { ...ctx, redact: redactor };
}
