/**
 * Periscope's version is written once, in package.json: the CLI, the agent's hello and the
 * server report that one, and no source file holds a copy of it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { AGENT_VERSION } from '../../src/agent/agent.js';
import { PERISCOPE_VERSION } from '../../src/common/version.js';
import { SERVER_VERSION } from '../../src/server/context.js';
import { ROOT } from '../../support/go-fixtures.js';

const run = promisify(execFile);
const PACKAGE_VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string })
  .version;

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

test('the CLI, the agent and the server report package.json’s version', async () => {
  assert.match(PACKAGE_VERSION, /^\d+\.\d+\.\d+/);
  assert.equal(PERISCOPE_VERSION, PACKAGE_VERSION);
  assert.equal(AGENT_VERSION, PACKAGE_VERSION);
  assert.equal(SERVER_VERSION, PACKAGE_VERSION);
  const { stdout } = await run(process.execPath, [join(ROOT, 'bin', 'periscope.js'), '--version']);
  assert.equal(stdout.trim(), `periscope ${PACKAGE_VERSION}`);
});

test('no source file holds a copy of the version', () => {
  const literal = new RegExp(
    `['"\`]${PACKAGE_VERSION.replaceAll('.', '\\.')}['"\`]|periscope ${PACKAGE_VERSION.replaceAll('.', '\\.')}`,
  );
  const copies = sources(join(ROOT, 'src')).filter((f) => literal.test(readFileSync(f, 'utf8')));
  assert.deepEqual(copies, []);
});
