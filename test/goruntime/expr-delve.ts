/**
 * A minimal Delve JSON-RPC client for the expression tests: attach headless to a pid,
 * Eval an expression in a goroutine's frame, list goroutines and stack frames; and a
 * comparison of our decoded JSON with Delve's api.Variable.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { ROOT } from '../support/go-fixtures.js';

/** The Delve binary the benches use. */
export const DLV = join(ROOT, '.cache', 'bench', 'dlv');

/** Why Delve cannot be used here, or undefined. */
export function delveUnavailable(): string | undefined {
  return existsSync(DLV) ? undefined : `Delve is not installed at ${DLV}`;
}

/** Delve's api.Variable (the parts the tests read). */
export interface DlvVariable {
  name: string;
  type: string;
  kind: number;
  value: string;
  len: number;
  children: DlvVariable[] | null;
  unreadable: string;
}

/** A Delve headless server attached to one process. */
export class Delve {
  private constructor(
    private readonly proc: ChildProcess,
    private readonly sock: Socket,
  ) {}
  private nextId = 1;
  private buf = '';
  private readonly waiting = new Map<number, (v: { result: unknown; error: string | null }) => void>();

  /** Attaches Delve to `pid` (the process stops while Delve is attached). */
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
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`dlv did not listen: ${out}`)), 30_000);
        const on = (d: Buffer) => {
          out += d.toString();
          const m = /listening at: 127\.0\.0\.1:(\d+)/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(Number(m[1]));
          }
        };
        proc.stdout?.on('data', on);
        proc.stderr?.on('data', on);
        proc.on('exit', (c) => reject(new Error(`dlv exited with ${c}: ${out}`)));
      });
      const sock = connect(port, '127.0.0.1');
      await new Promise<void>((resolve, reject) => {
        sock.once('connect', () => resolve());
        sock.once('error', reject);
      });
      const d = new Delve(proc, sock);
      sock.on('data', (b: Buffer) => d.onData(b.toString()));
      return d;
    } catch (e) {
      proc.kill('SIGKILL');
      throw e;
    }
  }

  private onData(s: string): void {
    this.buf += s;
    for (let nl = this.buf.indexOf('\n'); nl >= 0; nl = this.buf.indexOf('\n')) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      if (!line.trim()) continue;
      const msg = JSON.parse(line) as { id: number; result: unknown; error: string | null };
      this.waiting.get(msg.id)?.(msg);
      this.waiting.delete(msg.id);
    }
  }

  /** Calls RPCServer.<method> with one params object. */
  async call<T>(method: string, params: object): Promise<T> {
    const id = this.nextId++;
    const p = new Promise<{ result: unknown; error: string | null }>((r) => this.waiting.set(id, r));
    this.sock.write(`${JSON.stringify({ method: `RPCServer.${method}`, params: [params], id })}\n`);
    const msg = await p;
    if (msg.error) throw new Error(`${method}: ${msg.error}`);
    return msg.result as T;
  }

  /** Evaluates an expression in goroutine `gid` (-1: the current one) at frame `frame`. */
  async eval(expr: string, gid = -1, frame = 0): Promise<DlvVariable> {
    const cfg = {
      FollowPointers: true,
      MaxVariableRecurse: 2,
      MaxStringLen: 256,
      MaxArrayValues: 64,
      MaxStructFields: -1,
    };
    const r = await this.call<{ Variable: DlvVariable }>('Eval', {
      Scope: { GoroutineID: gid, Frame: frame },
      Expr: expr,
      Cfg: cfg,
    });
    return r.Variable;
  }

  /** Stops Delve without killing the target (it detaches). */
  close(): void {
    this.sock.destroy();
    this.proc.kill('SIGKILL');
  }
}

const KIND_BOOL = 1;
const KIND_FLOAT = [13, 14];
const KIND_ARRAY = 17;
const KIND_PTR = 22;
const KIND_SLICE = 23;
const KIND_STRING = 24;
const KIND_STRUCT = 25;

/** Differences between our JSON value and Delve's variable (scalars, structs, pointers, arrays, slices). */
export function diffWithDelve(ours: unknown, dlv: DlvVariable, path = '', out: string[] = []): string[] {
  if (dlv.unreadable) {
    out.push(`${path}: Delve could not read it: ${dlv.unreadable}`);
    return out;
  }
  const kids = dlv.children ?? [];
  if (dlv.kind === KIND_STRING || (dlv.kind >= 2 && dlv.kind <= 12) || dlv.kind === KIND_BOOL) {
    const want = dlv.kind === KIND_BOOL ? dlv.value === 'true' : dlv.value;
    const got = dlv.kind === KIND_BOOL ? ours : String(ours);
    if (got !== want) out.push(`${path}: ours ${JSON.stringify(ours)}, Delve ${dlv.value}`);
  } else if (KIND_FLOAT.includes(dlv.kind)) {
    if (Number(ours) !== Number(dlv.value))
      out.push(`${path}: ours ${JSON.stringify(ours)}, Delve ${dlv.value}`);
  } else if (dlv.kind === KIND_PTR) {
    const o = ours as { value?: unknown } | null;
    if (dlv.value === '' && kids.length === 0) return out;
    if (kids.length > 0 && kids[0]!.kind !== 0 && o && typeof o === 'object' && 'value' in o)
      diffWithDelve(o.value, kids[0]!, `${path}.*`, out);
  } else if (dlv.kind === KIND_STRUCT) {
    const o = ours as Record<string, unknown>;
    for (const k of kids) if (o && k.name in o) diffWithDelve(o[k.name], k, `${path}.${k.name}`, out);
  } else if (dlv.kind === KIND_ARRAY || dlv.kind === KIND_SLICE) {
    const arr = ours as unknown[];
    if (!Array.isArray(arr)) out.push(`${path}: ours is not an array: ${JSON.stringify(ours)}`);
    else
      kids.forEach((k, i) => {
        if (i < arr.length) diffWithDelve(arr[i], k, `${path}[${i}]`, out);
      });
  }
  return out;
}
