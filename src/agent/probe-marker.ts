/**
 * The agent's note that it has probes on: a file in its runtime directory from the moment it
 * starts placing a probe while any is wanted or attached, removed when none is (and on a clean
 * exit). Found at start with its writer dead,
 * it means the agent crashed with probes on; the next agent waits before placing probes
 * again, twice as long after each crash in a row (a probe that crashes its agent must not
 * crash it in a loop).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The marker file's name in the runtime directory. */
export const MARKER_FILE = 'probes-attached.json';

/** The longest wait after crashes, ms. */
const MAX_BACKOFF_MS = 3_600_000;

interface Marker {
  readonly pid: number;
  readonly since: string;
  /** Crashes with probes on before this agent, in a row. */
  readonly crashes: number;
}

/** What the marker found at start says. */
export interface CrashRecord {
  readonly pid: number;
  readonly since: string;
  readonly crashes: number;
  /** How long to wait before placing probes, ms. */
  readonly backoffMs: number;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The agent's marker in `dir`. */
export class ProbeMarker {
  private readonly path: string;
  private written = false;
  private crashes = 0;

  constructor(
    dir: string,
    private readonly baseBackoffMs: number,
  ) {
    this.path = join(dir, MARKER_FILE);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /** A crash with probes on before this start (the marker of a process that is gone), if any. */
  crashFound(): CrashRecord | undefined {
    let m: Marker;
    try {
      m = JSON.parse(readFileSync(this.path, 'utf8')) as Marker;
    } catch {
      return undefined;
    }
    if (typeof m.pid !== 'number' || (m.pid !== process.pid && alive(m.pid))) return undefined;
    rmSync(this.path, { force: true }); // this agent writes its own when it places probes
    this.crashes = (Number.isInteger(m.crashes) ? m.crashes : 0) + 1;
    return {
      pid: m.pid,
      since: String(m.since),
      crashes: this.crashes,
      backoffMs: Math.min(MAX_BACKOFF_MS, this.baseBackoffMs * 2 ** (this.crashes - 1)),
    };
  }

  /** Probes are on: write the marker (once). */
  attached(): void {
    if (this.written) return;
    const m: Marker = { pid: process.pid, since: new Date().toISOString(), crashes: this.crashes };
    writeFileSync(this.path, `${JSON.stringify(m)}\n`, { mode: 0o600 });
    this.written = true;
  }

  /** No probe is on any more: remove the marker; the crash count starts again. */
  detached(): void {
    if (!this.written) return;
    rmSync(this.path, { force: true });
    this.written = false;
    this.crashes = 0;
  }
}
