/**
 * The agent's binary cache on disk (--cache-dir), with a real agent, a real Go fixture and the
 * test's fake server: an agent restarted against the same binary starts from what the one
 * before stored; a damaged entry is ignored and replaced; a directory another user owns is
 * refused with one clear log line, and snapshots go on without it; a one-shot snapshot beside
 * the agent, on the same directory at the same time, and the agent keep what each other stored.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import type { AgentOptions } from '../../src/agent/agent.js';
import { ElfFile } from '../../src/elf/elf-file.js';
import { capturedSnapshot } from '../../src/protocol/messages.js';
import { BinaryDiskCache } from '../../src/snapshot/binary-disk-cache.js';
import { checkStoredFacts, factsKey } from '../../src/snapshot/stored-facts.js';
import { buildFixture, ROOT } from '../../support/go-fixtures.js';
import { withTestPauseCap } from '../../support/pause-cap.js';
import { startTarget, type Target } from '../../support/target.js';
import { FakeServer } from './fake-server.js';
import { startAgent, type TestAgent } from './harness.js';

const TOKEN = 'agent-token';
const SPEC = `version: 1
functions:
  - function: main.park
    table: parked
    capture:
      n: n
`;

/** An agent with this cache directory, reporting only the processes started with `id`'s env. */
async function agentWith(server: FakeServer, dir: string, id?: string): Promise<TestAgent> {
  const opts: Partial<AgentOptions> = {
    binaryCacheDir: dir,
    ...(id ? { localMatch: { 'env.PERISCOPE_TEST_ID': `^${id}$` } } : {}),
  };
  const a = startAgent(server.url, TOKEN, opts);
  await a.waitLog(/connected/);
  return a;
}

async function keyOf(server: FakeServer, t: Target): Promise<string> {
  const m = await server.waitFor('processes', (x) => x.processes.some((p) => p.pid === t.pid), 10_000);
  return m.processes.find((p) => p.pid === t.pid)!.key;
}

/** Prepares and captures `key` under `requestId`; asserts the snapshot has main.park's value. */
async function snapshot(server: FakeServer, key: string, requestId: string): Promise<void> {
  server.send({ type: 'prepare', requestId, keys: [key], specVersion: 3 });
  const prepared = await server.waitFor('prepared', (m) => m.requestId === requestId, 60_000);
  assert.equal(prepared.results[0]?.error, undefined, prepared.results[0]?.error?.message);
  server.send({ type: 'capture', requestId, keys: [key] });
  const c = await server.waitFor('captured', (m) => m.requestId === requestId, 30_000);
  assert.equal(c.error, undefined, c.error?.message);
  const parked = capturedSnapshot(c)!.goroutines.find((g) =>
    g.captures.some((f) => f.function === 'main.park'),
  );
  assert.ok(parked, 'the spec captured main.park');
}

const cacheLines = (a: TestAgent) => a.logs.map((l) => l.line).filter((l) => l.startsWith('binary cache ('));
const entries = (dir: string, suffix: string) => readdirSync(dir).filter((n) => n.endsWith(suffix));

test('an agent restarted against the same binary starts from the cache; a damaged entry is ignored and replaced', async () => {
  const bin = await buildFixture('exprs');
  const root = mkdtempSync(join(tmpdir(), 'periscope-agent-cache-'));
  const dir = join(root, 'binaries');
  const server = await FakeServer.start(TOKEN);
  server.spec = { version: 3, text: SPEC };
  let a = await agentWith(server, dir);
  const id = a.env.PERISCOPE_TEST_ID!;
  let target: Target | undefined;
  try {
    target = await startTarget(bin.path, [], a.env);
    const key = await keyOf(server, target);

    // First agent: nothing stored yet; it loads the binary and stores what it learned.
    await snapshot(server, key, 'c1');
    assert.ok(!cacheLines(a).some((l) => / hit /.test(l)), `no hit on an empty cache: ${cacheLines(a)}`);
    const [facts] = entries(dir, '.facts');
    assert.ok(facts, `an entry was stored in ${dir}: ${readdirSync(dir)}`);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, facts)).mode & 0o777, 0o600);
    a.stop();

    // Restarted: the capture thread starts from the entry, and says so.
    a = await agentWith(server, dir, id);
    await snapshot(server, key, 'c2');
    const hit = await a.waitLog(/^binary cache \(capture thread\): hit /);
    assert.ok(hit.includes(facts), hit);
    a.stop();

    // Damaged (another format, same name and mode): ignored, the binary loaded from its file,
    // and the entry written again; the next agent starts from the new one.
    const path = join(dir, facts);
    writeFileSync(path, Buffer.from('not a facts file, not at all'), { mode: 0o600 });
    a = await agentWith(server, dir, id);
    await snapshot(server, key, 'c3');
    await a.waitLog(/^binary cache \(capture thread\): ignored .*\.facts: /);
    assert.ok(
      !cacheLines(a).some((l) => / hit .*\.facts/.test(l)),
      `no hit on a damaged entry: ${cacheLines(a)}`,
    );
    assert.ok(statSync(path).size > 1000, 'the entry was written again');
    assert.notEqual(readFileSync(path).subarray(0, 9).toString(), 'not a fac');
    a.stop();

    a = await agentWith(server, dir, id);
    await snapshot(server, key, 'c4');
    await a.waitLog(/^binary cache \(capture thread\): hit /);
  } finally {
    await target?.kill();
    a.stop();
    await server.close();
    rmSync(root, { recursive: true, force: true });
  }
});

test('a cache directory another user owns is refused once, with a clear line; snapshots go on without it', async () => {
  const bin = await buildFixture('exprs');
  const root = mkdtempSync(join(tmpdir(), 'periscope-agent-cache-'));
  const dir = join(root, 'binaries');
  mkdirSync(dir, { mode: 0o700 });
  chownSync(dir, 65534, 65534); // nobody (the tests run as root)
  chmodSync(dir, 0o700);
  const server = await FakeServer.start(TOKEN);
  server.spec = { version: 3, text: SPEC };
  const a = await agentWith(server, dir);
  let target: Target | undefined;
  try {
    target = await startTarget(bin.path, [], a.env);
    const key = await keyOf(server, target);
    await snapshot(server, key, 'o1');
    await snapshot(server, key, 'o2');
    const refused = cacheLines(a).filter((l) => /not using/.test(l));
    assert.equal(refused.length, 1, `one line: ${cacheLines(a)}`);
    assert.match(
      refused[0]!,
      /capture thread\): not using .*binaries: owned by uid 65534, not 0; going on without it/,
    );
    assert.match(refused[0]!, /--cache-dir/);
    assert.deepEqual(readdirSync(dir), [], 'nothing written into it');
  } finally {
    await target?.kill();
    a.stop();
    await server.close();
    rmSync(root, { recursive: true, force: true });
  }
});

test('a one-shot snapshot beside the agent, writing the same entry at the same time, and the agent keep what each other stored', async () => {
  const bin = await buildFixture('exprs');
  const root = mkdtempSync(join(tmpdir(), 'periscope-agent-cache-'));
  const dir = join(root, 'binaries'); // the agent's --cache-dir root, and the command's PERISCOPE_CACHE_DIR
  const server = await FakeServer.start(TOKEN);
  server.spec = { version: 3, text: SPEC };
  const a = await agentWith(server, dir);
  let target: Target | undefined;
  try {
    target = await startTarget(bin.path, [], a.env);
    const key = await keyOf(server, target);
    // The command's spec captures another function: its frame hosts are another name set.
    const spec = join(root, 'main.yaml');
    writeFileSync(
      spec,
      'functions:\n  - function: main.main\n    table: mains\n    capture:\n      mode: cfg.Mode\n',
    );
    const oneShot = promisify(execFile)(
      process.execPath,
      [
        join(ROOT, 'bin', 'periscope.js'),
        ...withTestPauseCap([
          'snapshot',
          '--pid',
          String(target.pid),
          '--spec',
          spec,
          '--no-store',
          '--json',
        ]),
      ],
      {
        timeout: 120_000,
        maxBuffer: 1 << 26,
        env: { ...process.env, PERISCOPE_CACHE_DIR: root, PERISCOPE_DEBUG: '1' },
      },
    );
    await snapshot(server, key, 'b1');
    const { stderr } = await oneShot;
    const said = stderr.split('\n').filter((l) => l.startsWith('periscope: binary cache: '));
    assert.ok(
      said.some((l) => / stored .*\.facts/.test(l)),
      `the command stored: ${said.join(' | ')}`,
    );
    assert.ok(!said.some((l) => /not stored/.test(l)), said.join(' | '));
    assert.ok(!cacheLines(a).some((l) => /not stored/.test(l)), cacheLines(a).join(' | '));

    const elf = ElfFile.open(bin.path);
    const factsOf = factsKey(elf)!;
    elf.close();
    const entry = new BinaryDiskCache({ dir }).load(factsOf, checkStoredFacts) ?? assert.fail('no entry');
    const sets = (entry.frameHosts ?? []).map(([k]) => k.split('\n'));
    assert.ok(
      sets.some((names) => names.includes('main.park') && !names.includes('main.main')),
      `the agent's frame hosts: ${JSON.stringify(sets)}`,
    );
    assert.ok(
      sets.some((names) => names.includes('main.main') && !names.includes('main.park')),
      `the command's frame hosts: ${JSON.stringify(sets)}`,
    );
  } finally {
    await target?.kill();
    a.stop();
    await server.close();
    rmSync(root, { recursive: true, force: true });
  }
});
