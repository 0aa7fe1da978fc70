/**
 * A process whose capture cannot be stored fails alone in a fleet snapshot, on whichever
 * server stores it: two `periscope server` processes on one PostgreSQL and one SeaweedFS, a
 * real agent with a linkpair fixture on each, and on each server a protocol-speaking agent
 * (FakeAgent) that answers with a real snapshot of the goroutines fixture — for one process
 * with a value that does not fit its column (a thread count past int32, as a damaged capture
 * could carry: the shape check lets it through, DuckDB refuses it). Before, B's whole part
 * failed (every process of B lost) and A's own part failed the whole snapshot; now that
 * process is stored with an INTERNAL error saying why, as the embedded store does, and every
 * other process of both parts is stored.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ProcessSnapshot } from '../../src/snapshot/snapshot-types.js';
import {
  cliJson,
  type FleetSnapshot,
  fleetTag,
  type Proc,
  type ServerProc,
  startAgentProc,
  startTagged,
  waitForFleet,
} from '../../support/fleet.js';
import { buildFixture } from '../../support/go-fixtures.js';
import type { Target } from '../../support/target.js';
import { describeProcess, FakeAgent, type RealSnapshot, realSnapshot } from '../server/server-support.js';
import { ScaledOutServers } from './scaled-out-servers.js';

const tag = fleetTag();
const fleet = new ScaledOutServers('part-unstorable');
let a: ServerProc | undefined;
let b: ServerProc | undefined;
let real: RealSnapshot | undefined;
const agents: Proc[] = [];
const fakes: FakeAgent[] = [];
const targets: Target[] = [];
const tok = { agent: '', admin: '' };

/** The real snapshot with one value no `threads` column (INTEGER) holds. */
function unstorable(s: ProcessSnapshot): ProcessSnapshot {
  return { ...s, threads: 2 ** 40 };
}

before(async () => {
  [, real] = await Promise.all([fleet.start({ s3: true }), realSnapshot()]);
  tok.agent = await fleet.token('agent', 'agent');
  tok.admin = await fleet.token('admin', 'admin');
  [a, b] = await fleet.startServers(['a', 'b']);
  const { path } = await buildFixture('linkpair');
  for (const host of ['host-a', 'host-b']) targets.push(await startTagged(path, [], tag, host));
  agents.push(startAgentProc(a!.url, tok.agent, 'host-a', tag));
  agents.push(startAgentProc(b!.url, tok.agent, 'host-b', tag));
  const snap = real.snapshot;
  // On A (the origin): one process, unstorable. On B: one whole, one unstorable.
  const fa = new FakeAgent('pu-fake-a', 'fz-a', [describeProcess('fz-a', 11, ['fz-bad-a'])], () => snap);
  fa.behaviour.set(fa.processes[0]!.key, { snapshot: unstorable(snap) });
  const fb = new FakeAgent(
    'pu-fake-b',
    'fz-b',
    [describeProcess('fz-b', 21, ['fz-good-b']), describeProcess('fz-b', 22, ['fz-bad-b'])],
    () => snap,
  );
  fb.behaviour.set(fb.processes[1]!.key, { snapshot: unstorable(snap) });
  await fa.connect(a!.url, tok.agent);
  await fb.connect(b!.url, tok.agent);
  fakes.push(fa, fb);
  const want = { 'host-a': [targets[0]!.pid], 'host-b': [targets[1]!.pid], 'fz-a': [11], 'fz-b': [21, 22] };
  for (const s of [a!, b!]) await waitForFleet(s.url, tok.admin, want);
});

after(async () => {
  for (const f of fakes) await f.close();
  for (const ag of agents) await ag.stop();
  for (const t of targets) t.kill();
  await real?.target.kill();
  await fleet.close();
});

test('an unstorable process fails alone in its server’s part and in the origin’s; everything else is stored', async () => {
  // Exit code 3: some processes captured, some not.
  const snap = await cliJson<FleetSnapshot>(
    ['snapshot', '--server', a!.url, '--all', '--json'],
    { PERISCOPE_TOKEN: tok.admin },
    3,
  );
  const by = new Map(snap.processes.map((p) => [`${p.hostname}:${p.pid}`, p]));
  assert.equal(by.size, 5, JSON.stringify(snap.processes));
  for (const k of [`host-a:${targets[0]!.pid}`, `host-b:${targets[1]!.pid}`, 'fz-b:21'])
    assert.equal(by.get(k)?.ok, true, `${k}: ${JSON.stringify(by.get(k)?.error)}`);
  for (const k of ['fz-a:11', 'fz-b:22']) {
    const p = by.get(k);
    assert.equal(p?.ok, false, k);
    assert.equal(p?.error?.kind, 'INTERNAL', k);
    assert.match(p?.error?.message ?? '', /the agent sent a snapshot that cannot be stored: .*int32/, k);
  }
  // The index lists every process; the failed ones with their error and no rows; on B as on A.
  for (const s of [a!, b!]) {
    const rows = await cliJson<Record<string, unknown>[]>(
      [
        'query',
        '--server',
        s.url,
        '--format',
        'json',
        `SELECT p.hostname, p.pid, p.error, (SELECT count(*) FROM goroutines g WHERE g.snapshot_id = p.snapshot_id AND g.process_id = p.process_id) AS g FROM processes p WHERE p.snapshot_id = ${snap.snapshotId} ORDER BY hostname, pid`,
      ],
      { PERISCOPE_TOKEN: tok.admin },
    );
    const seen = rows.map((r) => [`${r.hostname}:${r.pid}`, r.error === null, Number(r.g) > 0]);
    assert.deepEqual(
      seen,
      [
        ['fz-a:11', false, false],
        ['fz-b:21', true, true],
        ['fz-b:22', false, false],
        [`host-a:${targets[0]!.pid}`, true, true],
        [`host-b:${targets[1]!.pid}`, true, true],
      ],
      `on ${s.url}`,
    );
    const good = rows.find((r) => r.hostname === 'fz-b' && Number(r.pid) === 21);
    assert.equal(Number(good?.g), real!.snapshot.goroutines.length, 'the whole process is stored whole');
    for (const r of rows.filter((x) => x.error !== null))
      assert.match(String(r.error), /^INTERNAL: the agent sent a snapshot that cannot be stored: /);
  }
});
