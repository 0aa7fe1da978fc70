/**
 * The memory map of a live process (/proc/PID/maps), the mappings of its executable, and the
 * executable's load bias (runtime address = link-time address + bias; 0 unless PIE).
 */
import { readFileSync, statSync } from 'node:fs';
import { type Address, addr, type LoadBias } from '../common/address.js';
import { PeriscopeError } from '../common/errors.js';
import type { ElfFile } from '../elf/elf-file.js';
import { procReadError } from './proc-errors.js';
import { exePath, readExecutable } from './process-info.js';

/** One line of /proc/PID/maps. */
export interface Mapping {
  readonly start: Address;
  /** One past the last byte. */
  readonly end: Address;
  /** e.g. "r-xp". */
  readonly perms: string;
  /** File offset of `start`. */
  readonly offset: number;
  /** Device as "major:minor" in hex, as the kernel prints it. */
  readonly dev: string;
  readonly inode: number;
  /** File path, or a pseudo-name like [heap] or [stack]; empty for anonymous memory. */
  readonly path: string;
}

/** Parses the text of /proc/PID/maps. */
export function parseMaps(text: string): Mapping[] {
  const out: Mapping[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) ([0-9a-f]+) (\S+) (\d+)\s*(.*)$/.exec(line);
    if (!m) continue;
    out.push({
      start: addr(Number.parseInt(m[1]!, 16)),
      end: addr(Number.parseInt(m[2]!, 16)),
      perms: m[3]!,
      offset: Number.parseInt(m[4]!, 16),
      dev: m[5]!,
      inode: Number(m[6]!),
      path: m[7]!,
    });
  }
  return out;
}

/** Reads and parses /proc/PID/maps; throws not-found when the process is gone. */
export function readMaps(pid: number): Mapping[] {
  try {
    return parseMaps(readFileSync(`/proc/${pid}/maps`, 'latin1'));
  } catch (e) {
    throw procReadError(pid, e);
  }
}

/** The executable image of a live process: its mappings, load bias and build ID. */
export interface ExecutableImage {
  readonly path: string;
  readonly elf: ElfFile;
  /** GNU build ID, else Go build ID, as ElfFile.buildId() gives it. */
  readonly buildId: string | undefined;
  readonly mappings: readonly Mapping[];
  /** Runtime address minus link-time address. */
  readonly bias: LoadBias;
}

/** Mappings of the file whose inode and device match /proc/PID/exe (robust to deleted or renamed binaries). */
export function executableMappings(pid: number, maps: readonly Mapping[] = readMaps(pid)): Mapping[] {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(`/proc/${pid}/exe`);
  } catch (e) {
    throw procReadError(pid, e);
  }
  const major = Math.floor(Number(st.dev) / 256) & 0xfff; // new_encode_dev: major in bits 8..19
  const minor = (Number(st.dev) & 0xff) | ((Number(st.dev) >> 12) & 0xfff00);
  return maps.filter((m) => m.inode === Number(st.ino) && m.dev === `${hex2(major)}:${hex2(minor)}`);
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/**
 * The executable of a live process, its mappings and its load bias; `elf` is its image when
 * the caller holds it already (e.g. read for another process running the same file).
 */
export function executableImage(pid: number, elf: ElfFile = readExecutable(pid)): ExecutableImage {
  const path = exePath(pid).path;
  const mappings = executableMappings(pid);
  if (mappings.length === 0) {
    throw new PeriscopeError(
      'not-found',
      `process ${pid} has no mapping of its executable ${path}; it may be exiting`,
    );
  }
  const first = mappings.reduce((a, b) => (b.offset < a.offset ? b : a));
  return {
    path,
    elf,
    buildId: elf.buildId(),
    mappings,
    bias: elf.loadBias(first.start, first.offset),
  };
}
