/**
 * BPF maps (BPF_MAP_CREATE) and their user-space side: lookup, update, delete. Kinds used by
 * probes: ring buffer (events), array and per-CPU array (counters, settings), hash and LRU
 * hash (per-goroutine state such as entry times paired with returns).
 */
import { readFileSync } from 'node:fs';
import { CMD, newAttr, putName, putPointer } from './attr.js';
import { BpfError } from './bpf-error.js';
import { syscalls } from './syscalls.js';

/** Map types (enum bpf_map_type). */
export const MAP_TYPE = { hash: 1, array: 2, percpuArray: 6, lruHash: 9, ringbuf: 27 } as const;
/** A map type name. */
export type MapType = keyof typeof MAP_TYPE;

/** What to create. */
export interface MapSpec {
  /** Kernel object name, `periscope_` prefixed by convention (15 characters at most). */
  readonly name: string;
  readonly type: MapType;
  readonly keySize: number;
  readonly valueSize: number;
  /** Entries; for a ring buffer, its data size in bytes (a power-of-2 multiple of the page size). */
  readonly maxEntries: number;
  /** An array whose values user space can mmap (BPF_F_MMAPABLE). */
  readonly mmapable?: boolean;
}

/** A created map; close it (or exit) to free it. */
export interface BpfMap extends MapSpec {
  readonly fd: number;
  /** The value for key, or undefined when absent (per-CPU maps: every CPU's value, concatenated). */
  lookup(key: Buffer): Buffer | undefined;
  /** Sets key to value (BPF_ANY). */
  update(key: Buffer, value: Buffer): void;
  /** Removes key; false when it was absent. */
  delete(key: Buffer): boolean;
  /** Every key present (hash maps), in the kernel's order; keys added or removed meanwhile may be missed. */
  keys(): Buffer[];
  close(): void;
}

const ENOENT = 2;
const BPF_F_MMAPABLE = 1 << 10;

/** The number of possible CPUs (per-CPU map values hold one slot per possible CPU). */
export function possibleCpus(): number {
  return countCpus(readFileSync('/sys/devices/system/cpu/possible', 'latin1'));
}

/** Counts the CPUs of a kernel CPU list such as "0-3,8". */
export function countCpus(list: string): number {
  let n = 0;
  for (const part of list.trim().split(',')) {
    const [a, b] = part.split('-').map(Number);
    n += b === undefined ? 1 : b - a! + 1;
  }
  return n;
}

/** Creates a map. */
export function createMap(spec: MapSpec): BpfMap {
  const sys = syscalls();
  const attr = newAttr();
  attr.writeUInt32LE(MAP_TYPE[spec.type], 0);
  attr.writeUInt32LE(spec.keySize, 4);
  attr.writeUInt32LE(spec.valueSize, 8);
  attr.writeUInt32LE(spec.maxEntries, 12);
  if (spec.mmapable) attr.writeUInt32LE(BPF_F_MMAPABLE, 16);
  putName(attr, 28, spec.name);
  const fd = sys.bpf(CMD.MAP_CREATE, attr);
  if (fd < 0) throw new BpfError(`cannot create BPF ${spec.type} map ${spec.name}`, sys.errno());
  const valueBytes =
    spec.type === 'percpuArray' ? Math.ceil(spec.valueSize / 8) * 8 * possibleCpus() : spec.valueSize;
  const elem = (cmd: number, key: Buffer | undefined, value: Buffer | undefined): number => {
    const a = newAttr();
    a.writeUInt32LE(fd, 0);
    putPointer(a, 8, key);
    putPointer(a, 16, value);
    return sys.bpf(cmd, a);
  };
  let open = true;
  return {
    ...spec,
    fd,
    lookup(key) {
      const value = Buffer.alloc(valueBytes);
      if (elem(CMD.MAP_LOOKUP_ELEM, key, value) === 0) return value;
      const errno = sys.errno();
      if (errno === ENOENT) return undefined;
      throw new BpfError(`lookup in BPF map ${spec.name}`, errno);
    },
    update(key, value) {
      if (elem(CMD.MAP_UPDATE_ELEM, key, value) !== 0)
        throw new BpfError(`update of BPF map ${spec.name}`, sys.errno());
    },
    delete(key) {
      if (elem(CMD.MAP_DELETE_ELEM, key, undefined) === 0) return true;
      const errno = sys.errno();
      if (errno === ENOENT) return false;
      throw new BpfError(`delete in BPF map ${spec.name}`, errno);
    },
    keys() {
      const out: Buffer[] = [];
      let prev: Buffer | undefined;
      // A hash map restarts from its first key when `prev` was deleted meanwhile: bounded.
      while (out.length <= 2 * spec.maxEntries) {
        const next = Buffer.alloc(spec.keySize);
        if (elem(CMD.MAP_GET_NEXT_KEY, prev, next) !== 0) {
          const errno = sys.errno();
          if (errno === ENOENT) break;
          throw new BpfError(`keys of BPF map ${spec.name}`, errno);
        }
        out.push(next);
        prev = next;
      }
      return out;
    },
    close() {
      if (open) sys.close(fd);
      open = false;
    },
  };
}
