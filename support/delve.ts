/**
 * The one Delve JSON-RPC client of the tests and benches: a headless dlv attached to a pid
 * (`dlv attach`) or running a binary (`dlv exec`), its API (Go net/rpc/jsonrpc: one JSON
 * object per line) and the calls we use: Eval with a LoadConfig, ListPackageVars,
 * Stacktrace, FindLocation, ListTypes; then Detach, leaving the target running or killing it.
 *
 * Delve prints "API server listening at" before it loads the binary; its accept loop starts
 * only after that, so the first answer is the moment Delve can take commands.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { promisify } from 'node:util';
import { DELVE, ensureGoTool } from './go-tools.js';

const run = promisify(execFile);

/** Delve's api.Variable, as much of it as the tests read. */
export interface DlvVariable {
  name: string;
  addr: number;
  type: string;
  realType: string;
  kind: number;
  value: string;
  len: number;
  cap: number;
  children: DlvVariable[] | null;
  base: number;
  unreadable: string;
  flags: number;
  onlyAddr: boolean;
}

/** Delve's proc.LoadConfig: how deep and how much of a value to load. */
export interface DlvLoadConfig {
  FollowPointers: boolean;
  MaxVariableRecurse: number;
  MaxStringLen: number;
  MaxArrayValues: number;
  MaxStructFields: number;
}

/** Delve's api.Location (FindLocation, Stacktrace). */
export interface DlvLocation {
  pc: number;
  file: string;
  line: number;
  function?: { name: string; value: number };
  /** Stacktrace only: the frame's CFA minus the goroutine's stack.hi. */
  FrameOffset?: number;
}

/** Where a Delve Eval runs: goroutine (-1: the current one) and frame. */
export interface DlvScope {
  goroutine?: number;
  frame?: number;
}

/** The load configuration of the expression tests. */
export const DEFAULT_LOAD: DlvLoadConfig = {
  FollowPointers: true,
  MaxVariableRecurse: 2,
  MaxStringLen: 256,
  MaxArrayValues: 64,
  MaxStructFields: -1,
};

/** The pinned Delve, installed into .cache/tools on first use; resolves to its path. */
export async function delvePath(): Promise<string> {
  return (await ensureGoTool(DELVE)).path;
}

/** Delve's version as `dlv version` prints it, e.g. "1.27.2". */
export async function delveVersion(dlv: string): Promise<string> {
  const { stdout } = await run(dlv, ['version']);
  return /Version:\s*(\S+)/.exec(stdout)?.[1] ?? 'unknown';
}

type Reply = { result: unknown; error: string | null };

/** A headless Delve and one connection to its API. */
export class Delve {
  private nextId = 1;
  private buffered = '';
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(
    /** The dlv process. */
    readonly process: ChildProcess,
    private readonly socket: Socket,
    /** performance.now() just before dlv was spawned. */
    readonly t0: number,
    /** ms from spawn to "API server listening" (before the binary is loaded). */
    readonly listeningMs: number,
  ) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', (e) => this.failAll(e));
    socket.on('close', () => this.failAll(new Error('Delve closed the connection')));
  }

  /** Attaches `dlv` to a running process (which stays stopped until detach). */
  static attach(dlv: string, pid: number): Promise<Delve> {
    return Delve.start(dlv, ['attach', String(pid)]);
  }

  /** Starts `dlv exec` on a binary (stopped at its entry). */
  static exec(dlv: string, binary: string): Promise<Delve> {
    return Delve.start(dlv, ['exec', binary]);
  }

  private static async start(dlv: string, args: string[], timeoutMs = 120_000): Promise<Delve> {
    const t0 = performance.now();
    const child = spawn(
      dlv,
      [...args, '--headless', '--api-version=2', '--listen=127.0.0.1:0', '--accept-multiclient'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let output = '';
        const timer = setTimeout(
          () => reject(new Error(`dlv printed no listening address within ${timeoutMs} ms:\n${output}`)),
          timeoutMs,
        );
        const onData = (b: Buffer): void => {
          output += b.toString('utf8');
          const m = /API server listening at: 127\.0\.0\.1:(\d+)/.exec(output);
          if (!m) return;
          clearTimeout(timer);
          resolve(Number(m[1]));
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        child.once('error', reject);
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`dlv exited with ${code} before listening:\n${output}`));
        });
      });
      const listeningMs = performance.now() - t0;
      // Keep draining dlv's output so it never blocks on a full pipe.
      child.stdout.resume();
      child.stderr.resume();
      const socket = await new Promise<Socket>((resolve, reject) => {
        const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
        s.once('error', reject);
      });
      return new Delve(child, socket, t0, listeningMs);
    } catch (e) {
      child.kill('SIGKILL');
      throw e;
    }
  }

  /** Calls RPCServer.<method> with one argument object and resolves with its result. */
  call<T>(method: string, arg: object): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, {
        resolve: (v) => resolve(v as T),
        reject: (e) => reject(new Error(`Delve ${method}: ${e.message}`)),
      });
      this.socket.write(`${JSON.stringify({ method: `RPCServer.${method}`, params: [arg], id })}\n`);
    });
  }

  /** Evaluates an expression in a goroutine's frame (default: the current goroutine, frame 0). */
  async eval(expr: string, cfg: DlvLoadConfig = DEFAULT_LOAD, scope: DlvScope = {}): Promise<DlvVariable> {
    const r = await this.call<{ Variable: DlvVariable }>('Eval', {
      Scope: { GoroutineID: scope.goroutine ?? -1, Frame: scope.frame ?? 0, DeferredCall: 0 },
      Expr: expr,
      Cfg: cfg,
    });
    return r.Variable;
  }

  /** Package variables whose names match the regexp `filter`, loaded with `cfg`. */
  async packageVars(filter: string, cfg: DlvLoadConfig): Promise<DlvVariable[]> {
    const r = await this.call<{ Variables: DlvVariable[] }>('ListPackageVars', { Filter: filter, Cfg: cfg });
    return r.Variables;
  }

  /** The frames of goroutine `id`, innermost first. */
  async stacktrace(id: number, depth: number): Promise<DlvLocation[]> {
    const r = await this.call<{ Locations: DlvLocation[] }>('Stacktrace', { Id: id, Depth: depth });
    return r.Locations;
  }

  /** Resolves a location spec (a function name, `*0xPC`, file:line). */
  async findLocation(loc: string): Promise<DlvLocation[]> {
    const r = await this.call<{ Locations: DlvLocation[] }>('FindLocation', {
      Scope: { GoroutineID: -1, Frame: 0, DeferredCall: 0 },
      Loc: loc,
    });
    return r.Locations;
  }

  /** Type names matching the regexp `filter`. */
  async listTypes(filter: string): Promise<string[]> {
    const r = await this.call<{ Types: string[] }>('ListTypes', { Filter: filter });
    return r.Types;
  }

  /**
   * Detaches (killing the target if `kill`), closes the connection and waits for dlv to
   * exit; SIGKILLs it if it lingers. Resolves to whether dlv had to be killed.
   */
  async close(kill = false): Promise<boolean> {
    // Delve exits once Detach is answered; the connection may close before the answer arrives.
    await Promise.race([
      this.call('Detach', { Kill: kill }).catch(() => undefined),
      new Promise((r) => setTimeout(r, 10_000).unref()),
    ]);
    this.socket.destroy();
    if (this.process.exitCode !== null || this.process.signalCode !== null) return false;
    const exited = new Promise((r) => this.process.once('exit', r));
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      this.process.kill('SIGKILL');
    }, 10_000);
    await exited;
    clearTimeout(timer);
    return killed;
  }

  private onData(chunk: string): void {
    this.buffered += chunk;
    for (let nl = this.buffered.indexOf('\n'); nl >= 0; nl = this.buffered.indexOf('\n')) {
      const line = this.buffered.slice(0, nl);
      this.buffered = this.buffered.slice(nl + 1);
      if (!line.trim()) continue;
      const msg = JSON.parse(line) as { id: number } & Reply;
      const w = this.waiting.get(msg.id);
      if (!w) continue;
      this.waiting.delete(msg.id);
      if (msg.error) w.reject(new Error(msg.error));
      else w.resolve(msg.result);
    }
  }

  private failAll(e: Error): void {
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
  }
}
