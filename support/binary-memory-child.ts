/**
 * Child process of bench/binary-memory: does what an agent's capture thread does with a
 * process of a binary it has not seen (prepare with the built-in spec, then one snapshot),
 * or nothing (the baseline: the same modules loaded, no binary), and prints one JSON line
 * with its peak RSS (VmHWM of /proc/self/status) and what it read.
 *
 * Usage: node binary-memory-child.js baseline | prepare PID
 */
import { readFileSync } from 'node:fs';
import { threadBinaries } from '../src/snapshot/binary-cache.js';
import { captureProcess, prepareProcess } from '../src/snapshot/take-snapshot.js';
import { effectiveSpec } from '../src/spec/effective-spec.js';
import { EMPTY_SPEC } from '../src/spec/spec-types.js';

/** What the child prints. */
export interface MemoryChildResult {
  /** Peak resident set size of this process (VmHWM), KiB. */
  readonly peakKiB: number;
  /** Resident set size at the end (VmRSS), KiB. */
  readonly rssKiB: number;
  /** Wall time of prepare and of the snapshot, ms (0 for the baseline). */
  readonly prepareMs: number;
  readonly snapshotMs: number;
  /** Size of the executable file and the bytes of it read, held at the end. */
  readonly fileBytes: number;
  readonly bytesRead: number;
  readonly residentBytes: number;
  readonly goroutines: number;
}

function status(field: string): number {
  const text = readFileSync('/proc/self/status', 'utf8');
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN);
}

function main(): void {
  const [mode, pidArg] = process.argv.slice(2);
  let prepareMs = 0;
  let snapshotMs = 0;
  let fileBytes = 0;
  let bytesRead = 0;
  let residentBytes = 0;
  let goroutines = 0;
  if (mode === 'prepare') {
    const pid = Number(pidArg);
    const t0 = performance.now();
    const prepared = prepareProcess(pid, effectiveSpec(EMPTY_SPEC));
    const t1 = performance.now();
    const snap = captureProcess(pid, prepared);
    snapshotMs = performance.now() - t1;
    prepareMs = t1 - t0;
    goroutines = snap.goroutines.length;
    const elf = prepared.bin.elf;
    fileBytes = elf.fileSize;
    bytesRead = elf.fileBytesRead;
    residentBytes = elf.residentBytes;
    if (threadBinaries.size !== 1) throw new Error(`expected one binary held, found ${threadBinaries.size}`);
  } else if (mode !== 'baseline') {
    throw new Error('usage: binary-memory-child baseline | prepare PID');
  }
  const result: MemoryChildResult = {
    peakKiB: status('VmHWM'),
    rssKiB: status('VmRSS'),
    prepareMs,
    snapshotMs,
    fileBytes,
    bytesRead,
    residentBytes,
    goroutines,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main();
