// Stopping `npm start`: a signal to the npm process alone, to the script alone, to the whole
// process group, or npm killed outright, each stops everything the demo started. Each case is
// one real `npm start` in its own process group, in the long-running mode, waited for until it
// says "running"; the demo services are built once for all of them. (Ctrl-C, SIGINT to the
// process group, is the end of test/demo/start.test.ts.)
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  buildDemoOnce,
  type DemoRun,
  demoProcesses,
  killDemo,
  scriptPid,
  seedDemoDir,
  startDemo,
  tracedDemoProcesses,
  waitDemoGone,
} from '../../support/demo-run.js';

interface Case {
  readonly name: string;
  readonly target: 'npm' | 'script' | 'group';
  readonly signal: NodeJS.Signals;
}

const CASES: readonly Case[] = [
  { name: 'SIGINT to the npm process alone', target: 'npm', signal: 'SIGINT' },
  { name: 'SIGTERM to the npm process alone', target: 'npm', signal: 'SIGTERM' },
  { name: 'SIGKILL to the npm process alone (npm gone without a word)', target: 'npm', signal: 'SIGKILL' },
  { name: 'SIGTERM to the script alone', target: 'script', signal: 'SIGTERM' },
  { name: 'SIGTERM to the process group', target: 'group', signal: 'SIGTERM' },
];

const base = mkdtempSync(join(tmpdir(), 'periscope-demo-signals-'));
const prebuilt = join(base, 'prebuilt');
const dirs: string[] = [];

before(async () => {
  await buildDemoOnce(prebuilt);
});

after(() => {
  for (const dir of dirs) killDemo(dir);
  rmSync(base, { recursive: true, force: true });
});

describe('npm start stops everything it started', { concurrency: 3, timeout: 600_000 }, () => {
  CASES.forEach((c, i) => {
    test(c.name, async () => {
      const dir = join(base, `run-${i}`);
      dirs.push(dir);
      seedDemoDir(dir, prebuilt);
      const run: DemoRun = await startDemo(dir, ['--stuck-after', '1s', '--stuck-for', '5m']);
      const started = demoProcesses(dir);
      for (const name of ['server', 'agent', 'inventory', 'orders', 'gateway', 'loadgen'])
        assert.ok(started.includes(run.info.pids[name] ?? -1), `${name} is not among the demo's processes`);

      const pid = run.npm.pid;
      assert.ok(pid);
      if (c.target === 'npm') process.kill(pid, c.signal);
      else if (c.target === 'group') process.kill(-pid, c.signal);
      else {
        const script = scriptPid(dir);
        assert.ok(script, 'scripts/start.js is not running');
        process.kill(script, c.signal);
      }

      let timer: NodeJS.Timeout | undefined;
      const exited = await Promise.race([
        run.exited,
        new Promise<'timeout'>((r) => {
          timer = setTimeout(() => r('timeout'), 60_000);
        }),
      ]);
      clearTimeout(timer);
      const left = await waitDemoGone(dir, 30_000);
      assert.deepEqual(left, [], `still running after ${c.name}:\n${run.output()}`);
      assert.notEqual(exited, 'timeout', `npm did not exit after ${c.name}`);
      assert.deepEqual(tracedDemoProcesses(dir), []);
      await run.closed; // the script's last lines, read by now
      assert.match(run.output(), /npm start: stopped; nothing is left running/);
    });
  });
});
