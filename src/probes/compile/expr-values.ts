/**
 * Expressions to BPF: names (variables where the site's DWARF puts them, package variables
 * at their address), field paths (through pointers, embedded ones included), dereferences,
 * indexing of arrays, slices and strings (bounds checked), len and cap, type assertions
 * (the dynamic type's descriptor compared), `&x`, integer arithmetic with Go's wrap-around,
 * and booleans from conditions. Floating point and map lookups cannot run in BPF: refused
 * with the reason. Runtime failures (nil, unreadable memory, index out of range) jump to the
 * error handler with a code the decoder turns into the same messages snapshots give.
 */
import type { DwarfData } from '../../dwarf/dwarf-data.js';
import type { DwarfType } from '../../dwarf/types.js';
import type { GoBinary } from '../../gobinary/go-binary.js';
import {
  type Binding,
  type ConstInfo,
  type Expr,
  elemOf,
  exprText,
  kindOf,
  lookupField,
  typeName,
} from '../../goruntime/expr/index.js';
import { R0, R1, R8, R9, R10 } from '../bpf/isa.js';
import { PT_REGS } from '../pt-regs.amd64.js';
import { atAddress, type CVal, deref, fieldOff, loadScalar, sizeOf, spill, view } from './cval.js';
import { CTX, type Emitter, type Place, Refusal } from './emitter.js';
import { constant, convert, lenCap, typeAssert } from './expr-builtins.js';
import { arithmetic, conditionValue, isArith, negate } from './expr-ops.js';
import { CAPTURE } from './record-layout.js';
import { inScopeAt, type SiteFrame, type SourcePiece, variableSource } from './site-frame.js';

/** A value that exists in the function but not at this site (optimized out, out of scope, a float register). */
export class SiteUnavailable extends Error {}

/** What compiling an expression at one site needs. */
export interface CompileEnv {
  readonly bin: GoBinary;
  readonly dwarf: DwarfData;
  readonly frame: SiteFrame;
  readonly bindings: ReadonlyMap<Expr, Binding>;
  /** The checker's constant subexpressions (exact values, final types). */
  readonly consts: ReadonlyMap<Expr, ConstInfo>;
  /** Link-time address of runtime.types (type descriptors are offsets from it). */
  readonly typesBase: number;
}

/** Compiles expressions of one site into one program. */
export class ExprCompiler {
  constructor(
    readonly e: Emitter,
    readonly env: CompileEnv,
  ) {}

  get d(): DwarfData {
    return this.env.dwarf;
  }

  /** The compiled value of `x`; `dest` is where a variable assembled from registers may go directly. */
  value(x: Expr, dest?: Place): CVal {
    const c = this.env.consts.get(x);
    if (c) return constant(c);
    switch (x.kind) {
      case 'int':
        return { k: 'const', v: { c: 'int', v: x.value } };
      case 'rune':
        return { k: 'const', v: { c: 'int', v: BigInt(x.value) } };
      case 'string':
        return { k: 'const', v: { c: 'string', v: x.bytes } };
      case 'float':
      case 'imag':
        throw new Refusal(
          'floating point cannot be computed in a probe (BPF has none): capture the value itself',
        );
      case 'type':
        throw new Refusal('internal: a type used as a value');
      case 'slice':
        throw new Refusal(
          'slicing cannot run in a probe: capture the slice itself (its first elements come with it)',
        );
      case 'paren':
        return this.value(x.x, dest);
      case 'ident':
      case 'pkgvar':
        return this.name(x, dest);
      case 'selector': {
        if (this.env.bindings.get(x)) return this.name(x, dest);
        return this.select(this.value(x.x), x.name);
      }
      case 'index':
        return this.index(this.value(x.x), this.value(x.index));
      case 'call': {
        const b = this.env.bindings.get(x);
        if (b?.kind === 'convert') return convert(this, this.value(x.args[0]!), b.type);
        if (b?.kind === 'builtin' && (b.name === 'len' || b.name === 'cap'))
          return lenCap(this, b.name, this.value(x.args[0]!));
        throw new Refusal(`${exprText(x.fn)} cannot run in a probe (complex numbers are floating point)`);
      }
      case 'assert': {
        const b = this.env.bindings.get(x);
        if (b?.kind !== 'assert') throw new Refusal('internal: an unchecked type assertion');
        return typeAssert(this, this.value(x.x), b.type);
      }
      case 'unary':
        if (x.op === '*') {
          const p = this.value(x.x);
          return deref(this.e, this.d, p, this.elem(p));
        }
        if (x.op === '&') return this.addressOf(this.value(x.x));
        if (x.op === '!') return conditionValue(this, x);
        if (x.op === '+') return this.value(x.x);
        return negate(this, x.op, this.value(x.x));
      case 'binary':
        if (isArith(x.op)) return arithmetic(this, x.op, this.value(x.x), this.value(x.y));
        return conditionValue(this, x);
    }
  }

  /** The type of a typed value (constants have none). */
  typeOf(v: CVal): DwarfType {
    if (v.k === 'const') throw new Refusal('internal: the type of a constant');
    return v.t;
  }

  /** The element type of a pointer, slice or array value. */
  elem(p: CVal): DwarfType {
    const el = elemOf(this.d, this.typeOf(p));
    if (!el) throw new Refusal(`${typeName(this.typeOf(p))} has no element type in DWARF`);
    return el;
  }

  private name(x: Expr, dest?: Place): CVal {
    const b = this.env.bindings.get(x);
    if (!b) {
      if (x.kind === 'ident' && (x.name === 'true' || x.name === 'false'))
        return { k: 'const', v: { c: 'bool', v: x.name === 'true' } };
      if (x.kind === 'ident' && x.name === 'nil') return { k: 'const', v: { c: 'nil' } };
      throw new Refusal('internal: an unresolved name');
    }
    if (b.kind === 'global') {
      this.e.a.ldImm64(R0, BigInt(b.global.address + this.e.bias));
      return atAddress(this.e, b.type, R0);
    }
    if (b.kind !== 'local') throw new Refusal('internal: a type used as a value');
    const inScope = b.vars.filter((v) => inScopeAt(this.env.frame, v));
    if (inScope.length === 0) throw new SiteUnavailable(`${b.name} is not in scope at this site`);
    const span = (v: (typeof inScope)[number]) => v.scope.reduce((n, r) => n + r.high - r.low, 0);
    const v = inScope.reduce((best, x) => (span(x) < span(best) ? x : best));
    const varType = this.d.typeAt(v.type!);
    const size = sizeOf(this.d, varType);
    const src = variableSource(this.env.frame, v, size, b.name);
    if (src.kind === 'unavailable') throw new SiteUnavailable(src.reason);
    let val: CVal;
    if (src.kind === 'memory') {
      this.e.address(R0, src.at, this.env.frame.spDelta);
      val = atAddress(this.e, varType, R0);
    } else {
      const at = dest && !b.heap ? dest : { base: 'stack' as const, off: this.e.alloc(size) };
      this.assemble(src.pieces, at);
      val = { k: 'bytes', t: varType, at };
    }
    return b.heap ? deref(this.e, this.d, val, b.type) : val;
  }

  /** Writes a variable's pieces (registers, memory, constants) to `at`. */
  private assemble(pieces: readonly SourcePiece[], at: Place): void {
    const a = this.e.a;
    for (const p of pieces) {
      const [base, off] = this.e.at(at, p.offset);
      if ('reg' in p) {
        a.ldx('dw', R1, CTX, PT_REGS[p.reg]);
        storeLow(this.e, base, off, p.size);
      } else if ('bytes' in p) {
        for (let i = 0; i < p.size; i++) a.st('b', base, off + i, p.bytes[i] ?? 0);
      } else {
        const m = this.e.mark();
        const slot = this.e.alloc(8);
        this.e.address(R0, p.memory, this.env.frame.spDelta);
        a.stx('dw', R10, slot, R0);
        this.e.readInto({ base: at.base, off: at.off + p.offset }, p.size, slot);
        this.e.failUnlessRead(CAPTURE.unreadable, slot);
        this.e.release(m);
      }
    }
  }

  /** `v.name`: through a pointer, and through embedded fields as Go promotes them. */
  select(v: CVal, name: string): CVal {
    let cur = v;
    let t = this.typeOf(cur);
    if (kindOf(this.d, t) === 'ptr') {
      cur = deref(this.e, this.d, cur, this.elem(cur));
      t = this.typeOf(cur);
    }
    const f = lookupField(this.d, t, name);
    if (!f.ok) throw new Refusal(`internal: field ${name} was not checked`);
    for (const step of f.steps) {
      if (step.deref) cur = deref(this.e, this.d, cur, this.elem(cur));
      cur = view(cur, step.offset, step.type);
    }
    return cur;
  }

  private index(xv: CVal, iv: CVal): CVal {
    const d = this.d;
    let x = xv;
    let kind = kindOf(d, this.typeOf(x));
    if (kind === 'ptr') {
      x = deref(this.e, d, x, this.elem(x));
      kind = kindOf(d, this.typeOf(x));
    }
    const t = this.typeOf(x);
    if (kind === 'map')
      throw new Refusal(
        'map lookups cannot run in a probe: capture len(m), or the value where the code reads it',
      );
    const elem = kind === 'string' ? d.findType('uint8') : this.elem(x);
    if (!elem) throw new Refusal(`${typeName(t)} has no element type`);
    const es = sizeOf(d, elem);
    if (kind === 'array') {
      const n = d.underlying(t).count ?? 0;
      if (iv.k === 'const' && iv.v.c === 'int') return view(x, Number(iv.v.v) * es, elem);
      if (x.k !== 'mem')
        throw new Refusal(
          'an array held in registers cannot be indexed with a variable; use a constant index',
        );
      return this.element(x, { k: 'const', v: { c: 'int', v: BigInt(n) } }, iv, es, elem, true);
    }
    const len = view(x, fieldOff(d, t, 'len', 8), d.findType('int') ?? elem);
    const data = view(
      x,
      fieldOff(d, t, kind === 'string' ? 'str' : 'array', 0),
      d.findType('uintptr') ?? elem,
    );
    return this.element(data, len, iv, es, elem, false);
  }

  /** Element `iv` of `es`-byte elements at `base` (an address, or the array's own address), bounds-checked against `len`. */
  private element(base: CVal, len: CVal, iv: CVal, es: number, elem: DwarfType, inPlace: boolean): CVal {
    const a = this.e.a;
    loadScalar(this.e, this.d, len, R9);
    loadScalar(this.e, this.d, iv, R8);
    const ok = this.e.label('inrange');
    a.jmp('jlt', R8, R9, ok);
    this.e.fail(CAPTURE.index, R8);
    a.label(ok);
    if (inPlace && base.k === 'mem') {
      a.ldx('dw', R0, R10, base.slot);
      if (base.add !== 0) a.alu64('add', R0, base.add);
    } else loadScalar(this.e, this.d, base, R0);
    a.alu64('mul', R8, es).alu64('add', R0, R8);
    return atAddress(this.e, elem, R0);
  }

  private addressOf(v: CVal): CVal {
    if (v.k !== 'mem') throw new Refusal('only a value in memory has an address');
    const pt = this.d.findType(`*${typeName(v.t)}`);
    if (!pt) throw new Refusal(`type *${typeName(v.t)} is not in the binary`);
    this.e.a.ldx('dw', R0, R10, v.slot);
    if (v.add !== 0) this.e.a.alu64('add', R0, v.add);
    return spill(this.e, pt, R0);
  }
}

/** Stores the low `size` bytes of r1 at base + off. */
function storeLow(e: Emitter, base: ReturnType<Emitter['at']>[0], off: number, size: number): void {
  const a = e.a;
  if (size === 8) a.stx('dw', base, off, R1);
  else if (size === 4) a.stx('w', base, off, R1);
  else if (size === 2) a.stx('h', base, off, R1);
  else
    for (let i = 0; i < size; i++) {
      a.stx('b', base, off + i, R1);
      a.alu64('rsh', R1, 8);
    }
}
