/**
 * Reading another process's memory. The interface is tiny on purpose (as in Delve), so the
 * goroutine and value decoders can run over a live process, a copied snapshot, or a test
 * double alike.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { type Address, hex } from '../common/address.js';
import { PeriscopeError } from '../common/errors.js';
import { notPermittedToRead, processGone } from './proc-errors.js';

/** A source of target memory. `read` throws MemoryError when a range is not mapped. */
export interface Memory {
  read(address: Address, size: number): Uint8Array;
}

/** Memory that could not be read: unmapped, or the process is gone. */
export class MemoryError extends PeriscopeError {
  readonly address: Address;
  readonly size: number;
  constructor(address: Address, size: number, why: string) {
    super('corrupt', `cannot read ${size} byte(s) at ${hex(address)}: ${why}`);
    this.address = address;
    this.size = size;
  }
}

/** Reads a live process through /proc/PID/mem (the fallback path: one syscall per read). */
export class ProcMemFile implements Memory {
  readonly pid: number;
  private fd: number | undefined;

  constructor(pid: number) {
    this.pid = pid;
    try {
      this.fd = openSync(`/proc/${pid}/mem`, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw processGone(pid);
      if (code === 'EACCES' || code === 'EPERM') throw notPermittedToRead(pid);
      throw e;
    }
  }

  read(address: Address, size: number): Uint8Array {
    if (this.fd === undefined) throw new MemoryError(address, size, 'reader is closed');
    const buf = Buffer.allocUnsafe(size);
    let n: number;
    try {
      n = readSync(this.fd, buf, 0, size, address);
    } catch (e) {
      throw new MemoryError(address, size, (e as NodeJS.ErrnoException).code ?? String(e));
    }
    if (n !== size) throw new MemoryError(address, size, `short read (${n} bytes)`);
    return new Uint8Array(buf.buffer, buf.byteOffset, size);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
