/** Where `periscope agent` keeps its binary cache (cli/binary-cache-dir.ts, agentBinaryCacheDir): flag, environment, systemd, root. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agentBinaryCacheDir } from '../../src/cli/binary-cache-dir.js';
import { agentCommand } from '../../src/cli/commands/agent.js';

test('agent cache directory: --cache-dir, then PERISCOPE_CACHE_DIR, then systemd, then root, then the user cache; off', () => {
  const home = { HOME: '/home/u' };
  assert.equal(
    agentBinaryCacheDir('/srv/c', { ...home, CACHE_DIRECTORY: '/var/cache/x' }, 0),
    '/srv/c/binaries',
  );
  assert.equal(agentBinaryCacheDir('off', { ...home, CACHE_DIRECTORY: '/var/cache/x' }, 0), undefined);
  assert.equal(agentBinaryCacheDir(undefined, { ...home, PERISCOPE_CACHE_DIR: 'off' }, 0), undefined);
  assert.equal(agentBinaryCacheDir(undefined, { ...home, PERISCOPE_CACHE_DIR: '/e' }, 0), '/e/binaries');
  // systemd's CacheDirectory= (a colon-separated list when the unit names several).
  assert.equal(
    agentBinaryCacheDir(undefined, { ...home, CACHE_DIRECTORY: '/var/cache/periscope:/var/cache/other' }, 0),
    '/var/cache/periscope/binaries',
  );
  assert.equal(agentBinaryCacheDir(undefined, home, 0), '/var/cache/periscope/binaries');
  assert.equal(agentBinaryCacheDir(undefined, { XDG_CACHE_HOME: '/x' }, 1000), '/x/periscope/binaries');
});

test('periscope agent --cache-dir "": a usage error that says what to give', async () => {
  await assert.rejects(
    agentCommand.execute(['--server', 'ws://127.0.0.1:1', '--token', 't', '--cache-dir', '']),
    /--cache-dir wants a directory, or off/,
  );
});
