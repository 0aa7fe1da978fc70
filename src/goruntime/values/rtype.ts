/**
 * What a runtime type descriptor (internal/abi.Type) says about itself, for dynamic types
 * the DWARF does not describe (Go omits DWARF for types only ever converted to an
 * interface): the name (Str, a NameOff from runtime.types; TFlagExtraStar drops a leading
 * '*') and the kind (Kind_ masked to reflect.Kind). Field offsets come from DWARF.
 */
import { type Address, addr } from '../../common/address.js';
import { GO_KIND_NAMES } from '../../dwarf/constants.js';
import type { DwarfType } from '../../dwarf/types.js';
import type { ValueContext } from './context.js';
import { fieldOf, goConstant } from './walk.js';

/** A runtime type descriptor's own name and kind. */
export interface RuntimeTypeInfo {
  readonly name: string;
  readonly kind: string;
}

/** Reads the name and kind of the type descriptor at `descriptor` (undefined when unreadable). */
export function runtimeTypeInfo(ctx: ValueContext, descriptor: Address): RuntimeTypeInfo | undefined {
  const abiType = ctx.dwarf.findType('internal/abi.Type') ?? ctx.dwarf.findType('runtime._type');
  if (!abiType?.byteSize) return undefined;
  const str = fieldOf(ctx, abiType, 'Str') ?? fieldOf(ctx, abiType, 'str');
  const kind = fieldOf(ctx, abiType, 'Kind_') ?? fieldOf(ctx, abiType, 'kind');
  const tflag = fieldOf(ctx, abiType, 'TFlag') ?? fieldOf(ctx, abiType, 'tflag');
  if (!str || !kind || !tflag) return undefined;
  const b = ctx.memory.read(descriptor, abiType.byteSize);
  const nameOff = new DataView(b.buffer, b.byteOffset + str.offset, 4).getInt32(0, true);
  const kindName = GO_KIND_NAMES[b[kind.offset]! & 0x1f] ?? 'invalid';
  const extraStar = (b[tflag.offset]! & goConstant(ctx, 'internal/abi.TFlagExtraStar', 2)) !== 0;
  const name = readName(ctx, addr(ctx.typesBase + nameOff));
  if (name === undefined) return undefined;
  return { name: extraStar && name.startsWith('*') ? name.slice(1) : name, kind: kindName };
}

/** An abi.Name: one flag byte, a uvarint length, then the bytes. */
function readName(ctx: ValueContext, at: Address): string | undefined {
  const head = ctx.memory.read(at, 11);
  let len = 0;
  let shift = 0;
  let i = 1;
  for (; i < head.length; i++) {
    len += (head[i]! & 0x7f) * 2 ** shift;
    shift += 7;
    if ((head[i]! & 0x80) === 0) break;
  }
  if (len > 4096) return undefined;
  return new TextDecoder().decode(ctx.memory.read(addr(at + i + 1), len));
}

// bool through complex128 (reflect.Kind 1..16), plus strings and unsafe.Pointer.
const SCALAR_KINDS = new Set([...GO_KIND_NAMES.slice(1, 17), 'string', 'unsafe.Pointer']);

/** A DWARF type with the same representation as a scalar kind (e.g. `string` for a named string type). */
export function standInFor(ctx: ValueContext, kind: string): DwarfType | undefined {
  return SCALAR_KINDS.has(kind) ? ctx.dwarf.findType(kind) : undefined;
}
