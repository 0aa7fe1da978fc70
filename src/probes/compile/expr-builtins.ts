/**
 * The builtins, conversions, constants and assertions of the expression language in BPF:
 * len and cap (a string's or slice's own words, an array's constant, the count in a map's
 * or channel's runtime structure, 0 when nil), integer conversions (Go's wrap-around) and
 * conversions that only rename the type, the checker's folded constants (integers, bools,
 * strings; a non-integer number is floating point, refused), and type assertions (the
 * interface's type word, through the itab for non-empty interfaces, compared with the
 * asserted type's descriptor).
 */
import type { DwarfData } from '../../dwarf/dwarf-data.js';
import type { DwarfType } from '../../dwarf/types.js';
import type { GoBinary } from '../../gobinary/go-binary.js';
import { type ConstInfo, INT_KINDS, kindOf, typeName } from '../../goruntime/expr/index.js';
import { R0, R8, R9, R10 } from '../bpf/isa.js';
import { atAddress, type CVal, deref, fieldOff, loadScalar, normalize, sizeOf, spill, view } from './cval.js';
import { type Place, Refusal } from './emitter.js';
import type { ExprCompiler } from './expr-values.js';
import { CAPTURE } from './record-layout.js';

/** A constant the checker folded, as an operand. */
export function constant(c: ConstInfo): CVal {
  const v = c.val;
  const t = c.type.k === 'go' ? { t: c.type.t } : {};
  if (v.k === 'bool') return { k: 'const', v: { c: 'bool', v: v.v }, ...t };
  if (v.k === 'string') return { k: 'const', v: { c: 'string', v: v.v }, ...t };
  if (v.im.n !== 0n || v.re.d !== 1n)
    throw new Refusal(
      'floating point cannot be computed in a probe (BPF has none): capture the value itself',
    );
  return { k: 'const', v: { c: 'int', v: v.re.n }, ...t };
}

const WORD_KINDS = new Set(['ptr', 'unsafe.Pointer', 'uintptr']);

/** T(x) for a non-constant x: between integer types (wrapping), or a new name for the same bits. */
export function convert(c: ExprCompiler, v: CVal, t: DwarfType): CVal {
  const d = c.d;
  const from = c.typeOf(v);
  const [fk, tk] = [kindOf(d, from), kindOf(d, t)];
  if (fk in INT_KINDS && tk in INT_KINDS) {
    loadScalar(c.e, d, v, R8);
    normalize(c.e, d, t, R8);
    return spill(c.e, t, R8);
  }
  const sameBits =
    sizeOf(d, from) === sizeOf(d, t) && (fk === tk || (WORD_KINDS.has(fk) && WORD_KINDS.has(tk)));
  if (sameBits && tk !== 'interface') return view(v, 0, t);
  throw new Refusal(`the conversion of ${typeName(from)} to ${typeName(t)} cannot run in a probe`);
}

/** len(v) or cap(v): views of strings and slices, constants for arrays, a runtime count for maps and channels. */
export function lenCap(c: ExprCompiler, fn: string, v: CVal): CVal {
  const d = c.d;
  const int = d.findType('int');
  if (!int) throw new Refusal('the binary has no int type in DWARF');
  let x = v;
  let t = c.typeOf(x);
  let kind = kindOf(d, t);
  if (kind === 'ptr') {
    const el = c.elem(x);
    if (kindOf(d, el) === 'array') [t, kind] = [el, 'array'];
  }
  if (kind === 'array') return { k: 'const', v: { c: 'int', v: BigInt(d.underlying(t).count ?? 0) } };
  if (kind === 'string' || kind === 'slice')
    return view(x, fieldOff(d, t, fn === 'cap' ? 'cap' : 'len', fn === 'cap' ? 16 : 8), int);
  // Maps and channels: a count in the runtime structure, 0 when nil.
  const off = runtimeCountOffset(c.env.bin, kind, fn);
  loadScalar(c.e, d, x, R0);
  const nil = c.e.label('nilcount');
  const out = spill(c.e, int, R0); // the pointer itself: 0 when nil, overwritten by the count otherwise
  c.e.a.jmp('jeq', R0, 0, nil);
  x = atAddress(c.e, int, R0);
  loadScalar(c.e, d, view(x, off, int), R0);
  c.e.a.stx('dw', R10, (out as { at: Place }).at.off, R0);
  c.e.a.label(nil);
  return out;
}

/** x.(T): the dynamic type's descriptor compared with T's; the value unboxed (a pointer-shaped T is the data word). */
export function typeAssert(c: ExprCompiler, x: CVal, target: DwarfType): CVal {
  const d = c.d;
  const t = c.typeOf(x);
  const desc = d.runtimeAddressOf(target);
  if (desc === undefined)
    throw new Refusal(`type ${typeName(target)} has no runtime type descriptor in this binary`);
  const a = c.e.a;
  const eType = d.underlying(t).fields?.find((f) => f.name === '_type');
  const uintptr = d.findType('uintptr') ?? target;
  if (eType) loadScalar(c.e, d, view(x, eType.offset, uintptr), R8);
  else {
    loadScalar(c.e, d, view(x, fieldOff(d, t, 'tab', 0), uintptr), R0);
    const nonNil = c.e.label('itab');
    a.jmp('jne', R0, 0, nonNil);
    c.e.fail(CAPTURE.assertion, 0);
    a.label(nonNil);
    const itab = atAddress(c.e, uintptr, R0);
    loadScalar(c.e, d, view(itab, itabTypeOffset(d), uintptr), R8);
  }
  a.ldImm64(R9, BigInt(c.env.typesBase + c.e.bias + desc));
  const ok = c.e.label('asserted');
  a.jmp('jeq', R8, R9, ok);
  c.e.fail(CAPTURE.assertion, R8);
  a.label(ok);
  const data = view(x, fieldOff(d, t, 'data', 8), target);
  const k = kindOf(d, target);
  if (k === 'ptr' || k === 'map' || k === 'chan' || k === 'func' || k === 'unsafe.Pointer') return data;
  return deref(c.e, d, view(x, fieldOff(d, t, 'data', 8), uintptr), target);
}

/** The offset of the type pointer in runtime.itab (internal/abi.ITab since Go 1.22). */
function itabTypeOffset(d: DwarfData): number {
  const itab = d.findType('runtime.itab') ?? d.findType('internal/abi.ITab');
  const f = itab && d.underlying(itab).fields?.find((x) => x.name === '_type' || x.name === 'Type');
  return f?.offset ?? 8;
}

/** Where len or cap of a map or channel is in its runtime structure. */
function runtimeCountOffset(bin: GoBinary, kind: string, fn: string): number {
  const d = bin.requireDwarf('probe captures');
  const field = (type: string, name: string): number | undefined => {
    const t = d.findType(type);
    return t && d.underlying(t).fields?.find((f) => f.name === name)?.offset;
  };
  let off: number | undefined;
  if (kind === 'chan') off = field('runtime.hchan', fn === 'cap' ? 'dataqsiz' : 'qcount');
  else if (kind === 'map' && fn === 'len')
    off = field('internal/runtime/maps.Map', 'used') ?? field('runtime.hmap', 'count');
  if (off === undefined) throw new Refusal(`${fn} of a ${kind} cannot be computed in a probe of this binary`);
  return off;
}
