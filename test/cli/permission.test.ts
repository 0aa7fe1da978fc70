import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { ROOT } from '../../support/go-fixtures.js';
import { startFixture } from '../store/store-support.js';

const run = promisify(execFile);
const CLI = join(ROOT, 'bin', 'periscope.js');
const NOBODY = 65534;

/** Runs the CLI as uid/gid 65534 (nobody) with no supplementary groups and no capabilities. */
async function cliAsNobody(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      'setpriv',
      [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, CLI, ...args],
      { timeout: 60_000 },
    );
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout: string; stderr: string };
    return { code: err.code ?? -1, stdout: err.stdout, stderr: err.stderr };
  }
}

test('snapshot of another user’s process: says it exists but cannot be read, and what permission that takes', async (t) => {
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/setpriv')) {
    t.skip('needs root and setpriv(1) to run the CLI as an unprivileged user');
    return;
  }
  const target = await startFixture('exprs'); // runs as root
  try {
    const r = await cliAsNobody('snapshot', '--pid', String(target.pid), '--no-store');
    assert.equal(r.code, 4, `no process captured: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /does not exist/);
    assert.match(
      r.stderr,
      new RegExp(
        `^periscope: cannot read the executable or memory of process ${target.pid}: it runs as root \\(uid 0\\) and this command as \\S* ?\\(?uid ${NOBODY}\\)?; reading another user's process needs CAP_SYS_PTRACE`,
      ),
    );
    // A process that does not exist is still called that.
    const gone = await cliAsNobody('snapshot', '--pid', '999999999', '--no-store');
    assert.match(gone.stderr, /process 999999999 does not exist/);
  } finally {
    await target.kill();
  }
});
