/**
 * A probe's values have the forms snapshots give, checked against a snapshot itself: twelve
 * goroutines enter main.hold (testdata/probe-values) with handle's kinds of arguments, keep
 * them in the package array held and wait; a probe at hold's entry captured each argument,
 * and a snapshot taken while they wait, capturing held[n]'s copies under the same limits,
 * must show the very same JSON value for each — strings cut at maxString, pointers with
 * their addresses, nested structs with depth markers, slices with truncation markers,
 * interfaces and errors with their dynamic types and messages, nil. Maps are the one
 * difference: probes do not copy them (docs/probes.md), and say so with a marker.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { snapshotProcess } from '../../src/snapshot/take-snapshot.js';
import { effectiveSpec } from '../../src/spec/effective-spec.js';
import { parseSpec } from '../../src/spec/spec-parse.js';
import { TEST_PAUSE_CAP_MS } from '../../support/pause-cap.js';
import { withProbes } from './probe-run.js';

/** Each probe expression and its counterpart over held[n]. */
const PAIRS: [string, (n: number) => string][] = [
  ['user', (n) => `held[${n}].User`],
  ['n', (n) => `held[${n}].N`],
  ['req', (n) => `held[${n}].Req`],
  ['xs', (n) => `held[${n}].Xs`],
  ['shape', (n) => `held[${n}].Shape`],
  ['v', (n) => `held[${n}].V`],
  ['req.Where', (n) => `held[${n}].Req.Where`],
  ['req.Err', (n) => `held[${n}].Req.Err`],
  ['req.Tags', (n) => `held[${n}].Req.Tags`],
  ['*req', (n) => `*held[${n}].Req`],
];
const EXPRESSIONS = PAIRS.map(([x]) => x);
const LIMITS = { maxString: 3, maxElements: 2, maxDepth: 2 };

let mapsNotCopied = 0;

/**
 * The probe's value with each map (which probes do not copy: an unreadable marker saying so)
 * replaced by what the snapshot shows there; anything else must already be equal.
 */
function withoutMaps(probe: unknown, snap: unknown): unknown {
  if (Array.isArray(probe) && Array.isArray(snap)) return probe.map((p, i) => withoutMaps(p, snap[i]));
  if (probe && typeof probe === 'object' && !Array.isArray(probe)) {
    const p = probe as Record<string, unknown>;
    if (
      p['…'] === 'unreadable' &&
      String(p.type).startsWith('map[') &&
      /not captured by the probe/.test(String(p.error))
    ) {
      mapsNotCopied++;
      return snap;
    }
    if (snap && typeof snap === 'object') {
      const q = snap as Record<string, unknown>;
      return Object.fromEntries(Object.entries(p).map(([k, v]) => [k, withoutMaps(v, q[k])]));
    }
  }
  return probe;
}

test('a probe captures the values a snapshot of the same frame shows, in the same JSON forms', async () => {
  const n = 12;
  const spec = [
    { name: 'hold', at: { kind: 'entry', function: 'main.hold' }, captures: EXPRESSIONS, limits: LIMITS },
  ] as const;
  await withProbes(spec, async (run) => {
    await run.command(`hold ${n}`);
    await run.drain(() => run.events.length >= n);
    assert.equal(run.events.length, n);
    const columns = Array.from({ length: n }, (_, k) => PAIRS.map(([, held]) => held(k))).flat();
    const yaml = [
      'functions:',
      '  - function: main.hold',
      '    capture:',
      ...columns.map((x, i) => `      c${i}: ${JSON.stringify(x)}`),
      'limits:',
      ...Object.entries(LIMITS).map(([k, v]) => `  ${k}: ${v}`),
    ].join('\n');
    // The goroutines may still be on their way to the channel receive: snapshot until all wait.
    let values: readonly { value: unknown; error?: string }[] | undefined;
    for (let tries = 0; tries < 50 && !values; tries++) {
      const snap = snapshotProcess(run.target.pid, {
        pauseCapMs: TEST_PAUSE_CAP_MS,
        spec: effectiveSpec(parseSpec(yaml, 'probe.yaml'), { defaults: false }),
      });
      const frames = snap.goroutines.flatMap((g) => g.captures.filter((c) => c.function === 'main.hold'));
      if (frames.length === n) values = frames[0]!.values;
    }
    assert.ok(values, 'every goroutine waits in main.hold');
    let compared = 0;
    for (const e of run.events) {
      const k = e.values.n!.value as number;
      for (const [x, held] of PAIRS) {
        const snap: { value: unknown; error?: string } = values[columns.indexOf(held(k))]!;
        assert.equal(snap.error, undefined, `the snapshot reads ${held(k)}`);
        const probe = e.values[x]!;
        assert.ok(probe.ok, `the probe read ${x}: ${probe.ok ? '' : probe.error}`);
        assert.deepEqual(withoutMaps(probe.value, snap.value), snap.value, `call ${k}: ${x} / ${held(k)}`);
        compared++;
      }
    }
    assert.equal(compared, n * PAIRS.length);
    assert.equal(
      mapsNotCopied,
      4,
      'req.Attrs of calls 0 and 7, in req and *req: the maps probes do not copy',
    );
    await run.command(`release ${n}`);
  });
});
