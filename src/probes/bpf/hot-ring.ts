/**
 * The hot ring: a ring of event records in the one value of an mmap-able BPF array, written by
 * probe programs without a helper call (compile/emit-ring.ts) and read here. A BPF ring
 * buffer's reserve and submit cost ~70–80 ns a hit here (a lock taken with interrupts off,
 * the header exchanged, the wake-up test: bench/probe-profile.ts); this ring costs a
 * compare-and-exchange of the producer position and an exchange of the record's header.
 *
 * Layout of the value: the producer position (u64) at PRODUCER, the consumer position (u64)
 * on its own cache line at CONSUMER, then the data at DATA: `size` bytes (a power of 2) plus
 * SLACK after them. A record at position p lives at DATA + (p mod size), contiguous: one that
 * starts near the end runs on into the slack instead of wrapping (the verifier sees a bounded
 * offset, and no byte of [0, size) is used twice while the record is in the ring). A record is
 * a u64 header, its length once committed (0 while being written), then its bytes, padded to
 * 8. The consumer zeroes every byte it consumed before moving its position past them, so a
 * header not yet written reads 0, whatever was there before.
 *
 * There is no wake-up of its own: a producer that finds the consumer waiting at its record (the
 * ring was empty) discards an empty record in the overflow ring buffer, whose fd the consumer
 * polls (the producer's header exchange and the consumer's position store are both full
 * barriers, so one of them sees the other).
 */
import { BpfError } from './bpf-error.js';
import type { BpfMap, MapSpec } from './maps.js';
import { PROT_READ, PROT_WRITE, syscalls } from './syscalls.js';

/** Offset of the producer position (u64) in the value. */
export const HOT_PRODUCER = 0;
/** Offset of the consumer position (u64), on a cache line of its own. */
export const HOT_CONSUMER = 64;
/** Offset of the data. */
export const HOT_DATA = 128;
/** Bytes of a record's header (its length, u64, written last). */
export const HOT_HEADER = 8;
/** Bytes after the ring's data, for a record that starts near the end: the largest record the compiler makes, with its header. */
export const HOT_SLACK = 16 * 1024 + HOT_HEADER;

const PAGE = 4096;
/** Records consumed between stores of the consumer position (space is freed at least this often). */
const CONSUMER_STORE_EVERY = 64;

/** Bytes a record of `bytes` takes in the ring (header and padding included). */
export function hotRecordBytes(bytes: number): number {
  return (bytes + HOT_HEADER + 7) & ~7;
}

/** The array map spec of a hot ring of `size` bytes of data (a power of 2, at least 4096). */
export function hotRingSpec(name: string, size: number): MapSpec {
  if (size < PAGE || (size & (size - 1)) !== 0)
    throw new RangeError(`hot ring size ${size} is not a power of 2 ≥ 4096`);
  return {
    name,
    type: 'array',
    keySize: 4,
    valueSize: HOT_DATA + size + HOT_SLACK,
    maxEntries: 1,
    mmapable: true,
  };
}

/** The data bytes of a hot ring map. */
export function hotRingSize(map: MapSpec): number {
  return map.valueSize - HOT_DATA - HOT_SLACK;
}

/** Reads records of a hot ring (an array map made from hotRingSpec). */
export class HotRingReader {
  private readonly size: number;
  private readonly length: number;
  private readonly ptr: unknown;
  private readonly producerPos: BigUint64Array;
  private readonly consumerPos: BigUint64Array;
  private readonly headers: Int32Array;
  private readonly bytes: Uint8Array;
  private closed = false;

  /** Maps the value of `map` into this process (read-write: the consumer moves its position and zeroes what it read). */
  constructor(map: BpfMap) {
    if (map.type !== 'array' || !map.mmapable || map.maxEntries !== 1)
      throw new TypeError(`map ${map.name} is not a hot ring (an mmap-able array of one value)`);
    const sys = syscalls();
    this.size = hotRingSize(map);
    this.length = Math.ceil(map.valueSize / PAGE) * PAGE;
    this.ptr = sys.mmapShared(this.length, PROT_READ | PROT_WRITE, map.fd, 0);
    if (!this.ptr) throw new BpfError(`mmap of hot ring ${map.name}`, sys.errno());
    const buf = sys.view(this.ptr, this.length);
    this.producerPos = new BigUint64Array(buf, HOT_PRODUCER, 1);
    this.consumerPos = new BigUint64Array(buf, HOT_CONSUMER, 1);
    this.headers = new Int32Array(buf);
    this.bytes = new Uint8Array(buf);
  }

  /** Bytes reserved and not yet consumed (records still being written included). */
  pending(): number {
    return Number(Atomics.load(this.producerPos, 0) - Atomics.load(this.consumerPos, 0));
  }

  /** Whether a committed record waits at the consumer position. */
  ready(): boolean {
    if (this.closed) return false;
    return Atomics.load(this.headers, this.at(Atomics.load(this.consumerPos, 0)) / 4) !== 0;
  }

  /**
   * Hands each committed record to `onRecord` (a view valid only during the call) and frees its
   * space; stops at a record still being written. Returns the number of records read.
   */
  poll(onRecord: (record: Uint8Array) => void, max = Number.POSITIVE_INFINITY): number {
    if (this.closed) return 0;
    const start = Atomics.load(this.consumerPos, 0);
    let cons = start;
    let n = 0;
    while (n < max) {
      const at = this.at(cons);
      const len = Atomics.load(this.headers, at / 4) >>> 0;
      // 0: not committed yet. Longer than any record: never written by our programs; stopping
      // there leaves later events to the overflow ring rather than reading garbage.
      if (len === 0 || len > HOT_SLACK - HOT_HEADER) break;
      onRecord(this.bytes.subarray(at + HOT_HEADER, at + HOT_HEADER + len));
      n++;
      const total = hotRecordBytes(len);
      this.bytes.fill(0, at, at + total);
      cons += BigInt(total);
      // The position is stored every so many records, not each: every store takes the line
      // from the producers, which read it at each reservation.
      if (n % CONSUMER_STORE_EVERY === 0) Atomics.store(this.consumerPos, 0, cons);
    }
    if (cons !== start) Atomics.store(this.consumerPos, 0, cons);
    return n;
  }

  /** Unmaps the value (the map itself is closed by its owner). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    syscalls().munmap(this.ptr, this.length);
  }

  private at(pos: bigint): number {
    return HOT_DATA + Number(pos & BigInt(this.size - 1));
  }
}
