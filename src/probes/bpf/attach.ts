/**
 * Attaching a loaded program as uprobes on one process: a perf event per site
 * (perf_event_open of the "uprobe" PMU, then PERF_EVENT_IOC_SET_BPF and ENABLE), or one
 * BPF_LINK_CREATE uprobe_multi link for many sites of a binary (a cookie per site, read with
 * bpf_get_attach_cookie). The kernel writes the breakpoints and removes them when the fds
 * close, including when this process dies; never a return probe (uretprobes crash Go).
 * Closing blocks (~120 ms per perf uprobe, ~26 ms per link here), so detach() closes on a
 * libuv pool thread.
 */
import { readFileSync } from 'node:fs';
import type { FileOffset } from '../../common/address.js';
import { CMD, newAttr, putPointer } from './attr.js';
import { BpfError } from './bpf-error.js';
import type { BpfProgram } from './program.js';
import { ATTACH_UPROBE_MULTI } from './program.js';
import { syscalls } from './syscalls.js';

/** One attachment (perf events or a link); detach it to remove its uprobes. */
export interface Attachment {
  /** The fds holding the uprobes (perf events, or the one link). */
  readonly fds: readonly number[];
  /** Removes the uprobes (closes the fds off the main thread). */
  detach(): Promise<void>;
}

const PERF_ATTR_BYTES = 136;
const PERF_FLAG_FD_CLOEXEC = 8;
const PERF_EVENT_IOC_ENABLE = 0x2400;
const PERF_EVENT_IOC_SET_BPF = 0x40042408;
const UPROBE_TYPE_PATH = '/sys/bus/event_source/devices/uprobe/type';

let uprobePmu: number | undefined;

/** The perf PMU type number of uprobes on this kernel. */
function uprobePmuType(): number {
  if (uprobePmu === undefined) {
    try {
      uprobePmu = Number(readFileSync(UPROBE_TYPE_PATH, 'latin1').trim());
    } catch {
      throw new BpfError(`this kernel has no uprobe PMU (${UPROBE_TYPE_PATH})`, 2);
    }
  }
  return uprobePmu;
}

/**
 * Attaches `prog` at each file offset of `path` for process `pid` only, one perf event per
 * site. On failure, whatever was attached is removed before the error is thrown.
 */
export async function attachPerfUprobes(
  prog: BpfProgram,
  path: string,
  offsets: readonly FileOffset[],
  pid: number,
): Promise<Attachment> {
  const sys = syscalls();
  const pathBuf = Buffer.from(`${path}\0`, 'utf8');
  const fds: number[] = [];
  try {
    for (const off of offsets) {
      const attr = Buffer.alloc(PERF_ATTR_BYTES);
      attr.writeUInt32LE(uprobePmuType(), 0);
      attr.writeUInt32LE(PERF_ATTR_BYTES, 4);
      // config = 0: an entry probe (bit 0 would make it a uretprobe).
      attr.writeBigUInt64LE(1n, 16); // sample_period
      putPointer(attr, 56, pathBuf); // config1: uprobe_path
      attr.writeBigUInt64LE(BigInt(off), 64); // config2: probe_offset
      const fd = sys.perfEventOpen(attr, pid, -1, -1, PERF_FLAG_FD_CLOEXEC);
      if (fd < 0)
        throw new BpfError(
          `cannot open a uprobe at ${path}:0x${off.toString(16)} in process ${pid}`,
          sys.errno(),
        );
      fds.push(fd);
      if (sys.ioctl(fd, PERF_EVENT_IOC_SET_BPF, prog.fd) !== 0)
        throw new BpfError(`cannot attach program ${prog.name} to a uprobe`, sys.errno());
      if (sys.ioctl(fd, PERF_EVENT_IOC_ENABLE, 0) !== 0)
        throw new BpfError('cannot enable a uprobe', sys.errno());
    }
  } catch (e) {
    await closeAll(fds);
    throw e;
  }
  return attachment(fds);
}

/**
 * Attaches `prog` (loaded with expectedAttachType ATTACH_UPROBE_MULTI) at every file offset
 * of `path` for process `pid` only, as one uprobe_multi link; `cookies[i]` (default i) is what
 * bpf_get_attach_cookie returns at offsets[i].
 */
export function attachUprobeMulti(
  prog: BpfProgram,
  path: string,
  offsets: readonly FileOffset[],
  pid: number,
  cookies: readonly bigint[] = offsets.map((_, i) => BigInt(i)),
): Attachment {
  const sys = syscalls();
  if (cookies.length !== offsets.length) throw new RangeError('one cookie per offset');
  const pathBuf = Buffer.from(`${path}\0`, 'utf8');
  const offs = Buffer.alloc(8 * offsets.length);
  offsets.forEach((o, i) => {
    offs.writeBigUInt64LE(BigInt(o), 8 * i);
  });
  const cks = Buffer.alloc(8 * offsets.length);
  cookies.forEach((c, i) => {
    cks.writeBigUInt64LE(c, 8 * i);
  });
  const attr = newAttr();
  attr.writeUInt32LE(prog.fd, 0);
  attr.writeUInt32LE(ATTACH_UPROBE_MULTI, 8);
  putPointer(attr, 16, pathBuf);
  putPointer(attr, 24, offs);
  putPointer(attr, 40, cks);
  attr.writeUInt32LE(offsets.length, 48);
  attr.writeUInt32LE(pid, 56);
  const fd = sys.bpf(CMD.LINK_CREATE, attr);
  if (fd < 0)
    throw new BpfError(`cannot create a uprobe_multi link for ${path} in process ${pid}`, sys.errno());
  return attachment([fd]);
}

function attachment(fds: number[]): Attachment {
  let detached: Promise<void> | undefined;
  return {
    fds,
    detach() {
      detached ??= closeAll(fds);
      return detached;
    },
  };
}

async function closeAll(fds: readonly number[]): Promise<void> {
  const sys = syscalls();
  await Promise.all(fds.map((fd) => sys.closeAsync(fd)));
}
