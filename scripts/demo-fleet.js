// The demo fleet for `npm start` (scripts/start.js): builds the Go services under demo/ and
// runs them as child processes, and stops every process it started.
//
// Each service gets -lifeline and a pipe as its stdin: when this Node process dies, however it
// dies, the pipe closes and the services exit, so no demo process is ever left behind.
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** The demo's services, in start order (each is given the address of the one before). */
export const SERVICES = ['inventory', 'orders', 'gateway', 'loadgen'];

/** Builds demo/<service> into binDir/demo-<service> with the machine's Go; throws a clear error. */
export function buildFleet(root, binDir) {
  mkdirSync(binDir, { recursive: true });
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
  } catch {
    throw new Error('Go is not on PATH: the demo services are Go programs built here (Go 1.22 or newer)');
  }
  const env = { ...process.env, GOFLAGS: `${process.env.GOFLAGS ?? ''} -mod=readonly`.trim() };
  for (const s of SERVICES) {
    const out = join(binDir, `demo-${s}`);
    try {
      execFileSync('go', ['build', '-buildvcs=false', '-o', out, `./${s}`], {
        cwd: join(root, 'demo'),
        env,
        stdio: 'pipe',
      });
    } catch (e) {
      throw new Error(`building demo/${s} failed:\n${e.stderr?.toString() ?? e.message}`);
    }
  }
}

/** A child process whose output goes to a log file; `line(re)` waits for a matching line. */
export class Child {
  constructor(name, command, args, { logDir, env, lifeline = false }) {
    this.name = name;
    this.logPath = join(logDir, `${name}.log`);
    const log = createWriteStream(this.logPath, { flags: 'a' });
    this.proc = spawn(command, args, {
      stdio: [lifeline ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      env: env ?? process.env,
    });
    this.pid = this.proc.pid;
    this.exited = new Promise((resolve) =>
      this.proc.once('exit', (code, signal) => resolve({ code, signal })),
    );
    this.done = false;
    this.exited.then(() => {
      this.done = true;
    });
    this.text = '';
    this.waiters = [];
    const onData = (d) => {
      log.write(d);
      this.text += d.toString();
      if (this.text.length > 1 << 20) this.text = this.text.slice(-(1 << 19));
      for (const w of [...this.waiters]) w();
    };
    this.proc.stdout.on('data', onData);
    this.proc.stderr.on('data', onData);
    this.exited.then(() => {
      log.end();
      for (const w of [...this.waiters]) w();
    });
  }

  /** Resolves with the first match of `re` in the output; rejects on exit or after `ms`. */
  line(re, ms = 30_000) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = re.exec(this.text);
        if (m) return finish(() => resolve(m));
        if (this.done)
          return finish(() =>
            reject(
              new Error(
                `${this.name} exited before it was ready; its log: ${this.logPath}\n${tail(this.text)}`,
              ),
            ),
          );
      };
      const timer = setTimeout(
        () =>
          finish(() =>
            reject(new Error(`${this.name} was not ready within ${ms / 1000} s; its log: ${this.logPath}`)),
          ),
        ms,
      );
      const finish = (f) => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        f();
      };
      this.waiters.push(check);
      check();
    });
  }

  /** Sends `signal`, waits up to `ms`, then SIGKILL; resolves when the process is gone. */
  async stop(signal = 'SIGTERM', ms = 5000) {
    if (this.done) return;
    this.proc.stdin?.end();
    try {
      this.proc.kill(signal);
    } catch {}
    const timer = setTimeout(() => {
      try {
        this.proc.kill('SIGKILL');
      } catch {}
    }, ms);
    await this.exited;
    clearTimeout(timer);
  }
}

function tail(text) {
  return text.split('\n').slice(-15).join('\n');
}

/**
 * Starts the fleet from binDir: inventory, orders, gateway, then the load generator pointed at
 * the gateway. `opts`: stuckAfter, stuckFor, stuckEvery (Go durations). Returns the children.
 */
export async function startFleet(binDir, logDir, opts = {}) {
  const bin = (s) => join(binDir, `demo-${s}`);
  const started = [];
  const run = async (name, args) => {
    const c = new Child(name, bin(name), ['-lifeline', ...args], { logDir, lifeline: true });
    started.push(c);
    return c;
  };
  try {
    const inventory = await run('inventory', ['-stuck-for', opts.stuckFor ?? '10m']);
    const [, inventoryAddr] = await inventory.line(/listening (\S+)/);
    const orders = await run('orders', ['-inventory', inventoryAddr]);
    const [, ordersAddr] = await orders.line(/listening (\S+)/);
    const gateway = await run('gateway', ['-orders', ordersAddr]);
    const [, gatewayAddr] = await gateway.line(/listening (\S+)/);
    await run('loadgen', [
      '-gateway',
      `http://${gatewayAddr}`,
      '-stuck-after',
      opts.stuckAfter ?? '3s',
      '-stuck-every',
      opts.stuckEvery ?? '15m',
    ]);
    return { children: started, gatewayAddr, ordersAddr, inventoryAddr };
  } catch (e) {
    await Promise.all(started.map((c) => c.stop('SIGKILL')));
    throw e;
  }
}
