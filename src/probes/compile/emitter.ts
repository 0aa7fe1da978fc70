/**
 * The state of one program being generated: the assembler, unique labels, the BPF stack
 * (512 bytes below r10, handed out in 8-byte-aligned pieces), the register conventions
 * (r6 the pt_regs, r7 the record once reserved, r8/r9 scratch kept across helper calls) and
 * the error path: a failing step stores its code and detail in two fixed stack slots and
 * jumps to the handler of the capture or condition being compiled.
 */
import { PeriscopeError } from '../../common/errors.js';
import { Assembler } from '../bpf/assembler.js';
import { R0, R1, R2, R3, R6, R7, R10, type Reg } from '../bpf/isa.js';
import { PT_REGS } from '../pt-regs.amd64.js';
import type { AddressSource } from './site-frame.js';

/** The pt_regs pointer (kept from entry). */
export const CTX = R6;
/** The record in the ring buffer, once reserved. */
export const REC = R7;

/** Where bytes are in BPF memory: the stack (offset from r10, negative) or the record (from r7). */
export interface Place {
  readonly base: 'stack' | 'record';
  readonly off: number;
}

/** Bytes of BPF stack. */
const STACK_BYTES = 512;
/** Fixed slots: the error code and detail of the failing step. */
export const ERR_CODE = -8;
export const ERR_AUX = -16;
const RESERVED = 16;

/** A construct a probe cannot compile; the message says why and what to do. */
export class Refusal extends PeriscopeError {
  constructor(message: string) {
    super('unsupported', message);
    this.name = 'Refusal';
  }
}

/** One program in the making. */
export class Emitter {
  readonly a = new Assembler();
  private used = RESERVED;
  private labels = 0;
  /** Where failing steps jump (set per capture or condition). */
  errorLabel = 'fail';
  /** Error labels some step jumps to (a handler nobody jumps to is dead code, which the verifier refuses). */
  readonly failTargets = new Set<string>();

  constructor(
    /** Load bias of the process (runtime = link-time + bias). */
    readonly bias: number,
  ) {}

  /** A fresh label name. */
  label(tag: string): string {
    return `${tag}.${this.labels++}`;
  }

  /** Reserves `bytes` of stack (rounded up to 8); returns its offset from r10. */
  alloc(bytes: number): number {
    const n = Math.ceil(Math.max(bytes, 1) / 8) * 8;
    if (this.used + n > STACK_BYTES)
      throw new Refusal(
        `the expression needs more than the ${STACK_BYTES} bytes of stack a BPF program has: split it into simpler captures`,
      );
    this.used += n;
    return -this.used;
  }

  /** The stack in use, to give back with `release` once temporaries are dead. */
  mark(): number {
    return this.used;
  }

  /** Frees the stack reserved since `mark`. */
  release(mark: number): void {
    this.used = mark;
  }

  /** The base register and offset of a place, plus `add`. */
  at(p: Place, add = 0): [Reg, number] {
    return [p.base === 'stack' ? R10 : REC, p.off + add];
  }

  /** Stores code and detail (a register or constant) and jumps to the error handler. */
  fail(code: number, aux: Reg | number = 0): void {
    this.a.st('w', R10, ERR_CODE, code);
    if (typeof aux === 'number') this.a.st('dw', R10, ERR_AUX, aux);
    else this.a.stx('dw', R10, ERR_AUX, aux);
    this.failTargets.add(this.errorLabel);
    this.a.ja(this.errorLabel);
  }

  /** dst = the address `src` names (CFA, a register plus offset, or a static address plus the bias). */
  address(dst: Reg, src: AddressSource, spDelta: number): void {
    const a = this.a;
    if (src.base === 'static') {
      a.ldImm64(dst, BigInt(src.offset + this.bias));
      return;
    }
    if (src.base === 'cfa') {
      a.ldx('dw', dst, CTX, PT_REGS.sp).alu64('add', dst, spDelta + 8 + src.offset);
      return;
    }
    a.ldx('dw', dst, CTX, PT_REGS[src.base]);
    if (src.offset !== 0) a.alu64('add', dst, src.offset);
  }

  /**
   * r0 = probe_read_user(place, size, *(u64 *)(r10 + addrSlot) + add): reads `size` bytes of
   * target memory into a place; the address is taken from a stack slot.
   */
  readInto(p: Place, size: number, addrSlot: number, add = 0): void {
    const a = this.a;
    a.ldx('dw', R3, R10, addrSlot);
    if (add !== 0) a.alu64('add', R3, add);
    const [base, off] = this.at(p);
    a.mov64(R1, base).alu64('add', R1, off);
    a.mov64(R2, size);
    a.call('probe_read_user');
  }

  /** Jumps to the error handler with CAPTURE code `code` and the address read, when r0 (a helper's result) is not 0. */
  failUnlessRead(code: number, addrSlot: number, add = 0): void {
    const ok = this.label('read');
    this.a.jmp('jeq', R0, 0, ok);
    this.a.ldx('dw', R1, R10, addrSlot);
    if (add !== 0) this.a.alu64('add', R1, add);
    this.fail(code, R1);
    this.a.label(ok);
  }

  /** Atomically adds 1 to the u64 at index `key` of a per-CPU array map (its fd in `mapFd`). */
  count(map: { readonly fd: number }, key: number): void {
    const a = this.a;
    const m = this.mark();
    const k = this.alloc(8);
    a.st('w', R10, k, key);
    a.ldMap(R1, map);
    a.mov64(R2, R10).alu64('add', R2, k);
    a.call('map_lookup_elem');
    const skip = this.label('count');
    a.jmp('jeq', R0, 0, skip);
    a.mov64(R1, 1).atomicAdd('dw', R0, 0, R1);
    a.label(skip);
    this.release(m);
  }
}
