import { FormatError } from '../common/errors.js';
import { AT, ATE_NAMES, FORM, GO_KIND_NAMES, TAG } from './constants.js';
import type { Die } from './die.js';
import { childrenOf } from './die-reader.js';
import type { InfoOffset } from './sections.js';

/** One field of a struct type. */
export interface TypeField {
  readonly name: string;
  /** Byte offset in the struct (DW_AT_data_member_location). */
  readonly offset: number;
  readonly type: InfoOffset | undefined;
  /** DW_AT_go_embedded_field: the field is an embedded (anonymous) one. */
  readonly embedded: boolean;
}

/**
 * A type DIE as plain data. Other types are referred to by .debug_info offset (resolve them
 * with typeAt), so cyclic types are just offsets pointing at each other.
 */
export interface DwarfType {
  readonly offset: InfoOffset;
  readonly tag: number;
  /** Readable tag: 'struct', 'typedef', 'pointer', 'array', 'base', 'subroutine', ... */
  readonly tagName: string;
  readonly name: string | undefined;
  /** Size in bytes, resolved through typedefs; pointers without DW_AT_byte_size take the address size. */
  readonly byteSize: number | undefined;
  /** Go's reflect.Kind name (from DW_AT_go_kind, or the typedef target's), e.g. 'struct', 'ptr', 'map'. */
  readonly kind: string | undefined;
  /** DW_AT_type: pointee, array element, typedef target, ... */
  readonly type: InfoOffset | undefined;
  /** The element type: pointee, array element, or DW_AT_go_elem of slices, maps and channels. */
  readonly elem: InfoOffset | undefined;
  /** DW_AT_go_key of maps. */
  readonly key: InfoOffset | undefined;
  /** Arrays: the element count (DW_AT_count, or upper bound + 1). */
  readonly count: number | undefined;
  /** Structs, unions, classes: the members in order. */
  readonly fields: readonly TypeField[] | undefined;
  /** Base types: DW_ATE_* encoding name ('signed', 'unsigned', 'float', 'boolean', 'complex_float', ...). */
  readonly encoding: string | undefined;
  /** Subroutine types: the parameter types in order. */
  readonly params: readonly InfoOffset[] | undefined;
  /** DW_AT_go_dict_index of generic shape typedefs. */
  readonly dictIndex: number | undefined;
  /**
   * DW_AT_go_runtime_type: the runtime type descriptor as Go's linker writes it, an offset from
   * runtime.types (0, which the runtime reads as "no type", is reported as undefined).
   */
  readonly runtimeType: number | undefined;
}

const TAG_NAMES: Readonly<Record<number, string>> = {
  [TAG.array_type]: 'array',
  [TAG.class_type]: 'class',
  [TAG.enumeration_type]: 'enum',
  [TAG.pointer_type]: 'pointer',
  [TAG.reference_type]: 'reference',
  [TAG.string_type]: 'string',
  [TAG.structure_type]: 'struct',
  [TAG.subroutine_type]: 'subroutine',
  [TAG.typedef]: 'typedef',
  [TAG.union_type]: 'union',
  [TAG.base_type]: 'base',
  [TAG.const_type]: 'const',
  [TAG.volatile_type]: 'volatile',
  [TAG.unspecified_type]: 'unspecified',
  [TAG.subrange_type]: 'subrange',
  [TAG.rvalue_reference_type]: 'rvalue_reference',
  [TAG.atomic_type]: 'atomic',
  [TAG.ptr_to_member_type]: 'ptr_to_member',
};

/** Tags that only qualify or rename the type they refer to (sizes and kinds pass through them). */
const TRANSPARENT = new Set<number>([TAG.typedef, TAG.const_type, TAG.volatile_type, TAG.atomic_type]);
const MAX_CHAIN = 64;

/** Decodes type DIEs into DwarfType values on demand, cached by offset. */
export class TypeReader {
  private readonly cache = new Map<number, DwarfType>();
  private readonly dieAt: (offset: number) => Die;

  /** `dieAt` returns the DIE at a .debug_info offset (throwing FormatError when there is none). */
  constructor(dieAt: (offset: number) => Die) {
    this.dieAt = dieAt;
  }

  /** The type whose DIE is at `offset`. */
  typeAt(offset: number): DwarfType {
    let t = this.cache.get(offset);
    if (!t) {
      t = this.decode(this.dieAt(offset));
      this.cache.set(offset, t);
    }
    return t;
  }

  /** Follows typedefs and qualifiers to the underlying type (bounded, so cycles cannot loop). */
  underlying(t: DwarfType): DwarfType {
    let cur = t;
    for (let i = 0; i < MAX_CHAIN && TRANSPARENT.has(cur.tag) && cur.type !== undefined; i++)
      cur = this.typeAt(cur.type);
    return cur;
  }

  private decode(die: Die): DwarfType {
    const tag = die.tag;
    const tagName = TAG_NAMES[tag];
    if (tagName === undefined)
      throw new FormatError('.debug_info', die.offset, `DIE with tag 0x${tag.toString(16)} is not a type`);
    const type = die.ref(AT.type);
    const goKind = die.num(AT.go_kind);
    let byteSize = die.num(AT.byte_size);
    // go_kind 0 (Invalid) marks types the linker synthesised, such as map internals.
    let kind = goKind === undefined || goKind === 0 ? undefined : GO_KIND_NAMES[goKind & 0x1f];
    // Go writes unsafe.Pointer as a bare pointer DIE without DW_AT_type (and, in some releases, without a kind).
    if (
      kind === undefined &&
      tag === TAG.pointer_type &&
      type === undefined &&
      die.str(AT.name) === 'unsafe.Pointer'
    )
      kind = 'unsafe.Pointer';
    if ((byteSize === undefined || kind === undefined) && TRANSPARENT.has(tag) && type !== undefined) {
      const target = this.resolveChain(type);
      byteSize ??= target?.byteSize;
      kind ??= target?.kind;
    }
    if (byteSize === undefined && (tag === TAG.pointer_type || tag === TAG.reference_type))
      byteSize = die.unit.addrSize;
    let elem = die.ref(AT.go_elem);
    if (elem === undefined && (tag === TAG.pointer_type || tag === TAG.array_type)) elem = type;
    let count: number | undefined;
    let fields: TypeField[] | undefined;
    let params: InfoOffset[] | undefined;
    if (tag === TAG.array_type) count = arrayCount(die);
    else if (tag === TAG.structure_type || tag === TAG.union_type || tag === TAG.class_type)
      fields = structFields(die);
    else if (tag === TAG.subroutine_type)
      params = childrenOf(die)
        .filter((c) => c.tag === TAG.formal_parameter)
        .map((c) => c.ref(AT.type))
        .filter((x): x is InfoOffset => x !== undefined);
    const enc = die.num(AT.encoding);
    return {
      offset: die.offset,
      tag,
      tagName,
      name: die.str(AT.name),
      byteSize,
      kind,
      type,
      elem,
      key: die.ref(AT.go_key),
      count,
      fields,
      encoding: enc === undefined ? undefined : (ATE_NAMES[enc] ?? `0x${enc.toString(16)}`),
      params,
      dictIndex: die.num(AT.go_dict_index),
      runtimeType: die.num(AT.go_runtime_type) || undefined,
    };
  }

  /** The first non-transparent type reached from `offset` (undefined on a cycle or a dangling chain). */
  private resolveChain(
    offset: InfoOffset,
  ): { byteSize: number | undefined; kind: string | undefined } | undefined {
    // The first DW_AT_go_kind / DW_AT_byte_size along the chain wins: Go emits typedef
    // chains such as `context.Context` -> `context.Context` (with the kind) -> struct.
    let off: InfoOffset | undefined = offset;
    let byteSize: number | undefined;
    let kind: string | undefined;
    const seen = new Set<number>();
    for (let i = 0; i < MAX_CHAIN && off !== undefined && !seen.has(off); i++) {
      seen.add(off);
      const cached = this.cache.get(off);
      if (cached) return { byteSize: byteSize ?? cached.byteSize, kind: kind ?? cached.kind };
      const die = this.dieAt(off);
      if (!TRANSPARENT.has(die.tag)) {
        const t = this.typeAt(off);
        return { byteSize: byteSize ?? t.byteSize, kind: kind ?? t.kind };
      }
      byteSize ??= die.num(AT.byte_size);
      const k = die.num(AT.go_kind);
      if (kind === undefined && k !== undefined) kind = GO_KIND_NAMES[k & 0x1f];
      off = die.ref(AT.type);
    }
    return byteSize === undefined && kind === undefined ? undefined : { byteSize, kind };
  }
}

function arrayCount(die: Die): number | undefined {
  for (const c of childrenOf(die)) {
    if (c.tag !== TAG.subrange_type) continue;
    const n = c.num(AT.count);
    if (n !== undefined) return n;
    const ub = c.num(AT.upper_bound);
    if (ub !== undefined) return ub + 1;
  }
  return undefined;
}

function structFields(die: Die): TypeField[] {
  const out: TypeField[] = [];
  for (const c of childrenOf(die)) {
    if (c.tag !== TAG.member) continue;
    let offset = 0;
    const form = c.form(AT.data_member_location);
    if (form === FORM.exprloc || form === FORM.block1) offset = plusUconst(c.bytes(AT.data_member_location));
    else offset = c.num(AT.data_member_location) ?? 0;
    out.push({
      name: c.str(AT.name) ?? '',
      offset,
      type: c.ref(AT.type),
      embedded: c.flag(AT.go_embedded_field),
    });
  }
  return out;
}

/** Decodes the DWARF 2 style member location `DW_OP_plus_uconst n` (0 otherwise). */
function plusUconst(expr: Uint8Array | undefined): number {
  if (!expr || expr.length < 2 || expr[0] !== 0x23) return 0;
  let v = 0;
  let mul = 1;
  for (let i = 1; i < expr.length; i++) {
    v += (expr[i]! & 0x7f) * mul;
    if ((expr[i]! & 0x80) === 0) break;
    mul *= 128;
  }
  return v;
}
