/**
 * Facts about one live process from /proc: whether it exists, its executable (path and ELF
 * image), command line, the environment variables a caller asks for, hostname, tracer and
 * start time (to detect pid reuse). Whether the executable is Go is the gobinary layer's
 * question (`gobinary/go-check.ts`); which variables to read is the caller's policy.
 */
import { openSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { hostname as machineHostname } from 'node:os';
import { ElfFile } from '../elf/elf-file.js';
import { FdSource } from '../elf/file-source.js';
import { processGone as gone, procReadError } from './proc-errors.js';
import { parseThreadStat, type ThreadInfo } from './threads.js';

/** What Periscope records about a process. */
export interface ProcessInfo {
  readonly pid: number;
  /** Path of the executable (" (deleted)" removed; see `exeDeleted`). */
  readonly exePath: string;
  readonly exeDeleted: boolean;
  readonly cmdline: string[];
  /** The asked-for environment variables that are set (no other value is read out). */
  readonly env: Record<string, string>;
  /** Hostname as the process sees it (its UTS namespace when readable, else the machine's). */
  readonly hostname: string;
  /** PID of the process tracing it (a debugger), 0 when none. */
  readonly tracerPid: number;
  /** Start time in clock ticks since boot; with the pid, identifies the process across pid reuse. */
  readonly startTime: number;
}

/** Whether a process with this pid exists (a zombie counts as gone). */
export function processExists(pid: number): boolean {
  const st = readStat(pid);
  return st !== undefined && st.state !== 'Z' && st.state !== 'X';
}

function readStat(pid: number): (ThreadInfo & { startTime: number }) | undefined {
  const text = readProc(pid, 'stat');
  if (text === undefined) return undefined;
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { ...parseThreadStat(pid, text), startTime: Number(f[19]) }; // field 22
}

function readProc(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'latin1');
  } catch {
    return undefined;
  }
}

/** The start time of a process (clock ticks since boot); throws not-found when it is gone. */
export function startTime(pid: number): number {
  const st = readStat(pid);
  if (!st) throw gone(pid);
  return st.startTime;
}

/** The PID tracing a process (0 for none) and that tracer's name; undefined when the process is gone. */
export function tracerOf(pid: number): { pid: number; name: string } | undefined {
  const status = readProc(pid, 'status');
  if (status === undefined) return undefined;
  const tracer = Number(/^TracerPid:\s*(\d+)/m.exec(status)?.[1] ?? 0);
  const name = tracer ? (readProc(tracer, 'comm')?.trim() ?? '?') : '';
  return { pid: tracer, name };
}

/** The executable's path as /proc/PID/exe names it; throws not-found when the process is gone. */
export function exePath(pid: number): { path: string; deleted: boolean } {
  let link: string;
  try {
    link = readlinkSync(`/proc/${pid}/exe`);
  } catch (e) {
    throw procReadError(pid, e);
  }
  const deleted = link.endsWith(' (deleted)');
  return { path: deleted ? link.slice(0, -' (deleted)'.length) : link, deleted };
}

/**
 * The identity of the file a process runs (device, inode, size, mtime of /proc/PID/exe):
 * processes with the same identity run the same bytes, whatever path each names it by.
 * Throws not-found when the process is gone.
 */
export function exeIdentity(pid: number): string {
  try {
    const st = statSync(`/proc/${pid}/exe`);
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch (e) {
    throw procReadError(pid, e);
  }
}

/**
 * Opens the executable's ELF image through /proc/PID/exe (the file the process runs even if it
 * was deleted or replaced since: the descriptor stays open, the path is never reopened); the
 * image's path is the process's. Reads only the headers: the rest is read on first use.
 */
export function readExecutable(pid: number): ElfFile {
  const path = exePath(pid).path;
  let source: FdSource;
  try {
    source = new FdSource(openSync(`/proc/${pid}/exe`, 'r'), path);
  } catch (e) {
    throw procReadError(pid, e);
  }
  try {
    return new ElfFile(source, path);
  } catch (e) {
    source.close();
    throw e;
  }
}

function hostnameOf(pid: number): string {
  try {
    if (readlinkSync(`/proc/${pid}/ns/uts`) !== readlinkSync('/proc/self/ns/uts')) {
      const name = readFileSync(`/proc/${pid}/root/etc/hostname`, 'utf8').trim();
      if (name) return name;
    }
  } catch {
    // Namespace or its /etc/hostname not readable: report the machine's name.
  }
  return machineHostname();
}

/** Collects ProcessInfo with the values of `envAllow`; throws PeriscopeError 'not-found' when the process does not exist. */
export function processInfo(pid: number, envAllow: readonly string[]): ProcessInfo {
  const st = readStat(pid);
  if (!st || st.state === 'Z' || st.state === 'X') throw gone(pid);
  const exe = exePath(pid);
  const cmdline = (readProc(pid, 'cmdline') ?? '').split('\0');
  if (cmdline.at(-1) === '') cmdline.pop();
  const env: Record<string, string> = {};
  const allow = new Set(envAllow);
  for (const kv of (readProc(pid, 'environ') ?? '').split('\0')) {
    const eq = kv.indexOf('=');
    if (eq > 0 && allow.has(kv.slice(0, eq))) env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return {
    pid,
    exePath: exe.path,
    exeDeleted: exe.deleted,
    cmdline,
    env,
    hostname: hostnameOf(pid),
    tracerPid: tracerOf(pid)?.pid ?? 0,
    startTime: st.startTime,
  };
}
