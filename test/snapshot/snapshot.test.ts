import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import type { ProcessSnapshot } from '../../src/snapshot/snapshot-types.js';
import { snapshotProcess } from '../../src/snapshot/take-snapshot.js';
import { buildFixture, GO_TOOLCHAINS, ROOT, toolchainUnavailable } from '../../support/go-fixtures.js';
import { TEST_PAUSE_CAP_MS, withTestPauseCap } from '../../support/pause-cap.js';
import { signalLines, startTarget } from '../../support/target.js';

const run = promisify(execFile);
const CLI = join(ROOT, 'bin', 'periscope.js');
const tmp = mkdtempSync(join(tmpdir(), 'periscope-snap-'));

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...withTestPauseCap(args)], {
      timeout: 120_000,
      maxBuffer: 1 << 26,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout: string; stderr: string };
    return { code: err.code ?? -1, stdout: err.stdout, stderr: err.stderr };
  }
}

test('a program that is notified of every signal keeps running through 100 snapshots', async (t) => {
  const { path } = await buildFixture('signalnotify');
  const target = await startTarget(path);
  try {
    const pauses: number[] = [];
    for (let i = 0; i < 100; i++) {
      const s = snapshotProcess(target.pid, { pauseCapMs: TEST_PAUSE_CAP_MS });
      assert.ok(
        s.goroutines.some((g) => g.stack.frames.some((f) => f.function === 'main.main')),
        'main goroutine present',
      );
      pauses.push(s.pauseNs / 1e6);
    }
    const since = performance.now();
    await target.waitFor(/^tick/, 2000, since);
    assert.equal(target.exited(), false);
    assert.deepEqual(signalLines(target), []);
    pauses.sort((a, b) => a - b);
    t.diagnostic(
      `pause over 100 snapshots: median ${pauses[50]!.toFixed(2)} ms, max ${pauses[99]!.toFixed(2)} ms`,
    );
  } finally {
    await target.kill();
  }
});

function processState(pid: number): string {
  return /^State:\s+(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '?';
}

test('killing periscope snapshot with SIGKILL mid-pause: the target runs again within a second, unsignalled', async () => {
  const { path } = await buildFixture('signalnotify');
  const target = await startTarget(path);
  try {
    const snap = spawn(process.execPath, [CLI, 'snapshot', '--pid', String(target.pid)], {
      env: { ...process.env, PERISCOPE_TEST_HOLD_PAUSE_MS: '20000' },
      stdio: 'ignore',
    });
    // Wait until the target is held in a ptrace stop.
    const deadline = Date.now() + 30_000;
    while (!/tracing stop/.test(processState(target.pid))) {
      assert.ok(Date.now() < deadline, `the target never stopped: ${processState(target.pid)}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const killedAt = performance.now();
    snap.kill('SIGKILL');
    const tick = await target.waitFor(/^tick/, 1000, killedAt);
    assert.ok(tick.t - killedAt < 1000, `ticked ${(tick.t - killedAt).toFixed(0)} ms after the kill`);
    assert.equal(target.exited(), false);
    assert.deepEqual(signalLines(target), []);
  } finally {
    await target.kill();
  }
});

test('a snapshot process stuck inside a pause is killed by its watchdog, and the target runs on', async () => {
  const { path } = await buildFixture('signalnotify');
  const target = await startTarget(path);
  try {
    // Held synchronously for a minute (the event loop cannot turn), allowed 300 ms: the
    // watchdog fires after the stop's budget (2 s) plus twice that.
    const startedAt = performance.now();
    const r = await new Promise<{ signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
      const snap = spawn(process.execPath, [CLI, 'snapshot', '--pid', String(target.pid), '--no-store'], {
        env: { ...process.env, PERISCOPE_TEST_HOLD_PAUSE_MS: '60000', PERISCOPE_TEST_MAX_HOLD_MS: '300' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      snap.stderr.on('data', (b: Buffer) => {
        stderr += b.toString('utf8');
      });
      snap.once('exit', (_code, signal) => resolve({ signal, stderr }));
    });
    const killedAt = performance.now();
    assert.equal(r.signal, 'SIGKILL');
    assert.match(r.stderr, new RegExp(`process ${target.pid} has been paused longer than allowed`));
    assert.ok(killedAt - startedAt < 30_000, `killed after ${(killedAt - startedAt).toFixed(0)} ms`);
    const tick = await target.waitFor(/^tick/, 1000, killedAt);
    assert.ok(tick.t - killedAt < 1000, `ticked ${(tick.t - killedAt).toFixed(0)} ms after the kill`);
    assert.equal(target.exited(), false);
    assert.deepEqual(signalLines(target), []);
  } finally {
    await target.kill();
  }
});

const SPEC = `functions:
  - function: main.park
    table: parked
    capture:
      local: local
      count: count
      server: srv.Name
      port: srv.Addr.Port
      items: items
      m: m
      x: m["x"]
      err: err
      n: n
      bad_key: m["nope"]
`;

for (const tc of GO_TOOLCHAINS) {
  test(`periscope snapshot --spec captures values on the spec'd frame (${tc})`, async (t) => {
    const why = await toolchainUnavailable(tc);
    if (why) return t.skip(why);
    const { path } = await buildFixture('exprs', { toolchain: tc });
    const spec = join(tmp, 'spec.yaml');
    writeFileSync(spec, SPEC);
    const target = await startTarget(path, [], {}, /^ready/);
    try {
      for (const mode of [[], ['--no-pause']]) {
        const r = await cli('snapshot', '--pid', String(target.pid), '--spec', spec, '--json', ...mode);
        assert.equal(r.code, 0, r.stderr);
        const s = JSON.parse(r.stdout) as ProcessSnapshot;
        assert.equal(s.mode, mode.length ? 'no-pause' : 'paused');
        // The built-in spec (gRPC, net/http) is merged in: this program has none of its
        // functions, which are noted (a function of the --spec file it lacked would be an error).
        assert.ok(s.specFunctionsAbsent.includes('google.golang.org/grpc.(*Server).handleStream'));
        const parked = s.goroutines.filter((g) => g.captures.length > 0);
        assert.equal(parked.length, 1, 'one goroutine is parked in main.park');
        const cap = parked[0]!.captures[0]!;
        assert.equal(cap.function, 'main.park');
        assert.equal(cap.table, 'parked');
        assert.equal(parked[0]!.stack.frames[cap.depth]!.function, 'main.park');
        const v = Object.fromEntries(cap.values.map((x) => [x.column, x.value]));
        assert.deepEqual(
          {
            local: v.local,
            count: v.count,
            server: v.server,
            port: v.port,
            items: v.items,
            m: v.m,
            x: v.x,
            n: v.n,
          },
          {
            local: 'alpha!',
            count: 7,
            server: 'alpha',
            port: 80,
            items: ['p', 'q', 'r'],
            m: { x: 1, y: 2 },
            x: 1,
            n: 4,
          },
        );
        assert.deepEqual(v.err, {
          type: '*main.MyErr',
          value: {
            address: (v.err as { value: { address: string } }).value.address,
            value: { Code: 404, Msg: 'not found' },
          },
        });
        const bad = cap.values.find((x) => x.column === 'bad_key')!;
        assert.equal(bad.value, null);
        assert.match(bad.error!, /nope/);
        if (!mode.length) {
          assert.ok(s.pauseNs > 0 && s.bytesRead > 0 && s.threads > 0);
          t.diagnostic(
            `${tc}: pause ${(s.pauseNs / 1e6).toFixed(2)} ms (values ${(s.phasesNs.values / 1e6).toFixed(2)} ms)`,
          );
        }
      }
      const text = await cli('snapshot', '--pid', String(target.pid), '--spec', spec);
      assert.match(text.stdout, /main\.park \[frame \d+\]: local="alpha!"\s+count=7/);
      assert.match(text.stdout, /\[chan receive/);
    } finally {
      await target.kill();
    }
  });
}

test('snapshot errors: bad pid, exited process, not a Go process', async () => {
  const usage = await cli('snapshot', '--pid', 'abc');
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--pid PID/);
  const gone = spawn('true');
  await new Promise((r) => gone.once('exit', r));
  const exited = await cli('snapshot', '--pid', String(gone.pid));
  assert.equal(exited.code, 4, 'no process captured');
  assert.match(exited.stderr, /^periscope: process \d+ does not exist \(it may have exited\)\n$/);
  const sleeper = spawn('sleep', ['60']);
  try {
    const notGo = await cli('snapshot', '--pid', String(sleeper.pid));
    assert.equal(notGo.code, 4, 'no process captured');
    assert.match(notGo.stderr, /is not a Go program/);
  } finally {
    sleeper.kill('SIGKILL');
  }
});

// Each problem sits at its own line and column of the file: the `N` of Nmae, the start of
// nosuchvar, and the end of the unfinished expression (inside its quotes).
const MISFIT = `functions:
  - function: main.park
    table: parked
    capture:
      a: srv.Nmae
      b: nosuchvar
      c: "srv.Name +"
      name: srv.Name
      count: count
`;

test('a spec entry that does not fit the binary costs only that entry: the rest is captured, the problems recorded where they are', async () => {
  const { path } = await buildFixture('exprs');
  const target = await startTarget(path, [], {}, /^ready/);
  try {
    const spec = join(tmp, 'misfit.yaml');
    writeFileSync(spec, MISFIT);
    const r = await cli('snapshot', '--pid', String(target.pid), '--spec', spec, '--no-store', '--json');
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as ProcessSnapshot;
    assert.ok(s.goroutines.length > 0, 'the process is in the snapshot');
    const park = s.goroutines.flatMap((g) => g.captures).find((c) => c.function === 'main.park');
    assert.deepEqual(
      park?.values.map((v) => [v.column, v.value]),
      [
        ['name', 'alpha'],
        ['count', 7],
      ],
      'the entries that fit are captured',
    );
    assert.deepEqual(
      s.captureErrors?.map((e) => [e.column, e.expr, e.at?.line, e.at?.column]),
      [
        ['a', 'srv.Nmae', 5, 14],
        ['b', 'nosuchvar', 6, 10],
        ['c', 'srv.Name +', 7, 21],
      ],
    );
    assert.match(s.captureErrors![0]!.message, /no field Nmae in main\.Server; its fields: .*Name/);

    const text = await cli('snapshot', '--pid', String(target.pid), '--spec', spec, '--no-store');
    assert.equal(text.code, 0, text.stderr);
    const lines = text.stdout.split('\n');
    const at = lines.findIndex((l) => /^3 spec problems with this binary/.test(l));
    assert.ok(at > 0, text.stdout);
    assert.match(lines[at + 1]!, new RegExp(`^  ${spec}:5:14: main\\.park: a = srv\\.Nmae: no field Nmae`));
    assert.match(lines[at + 2]!, new RegExp(`^  ${spec}:6:10: main\\.park: b = nosuchvar: unknown variable`));
    assert.match(lines[at + 3]!, new RegExp(`^  ${spec}:7:21: main\\.park: c = srv\\.Name \\+: expected`));
    assert.doesNotMatch(text.stdout, /column \d+: column \d+:|in main\.park: /, 'nothing said twice');
    assert.match(text.stdout, /main\.park \[frame \d+\]: name="alpha"\s+count=7/);
  } finally {
    await target.kill();
  }
});

// main.prak is a typo of main.park; the built-in gRPC and net/http functions exprs lacks too.
const MISSPELLED = `functions:
  - function: main.park
    capture: { n: n }
  - function: main.prak
    capture: { n: n }
`;

test('a --spec function the binary lacks is an error before the pause, with the nearest names; built-in ones stay silent', async () => {
  const { path } = await buildFixture('exprs');
  const target = await startTarget(path, [], {}, /^ready/);
  try {
    const spec = join(tmp, 'misspelled.yaml');
    writeFileSync(spec, MISSPELLED);
    const r = await cli('snapshot', '--pid', String(target.pid), '--spec', spec, '--no-store');
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, '', 'nothing was captured');
    const lines = r.stderr.trimEnd().split('\n');
    assert.match(
      lines[0]!,
      /^periscope: nothing was captured: a function of \S+ is not in this binary \(\S+exprs\S*\):$/,
    );
    assert.deepEqual(lines.slice(1), [`  ${spec}:4:5: main.prak is not in this binary; nearest: main.park`]);
    // Without the typo: no line for the built-in functions this program does not have.
    writeFileSync(spec, MISSPELLED.split('\n').slice(0, 3).join('\n'));
    const ok = await cli('snapshot', '--pid', String(target.pid), '--spec', spec, '--no-store');
    assert.equal(ok.code, 0, ok.stderr);
    assert.doesNotMatch(ok.stdout, /not in this binary/);
  } finally {
    await target.kill();
  }
});
