import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../../support/go-fixtures.js';

const NOBODY = 65534;

test('ProcMemFile of another user’s process: says it exists but cannot be read, and which permission that takes', (t) => {
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/setpriv')) {
    t.skip('needs root and setpriv(1) to open the file as an unprivileged user');
    return;
  }
  const memory = join(ROOT, 'dist', 'src', 'proc', 'memory.js');
  const script = `import { ProcMemFile } from ${JSON.stringify(memory)};
for (const pid of [${process.pid}, 999999999]) {
  try { new ProcMemFile(pid); console.log('opened'); } catch (e) { console.log(e.kind + ': ' + e.message); }
}`;
  const out = execFileSync(
    'setpriv',
    [
      `--reuid=${NOBODY}`,
      `--regid=${NOBODY}`,
      '--clear-groups',
      process.execPath,
      '--input-type=module',
      '-e',
      script,
    ],
    { encoding: 'utf8', timeout: 30_000 },
  )
    .trim()
    .split('\n');
  // This test runs as root: the unprivileged reader is told who owns it and what reading it takes.
  assert.match(
    out[0] ?? '',
    new RegExp(
      `^permission: cannot read the executable or memory of process ${process.pid}: it runs as root \\(uid 0\\).*needs CAP_SYS_PTRACE`,
    ),
  );
  assert.match(out[1] ?? '', /^not-found: process 999999999 does not exist/);
});
