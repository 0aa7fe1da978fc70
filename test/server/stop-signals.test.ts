/**
 * A server or agent told to stop twice (a process group's Ctrl-C on top of a supervisor's
 * SIGTERM) stops once and cleanly: the second signal is noted, never fatal half-way through
 * closing the store.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createToken, startAgentProc, startServerProc, tempDir } from '../../support/fleet.js';

const stops: (() => void)[] = [];
after(() => {
  for (const s of stops) s();
});

test('two signals in a row: the server closes once and exits 0; its store opens again', async () => {
  const dataDir = tempDir('periscope-stop-twice-');
  const first = await startServerProc(dataDir);
  stops.push(() => first.proc.signal('SIGKILL'));
  first.proc.signal('SIGTERM');
  first.proc.signal('SIGINT');
  assert.equal(await first.proc.exitStatus(), 0);
  assert.equal(first.proc.matching(/^stopping$/).length, 1);
  // A server killed half-way through closing leaves a store that may not open cleanly: this one opens.
  const second = await startServerProc(dataDir);
  stops.push(() => second.proc.signal('SIGKILL'));
  second.proc.signal('SIGTERM');
  assert.equal(await second.proc.exitStatus(), 0);
});

test('two signals in a row: the agent stops once and exits 0', async () => {
  const dataDir = tempDir('periscope-stop-twice-agent-');
  const token = await createToken(dataDir, 'agent', 'stop-twice');
  const server = await startServerProc(dataDir);
  stops.push(() => server.proc.signal('SIGKILL'));
  const agent = startAgentProc(server.url, token, 'stop-twice-host', 'no-such-tag');
  stops.push(() => agent.signal('SIGKILL'));
  await agent.waitFor(/connected to ws:/, 30_000);
  agent.signal('SIGTERM');
  agent.signal('SIGINT');
  assert.equal(await agent.exitStatus(), 0);
  assert.equal(agent.matching(/: agent stopping$/).length, 1);
  server.proc.signal('SIGTERM');
  assert.equal(await server.proc.exitStatus(), 0);
});
