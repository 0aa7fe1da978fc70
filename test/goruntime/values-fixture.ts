/** Starts testdata/values, waits for "ready", and returns its pid and printed expectations. */
import { type ChildProcess, spawn } from 'node:child_process';

/** A running values fixture. */
export interface ValuesProcess {
  readonly pid: number;
  /** The JSON line the program printed about its own values (Go's String()/Format/Error output). */
  readonly expect: Record<string, unknown>;
  kill(): void;
}

/** Runs the fixture binary at `path` until it reports ready (killed if it does not within 30 s). */
export async function startValues(path: string): Promise<ValuesProcess> {
  const child: ChildProcess = spawn(path, [], { stdio: ['ignore', 'pipe', 'inherit'] });
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  try {
    const lines = await new Promise<string[]>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('ready\n')) resolve(out.split('\n'));
      });
      child.once('exit', (c) => reject(new Error(`fixture exited early (${c}): ${out}`)));
      setTimeout(() => reject(new Error('fixture did not print ready')), 30_000).unref();
    });
    return { pid: child.pid!, expect: JSON.parse(lines[0]!) as Record<string, unknown>, kill };
  } catch (e) {
    kill();
    throw e;
  }
}
