/**
 * The system calls probes need, bound through koffi once: bpf(2) and perf_event_open(2)
 * (through syscall(2): glibc wraps neither), ioctl, close (also off the main thread, where
 * closing a perf uprobe blocks ~120 ms), mmap/munmap for the ring buffer. Attributes are
 * Buffers we fill; the caller reads `errno()` right after a failed call.
 */
import koffi from 'koffi';

/** x86-64 system call numbers. */
const SYS_BPF = 321;
const SYS_PERF_EVENT_OPEN = 298;

/** Typed entry points (each returns -1 and sets errno on failure; mmap returns null). */
export interface Syscalls {
  /** bpf(cmd, attr, size). */
  bpf(cmd: number, attr: Buffer): number;
  /** perf_event_open(attr, pid, cpu, group_fd, flags). */
  perfEventOpen(attr: Buffer, pid: number, cpu: number, groupFd: number, flags: number): number;
  /** ioctl(fd, request, integer argument). */
  ioctl(fd: number, request: number, arg: number): number;
  /** close(fd) on this thread. */
  close(fd: number): number;
  /** close(fd) on a libuv pool thread; resolves with close's result. */
  closeAsync(fd: number): Promise<number>;
  /** mmap(NULL, len, prot, MAP_SHARED, fd, offset): the mapping as an opaque pointer, or null. */
  mmapShared(len: number, prot: number, fd: number, offset: number): unknown;
  /** munmap(pointer, len). */
  munmap(ptr: unknown, len: number): number;
  /** The bytes at a mapped pointer, as an ArrayBuffer over that memory (no copy). */
  view(ptr: unknown, len: number): ArrayBuffer;
  /** errno as left by the last koffi call on this thread. */
  errno(): number;
  /** poll(2) for POLLIN on `fd` on a libuv pool thread: true when readable, false after `timeoutMs`. */
  pollReadable(fd: number, timeoutMs: number): Promise<boolean>;
}

export const PROT_READ = 1;
export const PROT_WRITE = 2;
const MAP_SHARED = 1;
const POLLIN = 1;

let bound: Syscalls | undefined;

/** Binds the calls on first use. */
export function syscalls(): Syscalls {
  if (bound) return bound;
  const lib = koffi.load('libc.so.6');
  const bpf = lib.func('long syscall(long nr, long cmd, void *attr, unsigned long size)');
  const peo = lib.func(
    'long syscall(long nr, void *attr, int pid, int cpu, int group_fd, unsigned long flags)',
  );
  const ioctl = lib.func('int ioctl(int fd, unsigned long request, unsigned long arg)');
  const close = lib.func('int close(int fd)');
  const mmap = lib.func('void *mmap(void *addr, size_t len, int prot, int flags, int fd, intptr_t offset)');
  const munmap = lib.func('int munmap(void *addr, size_t len)');
  const poll = lib.func('int poll(void *fds, unsigned long nfds, int timeout)');
  bound = {
    bpf: (cmd, attr) => Number(bpf(SYS_BPF, cmd, attr, attr.length)),
    perfEventOpen: (attr, pid, cpu, group, flags) =>
      Number(peo(SYS_PERF_EVENT_OPEN, attr, pid, cpu, group, flags)),
    ioctl: (fd, req, arg) => ioctl(fd, req, arg) as number,
    close: (fd) => close(fd) as number,
    closeAsync: (fd) =>
      new Promise((resolve, reject) =>
        close.async(fd, (err: unknown, r: number) => (err ? reject(err) : resolve(r))),
      ),
    mmapShared: (len, prot, fd, offset) => {
      const p = mmap(null, len, prot, MAP_SHARED, fd, offset);
      // MAP_FAILED is (void *)-1.
      return p === null || koffi.address(p) === 0xffffffffffffffffn ? null : p;
    },
    munmap: (ptr, len) => munmap(ptr, len) as number,
    view: (ptr, len) => koffi.view(ptr, len),
    errno: () => koffi.errno(),
    pollReadable: (fd, timeoutMs) => {
      const pfd = Buffer.alloc(8); // struct pollfd { int fd; short events; short revents; }
      pfd.writeInt32LE(fd, 0);
      pfd.writeInt16LE(POLLIN, 4);
      return new Promise((resolve, reject) =>
        poll.async(pfd, 1, Math.max(0, Math.round(timeoutMs)), (err: unknown, r: number) =>
          err ? reject(err) : resolve(r > 0 && (pfd.readInt16LE(6) & POLLIN) !== 0),
        ),
      );
    },
  };
  return bound;
}

/** The address of a Buffer's first byte, for pointers inside attributes. */
export function addressOf(buf: Buffer): bigint {
  return koffi.address(buf);
}
