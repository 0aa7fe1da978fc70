/**
 * Some threads frozen in a cgroup-v1 freezer of their own: they stop running (and do not
 * wake for PTRACE_INTERRUPT or signals) until thawed, while the other threads of their
 * process run on. `remove` thaws them, moves them back to the root cgroup and removes it.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';

export const FREEZER = '/sys/fs/cgroup/freezer';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A cgroup-v1 freezer holding some threads (`name` makes its directory unique with this pid). */
export class Freezer {
  readonly dir: string;
  readonly tids: number[] = [];
  constructor(name: string) {
    this.dir = `${FREEZER}/periscope-${name}-${process.pid}`;
    mkdirSync(this.dir, { recursive: true });
  }
  async freeze(tids: number[]): Promise<void> {
    for (const tid of tids) {
      writeFileSync(`${this.dir}/tasks`, String(tid));
      this.tids.push(tid);
    }
    writeFileSync(`${this.dir}/freezer.state`, 'FROZEN');
    for (let i = 0; i < 200 && this.state() !== 'FROZEN'; i++) await sleep(10);
    assert.equal(this.state(), 'FROZEN', 'the threads froze');
  }
  state(): string {
    return readFileSync(`${this.dir}/freezer.state`, 'utf8').trim();
  }
  thaw(): void {
    writeFileSync(`${this.dir}/freezer.state`, 'THAWED');
  }
  /** Thaws, moves the threads back to the root cgroup, removes the cgroup. */
  remove(): void {
    if (!existsSync(this.dir)) return;
    this.thaw();
    for (const tid of this.tids) {
      try {
        writeFileSync(`${FREEZER}/tasks`, String(tid));
      } catch {
        // Exited.
      }
    }
    rmdirSync(this.dir);
  }
}
