// The demo fleet for `npm start` (scripts/start.js): runs the Go services built from demo/
// (scripts/demo-build.js) as child processes, and stops every process it started.
//
// Each service gets -lifeline and a pipe as its stdin: when this Node process dies, however it
// dies, the pipe closes and the services exit, so no demo process is ever left behind.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';

/** A child process whose output goes to a log file; `line(re)` waits for a matching line. */
export class Child {
  constructor(name, command, args, { logDir, env, lifeline = false }) {
    this.name = name;
    this.logPath = join(logDir, `${name}.log`);
    const log = createWriteStream(this.logPath, { flags: 'a' });
    // Its own process group (and session): a signal to npm start's process group (Ctrl-C)
    // reaches the script only, which stops the children once each and in order (load first,
    // server last). A server or agent signalled twice would die in the middle of its own stop.
    this.proc = spawn(command, args, {
      stdio: [lifeline ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      env: env ?? process.env,
      detached: true,
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
 * the gateway. `opts`: stuckAfter, stuckFor, stuckEvery (Go durations), onStart (called with
 * each child as soon as it is started). Returns the children.
 */
export async function startFleet(binDir, logDir, opts = {}) {
  const bin = (s) => join(binDir, `demo-${s}`);
  const started = [];
  const run = async (name, args) => {
    const c = new Child(name, bin(name), ['-lifeline', ...args], { logDir, lifeline: true });
    started.push(c);
    opts.onStart?.(c);
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
