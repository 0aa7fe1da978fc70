/**
 * The consumer side of a BPF ring buffer map. The kernel's layout (kernel/bpf/ringbuf.c):
 * page 0 holds the consumer position (mapped read-write), page 1 the producer position, then
 * the data pages, mapped twice in a row so a record that wraps is contiguous (read-only).
 * Each record: u32 length (bit 31 BUSY: still being written; bit 30 DISCARD: skip it), u32
 * page offset, the data, padded to 8 bytes. Positions are read and written with Atomics.
 */
import { BpfError } from './bpf-error.js';
import type { BpfMap } from './maps.js';
import { PROT_READ, PROT_WRITE, syscalls } from './syscalls.js';

const PAGE = 4096;
const BUSY = 0x80000000;
const DISCARD = 0x40000000;
const HEADER = 8;

/** Reads records of a ring buffer map. */
export class RingBufferReader {
  private readonly size: number;
  private readonly consumerPtr: unknown;
  private readonly producerPtr: unknown;
  private readonly consumerPos: BigUint64Array;
  private readonly producerPos: BigUint64Array;
  private readonly headers: Int32Array;
  private readonly data: Uint8Array;
  private closed = false;

  /** Maps the ring buffer of `map` (a 'ringbuf' map) into this process. */
  constructor(map: BpfMap) {
    if (map.type !== 'ringbuf')
      throw new TypeError(`map ${map.name} is a ${map.type} map, not a ring buffer`);
    const sys = syscalls();
    this.size = map.maxEntries;
    this.consumerPtr = sys.mmapShared(PAGE, PROT_READ | PROT_WRITE, map.fd, 0);
    if (!this.consumerPtr) throw new BpfError(`mmap of ring buffer ${map.name} (consumer page)`, sys.errno());
    this.producerPtr = sys.mmapShared(PAGE + 2 * this.size, PROT_READ, map.fd, PAGE);
    if (!this.producerPtr) {
      sys.munmap(this.consumerPtr, PAGE);
      throw new BpfError(`mmap of ring buffer ${map.name} (data pages)`, sys.errno());
    }
    this.consumerPos = new BigUint64Array(sys.view(this.consumerPtr, PAGE), 0, 1);
    const prod = sys.view(this.producerPtr, PAGE + 2 * this.size);
    this.producerPos = new BigUint64Array(prod, 0, 1);
    this.headers = new Int32Array(prod, PAGE, (2 * this.size) / 4);
    this.data = new Uint8Array(prod, PAGE, 2 * this.size);
  }

  /** Bytes written and not yet consumed. */
  pending(): number {
    return Number(Atomics.load(this.producerPos, 0) - Atomics.load(this.consumerPos, 0));
  }

  /**
   * Hands each complete record to `onRecord` (a view valid only during the call) and frees its
   * space; stops at a record still being written. Returns the number of records read.
   */
  poll(onRecord: (record: Uint8Array) => void, max = Number.POSITIVE_INFINITY): number {
    if (this.closed) return 0;
    let cons = Atomics.load(this.consumerPos, 0);
    const prod = Atomics.load(this.producerPos, 0);
    const mask = BigInt(this.size - 1);
    let n = 0;
    while (cons < prod && n < max) {
      const at = Number(cons & mask);
      const len = Atomics.load(this.headers, at / 4) >>> 0;
      if (len & BUSY) break;
      const bytes = len & ~(BUSY | DISCARD);
      if (!(len & DISCARD)) {
        onRecord(this.data.subarray(at + HEADER, at + HEADER + bytes));
        n++;
      }
      cons += BigInt((bytes + HEADER + 7) & ~7);
      Atomics.store(this.consumerPos, 0, cons);
    }
    return n;
  }

  /** Unmaps the buffer (the map itself is closed by its owner). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const sys = syscalls();
    sys.munmap(this.consumerPtr, PAGE);
    sys.munmap(this.producerPtr, PAGE + 2 * this.size);
  }
}
