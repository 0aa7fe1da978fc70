/**
 * A minimal Delve JSON-RPC client for tests: attaches a headless dlv to a running process,
 * lists package variables with a LoadConfig, and detaches (leaving the process running).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { ROOT } from '../support/go-fixtures.js';

/** Where the tests expect dlv (installed with GOBIN=.cache/bench go install .../dlv). */
export const DLV = join(ROOT, '.cache', 'bench', 'dlv');

/** Whether dlv is installed, or the reason to skip. */
export function delveUnavailable(): string | undefined {
  return existsSync(DLV)
    ? undefined
    : `dlv not found at ${DLV}; install it with GOBIN=${join(ROOT, '.cache', 'bench')} go install github.com/go-delve/delve/cmd/dlv@latest`;
}

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

/** Delve's proc.LoadConfig. */
export interface DlvLoadConfig {
  FollowPointers: boolean;
  MaxVariableRecurse: number;
  MaxStringLen: number;
  MaxArrayValues: number;
  MaxStructFields: number;
}

/** A Delve server attached to one process. */
export class Delve {
  private readonly proc: ChildProcess;
  private readonly sock: Socket;
  private nextId = 1;
  private buffer = '';
  private readonly waiting = new Map<number, (r: { result: unknown; error: unknown }) => void>();

  private constructor(proc: ChildProcess, sock: Socket) {
    this.proc = proc;
    this.sock = sock;
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      this.buffer += chunk;
      let nl = this.buffer.indexOf('\n');
      while (nl >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        const msg = JSON.parse(line) as { id: number; result: unknown; error: unknown };
        this.waiting.get(msg.id)?.(msg);
        this.waiting.delete(msg.id);
        nl = this.buffer.indexOf('\n');
      }
    });
  }

  /** Attaches dlv to `pid` (which stops the process until detach). */
  static async attach(pid: number): Promise<Delve> {
    const proc = spawn(
      DLV,
      [
        'attach',
        String(pid),
        '--headless',
        '--api-version=2',
        '--listen=127.0.0.1:0',
        '--accept-multiclient',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let out = '';
        const onData = (d: Buffer) => {
          out += d.toString();
          const m = /listening at: [\d.]+:(\d+)/.exec(out);
          if (m) resolve(Number(m[1]));
        };
        proc.stdout!.on('data', onData);
        proc.stderr!.on('data', onData);
        proc.once('exit', (code) => reject(new Error(`dlv exited (${code}): ${out}`)));
        setTimeout(() => reject(new Error(`dlv did not start: ${out}`)), 60_000).unref();
      });
      const sock = await new Promise<Socket>((resolve, reject) => {
        const s = connect(port, '127.0.0.1', () => resolve(s));
        s.once('error', reject);
      });
      return new Delve(proc, sock);
    } catch (e) {
      proc.kill('SIGKILL');
      throw e;
    }
  }

  /** One JSON-RPC call. */
  call<T>(method: string, params: unknown): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, (r) => (r.error ? reject(new Error(String(r.error))) : resolve(r.result as T)));
      this.sock.write(`${JSON.stringify({ method: `RPCServer.${method}`, params: [params], id })}\n`);
    });
  }

  /** Package variables matching the regexp `filter`, loaded with `cfg`. */
  async packageVars(filter: string, cfg: DlvLoadConfig): Promise<DlvVariable[]> {
    const r = await this.call<{ Variables: DlvVariable[] }>('ListPackageVars', { Filter: filter, Cfg: cfg });
    return r.Variables;
  }

  /** Evaluates an expression in the current goroutine's frame 0. */
  async eval(expr: string, cfg: DlvLoadConfig): Promise<DlvVariable> {
    const r = await this.call<{ Variable: DlvVariable }>('Eval', {
      Scope: { GoroutineID: -1, Frame: 0, DeferredCall: 0 },
      Expr: expr,
      Cfg: cfg,
    });
    return r.Variable;
  }

  /** Detaches without killing the target, then ends dlv (killed if it lingers). */
  async close(): Promise<void> {
    try {
      await Promise.race([
        this.call('Detach', { Kill: false }),
        new Promise((r) => setTimeout(r, 10_000).unref()),
      ]);
    } catch {
      // dlv may drop the connection as it exits
    }
    this.sock.destroy();
    if (this.proc.exitCode === null) {
      const exited = new Promise((r) => this.proc.once('exit', r));
      setTimeout(() => this.proc.kill('SIGKILL'), 5_000).unref();
      await exited;
    }
  }
}
