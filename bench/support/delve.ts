/**
 * Delve as a benchmark anchor: starts `dlv exec --headless` on a binary, talks to its
 * JSON-RPC API, and shuts it and its target down cleanly.
 *
 * Delve prints "API server listening at" from rpccommon.NewServer, *before*
 * ServerImpl.Run calls debugger.New, which launches the target and runs
 * BinaryInfo.LoadBinaryInfo (DWARF, line tables, symbols; it waits for its loader
 * goroutines). The accept loop only starts after that, so the first RPC answer is the
 * moment Delve can take commands with the binary fully loaded.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { childPids, procCpuMs, procMemory, reap, waitForExit } from './proc.js';

/** A JSON-RPC 2 connection to a headless Delve (Go net/rpc/jsonrpc: one JSON object per line). */
export class DelveClient {
  private nextId = 1;
  private buffered = '';
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', (e) => this.failAll(e));
    socket.on('close', () => this.failAll(new Error('Delve closed the connection')));
  }

  /** Connects to a headless Delve listening on 127.0.0.1:port. */
  static connect(port: number): Promise<DelveClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port }, () => resolve(new DelveClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Calls RPCServer.<method> with one argument object and resolves with its result. */
  call<T>(method: string, arg: object): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: (v) => resolve(v as T), reject });
      this.socket.write(`${JSON.stringify({ method: `RPCServer.${method}`, params: [arg], id })}\n`);
    });
  }

  /** Closes the connection. */
  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: string): void {
    this.buffered += chunk;
    for (let nl = this.buffered.indexOf('\n'); nl >= 0; nl = this.buffered.indexOf('\n')) {
      const line = this.buffered.slice(0, nl);
      this.buffered = this.buffered.slice(nl + 1);
      if (!line.trim()) continue;
      const msg = JSON.parse(line) as { id: number; result: unknown; error: string | null };
      const w = this.waiting.get(msg.id);
      if (!w) continue;
      this.waiting.delete(msg.id);
      if (msg.error) w.reject(new Error(`Delve: ${msg.error}`));
      else w.resolve(msg.result);
    }
  }

  private failAll(e: Error): void {
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
  }
}

/** Delve's version as `dlv version` prints it, e.g. "1.27.2". */
export function delveVersion(dlv: string): string {
  const out = execFileSync(dlv, ['version'], { encoding: 'utf8' });
  return /Version:\s*(\S+)/.exec(out)?.[1] ?? 'unknown';
}

/** A headless Delve started on a binary, with the time it printed its listening address. */
export interface DelveSession {
  readonly process: ChildProcess;
  readonly port: number;
  /** performance.now() just before spawn. */
  readonly t0: number;
  /** ms from spawn to "API server listening" (before the binary is loaded). */
  readonly listeningMs: number;
}

/** Spawns `dlv exec <binary> --headless` and resolves once it prints its listening address. */
export function startDelve(dlv: string, binary: string, timeoutMs = 120_000): Promise<DelveSession> {
  const args = [
    'exec',
    binary,
    '--headless',
    '--api-version=2',
    '--listen=127.0.0.1:0',
    '--accept-multiclient',
  ];
  const t0 = performance.now();
  const child = spawn(dlv, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`dlv printed no listening address within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const onData = (b: Buffer): void => {
      output += b.toString('utf8');
      const m = /API server listening at: 127\.0\.0\.1:(\d+)/.exec(output);
      if (!m) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.stdout.resume();
      child.stderr.resume();
      resolve({ process: child, port: Number(m[1]), t0, listeningMs: performance.now() - t0 });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`dlv exited with ${code} before listening:\n${output}`));
    });
  });
}

/** Detaches Delve killing its target, waits for both to exit and SIGKILLs leftovers; returns PIDs it had to kill. */
export async function stopDelve(session: DelveSession, client: DelveClient | undefined): Promise<number[]> {
  const pid = session.process.pid!;
  const children = childPids(pid);
  if (client) {
    // Delve exits once Detach is answered; the connection may close before the answer arrives.
    await client.call('Detach', { Kill: true }).catch(() => undefined);
    client.close();
  }
  const exited = await waitForExit(session.process, 10_000);
  const killed = exited === 'timeout' ? [pid] : [];
  if (exited === 'timeout') session.process.kill('SIGKILL');
  return [...killed, ...(await reap(children, 5_000))];
}

/** One cold load of a binary by Delve, until it answered its first queries. */
export interface DelveLoadRun {
  /** ms from spawn to the answer of the last query. */
  readonly readyMs: number;
  /** ms from spawn to "API server listening" (process up, binary not loaded yet). */
  readonly listeningMs: number;
  /** Peak RSS of the dlv process (VmHWM), KiB. */
  readonly peakRssKiB: number;
  /** User+system CPU time of dlv until ready, ms. */
  readonly cpuMs: number;
  /** What the queries returned, to show they did the same work as ours. */
  readonly answers: { readonly fn: string; readonly line: string; readonly types: number };
  /** PIDs that did not exit on Detach and had to be SIGKILLed (should be empty). */
  readonly killed: readonly number[];
}

interface Location {
  pc: number;
  file: string;
  line: number;
  function?: { name: string; value: number };
}

/**
 * Times Delve from spawn until it answered: function by name (FindLocation), PC -> file:line
 * of that function's entry (FindLocation *0x...), and type by name (ListTypes).
 */
export async function timeDelveLoad(
  dlv: string,
  binary: string,
  fn: string,
  type: string,
): Promise<DelveLoadRun> {
  const session = await startDelve(dlv, binary);
  let client: DelveClient | undefined;
  try {
    client = await DelveClient.connect(session.port);
    const scope = { GoroutineID: -1, Frame: 0, DeferredCall: 0 };
    const byName = await client.call<{ Locations: Location[] }>('FindLocation', { Scope: scope, Loc: fn });
    const entry = byName.Locations[0]?.function?.value;
    if (entry === undefined) throw new Error(`Delve found no function ${fn}`);
    const atPc = await client.call<{ Locations: Location[] }>('FindLocation', {
      Scope: scope,
      Loc: `*0x${entry.toString(16)}`,
    });
    const types = await client.call<{ Types: string[] }>('ListTypes', {
      Filter: `^${type.replace(/\./g, '\\.')}$`,
    });
    const readyMs = performance.now() - session.t0;
    const pid = session.process.pid!;
    const mem = procMemory(pid);
    const cpuMs = procCpuMs(pid) ?? NaN;
    const loc = atPc.Locations[0];
    return {
      readyMs,
      listeningMs: session.listeningMs,
      peakRssKiB: mem?.peakRssKiB ?? NaN,
      cpuMs,
      answers: {
        fn: `${fn} @ 0x${entry.toString(16)}`,
        line: loc ? `${loc.file}:${loc.line}` : 'none',
        types: types.Types.length,
      },
      killed: await stopDelve(session, client),
    };
  } catch (e) {
    await stopDelve(session, client);
    throw e;
  }
}
