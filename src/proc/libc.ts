/**
 * The few libc calls the proc layer needs (and flock, for the binary cache's lock), bound
 * through koffi once and lazily. Pointers to
 * memory we own are passed as Buffers; the caller reads `errno()` right after a failed call.
 */
import koffi from 'koffi';

/** Typed entry points into libc (each returns -1 and sets errno on failure). */
export interface Libc {
  /** process_vm_readv(pid, local iovecs, count, remote iovecs, count, 0): bytes read or -1. */
  processVmReadv(pid: number, local: Buffer, localCount: number, remote: Buffer, remoteCount: number): number;
  /** ptrace with word-sized addr and data (SEIZE, INTERRUPT, DETACH with a signal number). */
  ptraceWord(request: number, tid: number, addr: number, data: number): number;
  /** ptrace whose data argument points into a Buffer (GETREGS, GETSIGINFO). */
  ptraceBuf(request: number, tid: number, addr: number, data: Buffer): number;
  /** waitpid(tid, &status, options): tid, 0 (WNOHANG, nothing yet) or -1; status in status[0]. */
  waitpid(tid: number, status: [number], options: number): number;
  /** sched_yield(): lets another runnable thread have this CPU (e.g. a target thread that must run to stop). */
  schedYield(): void;
  /** sched_getcpu(): the CPU this thread runs on now (-1 when unknown). */
  currentCpu(): number;
  /** The CPUs this thread (or thread `tid` of this process) may run on (sched_getaffinity); empty when unknown. */
  threadCpus(tid?: number): number[];
  /** Restricts this thread (or thread `tid`) to `cpus` (sched_setaffinity); false when refused. */
  setThreadCpus(cpus: readonly number[], tid?: number): boolean;
  /**
   * Sets this thread's (or thread `tid`'s) scheduling policy: SCHED_FIFO at `priority` (1–99),
   * or back to SCHED_OTHER with priority 0; false when refused (real-time needs CAP_SYS_NICE).
   */
  setRealtime(priority: number, tid?: number): boolean;
  /** Thread `tid`'s scheduling policy (sched_getscheduler: 0 SCHED_OTHER, 1 FIFO, 2 RR, 3 BATCH, 5 IDLE, 6 DEADLINE); -1 when gone. */
  threadPolicy(tid: number): number;
  /** Names this thread (prctl PR_SET_NAME; at most 15 bytes kept), as `top -H` and /proc/PID/task/TID/comm show it. */
  setThreadName(name: string): boolean;
  /**
   * posix_spawnp(file, argv, empty environment) with stdin, stdout and stderr on /dev/null: a
   * child of this process running `file` (looked up in PATH), without copying this process's
   * page tables as fork would (glibc spawns with CLONE_VM | CLONE_VFORK: it returns once the
   * child has exec'd). Its pid, or -1 (errno) when it could not be started.
   */
  spawnp(file: string, argv: readonly string[]): number;
  /** flock(fd, operation): 0, or -1 (errno EWOULDBLOCK when LOCK_NB and another holds it). */
  flock(fd: number, operation: number): number;
  /** errno as left by the last call made through koffi on this thread. */
  errno(): number;
}

const SCHED_OTHER = 0;
const SCHED_FIFO = 1;
const PR_SET_NAME = 15;
const SCHED_RESET_ON_FORK = 0x40000000;
const O_RDONLY = 0;
const O_WRONLY = 1;
/** Bytes of glibc's posix_spawn_file_actions_t (80 on x86-64), with room to spare. */
const SPAWN_ACTIONS_BYTES = 256;

/** A NULL-terminated array of pointers to `strings` (NUL-terminated), and the buffers it points into. */
function cStringArray(strings: readonly string[]): { array: Buffer; keep: Buffer[] } {
  const keep = strings.map((s) => Buffer.from(`${s}\0`, 'utf8'));
  const array = Buffer.alloc(8 * (strings.length + 1));
  for (const [i, b] of keep.entries()) array.writeBigUInt64LE(BigInt(koffi.address(b)), 8 * i);
  return { array, keep };
}

/** Bytes of a cpu_set_t (1024 CPUs). */
const CPU_SET_BYTES = 128;

let bound: Libc | undefined;
let loadError: Error | undefined;

/** Binds libc on first use; throws the same error on every call if it cannot be loaded. */
export function libc(): Libc {
  if (bound) return bound;
  if (loadError) throw loadError;
  try {
    const lib = koffi.load('libc.so.6');
    const pvr = lib.func(
      'long process_vm_readv(int pid, void *local, unsigned long lcnt, void *remote, unsigned long rcnt, unsigned long flags)',
    );
    const ptw = lib.func('long ptrace(long req, int pid, uintptr_t addr, uintptr_t data)');
    const ptb = lib.func('long ptrace(long req, int pid, uintptr_t addr, void *data)');
    const wp = lib.func('int waitpid(int pid, _Out_ int *status, int options)');
    const sy = lib.func('int sched_yield()');
    const gc = lib.func('int sched_getcpu()');
    const gaff = lib.func('int sched_getaffinity(int pid, size_t size, void *mask)');
    const saff = lib.func('int sched_setaffinity(int pid, size_t size, void *mask)');
    const mask = Buffer.alloc(CPU_SET_BYTES);
    const ssch = lib.func('int sched_setscheduler(int pid, int policy, void *param)');
    const schedParam = Buffer.alloc(4);
    const gsch = lib.func('int sched_getscheduler(int pid)');
    const prctl = lib.func(
      'int prctl(int option, const char *arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5)',
    );
    const spawnp = lib.func(
      'int posix_spawnp(_Out_ int *pid, const char *file, void *actions, void *attr, void *argv, void *envp)',
    );
    const actionsInit = lib.func('int posix_spawn_file_actions_init(void *actions)');
    const actionsOpen = lib.func(
      'int posix_spawn_file_actions_addopen(void *actions, int fd, const char *path, int oflag, int mode)',
    );
    const actionsDestroy = lib.func('int posix_spawn_file_actions_destroy(void *actions)');
    const flock = lib.func('int flock(int fd, int operation)');
    bound = {
      processVmReadv: (pid, local, lc, remote, rc) => pvr(pid, local, lc, remote, rc, 0) as number,
      ptraceWord: (req, tid, a, d) => Number(ptw(req, tid, a, d)),
      ptraceBuf: (req, tid, a, d) => Number(ptb(req, tid, a, d)),
      waitpid: (tid, status, options) => wp(tid, status, options) as number,
      schedYield: () => {
        sy();
      },
      currentCpu: () => gc() as number,
      threadCpus: (tid = 0) => {
        mask.fill(0);
        if ((gaff(tid, CPU_SET_BYTES, mask) as number) !== 0) return [];
        const out: number[] = [];
        for (let c = 0; c < CPU_SET_BYTES * 8; c++) if (mask[c >> 3]! & (1 << (c & 7))) out.push(c);
        return out;
      },
      setRealtime: (priority, tid = 0) => {
        schedParam.writeInt32LE(priority, 0);
        return (ssch(tid, priority > 0 ? SCHED_FIFO : SCHED_OTHER, schedParam) as number) === 0;
      },
      setThreadCpus: (cpus, tid = 0) => {
        mask.fill(0);
        for (const c of cpus) if (c >= 0 && c < CPU_SET_BYTES * 8) mask[c >> 3]! |= 1 << (c & 7);
        return (saff(tid, CPU_SET_BYTES, mask) as number) === 0;
      },
      threadPolicy: (tid) => {
        const p = gsch(tid) as number;
        return p === -1 ? -1 : p & ~SCHED_RESET_ON_FORK;
      },
      setThreadName: (name) => (prctl(PR_SET_NAME, name.slice(0, 15), 0, 0, 0) as number) === 0,
      spawnp: (file, argv) => {
        const actions = Buffer.alloc(SPAWN_ACTIONS_BYTES);
        if ((actionsInit(actions) as number) !== 0) return -1;
        try {
          for (const fd of [0, 1, 2])
            if ((actionsOpen(actions, fd, '/dev/null', fd === 0 ? O_RDONLY : O_WRONLY, 0) as number) !== 0)
              return -1;
          const args = cStringArray(argv);
          const env = cStringArray([]);
          const pid: [number] = [0];
          // posix_spawnp returns the error number itself (errno is not set).
          const err = spawnp(pid, file, actions, null, args.array, env.array) as number;
          if (err !== 0) {
            koffi.errno(err);
            return -1;
          }
          return pid[0];
        } finally {
          actionsDestroy(actions);
        }
      },
      flock: (fd, operation) => flock(fd, operation) as number,
      errno: () => koffi.errno(),
    };
    return bound;
  } catch (e) {
    loadError = e instanceof Error ? e : new Error(String(e));
    throw loadError;
  }
}

/** The address of a Buffer's first byte, for iovecs we build ourselves. */
export function bufferAddress(buf: Buffer): number {
  return Number(koffi.address(buf));
}

/** Linux errno values the proc layer distinguishes. */
export const Errno = {
  EPERM: 1,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ECHILD: 10,
  EAGAIN: 11,
  EFAULT: 14,
  EINVAL: 22,
  ENOSYS: 38,
} as const;
