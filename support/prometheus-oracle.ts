/**
 * Prometheus's own text parser as an oracle: testdata/tools/promparse runs
 * github.com/prometheus/common/expfmt (the parser Prometheus scrapes with) on an exposition
 * and prints each sample; `checkWithPrometheus` asserts that it accepts the text and reads the
 * same samples, with the same values, as support/prometheus-parse.ts did.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { buildFixture } from './go-fixtures.js';
import type { ParsedFamily } from './prometheus-parse.js';

interface OracleSample {
  readonly name: string;
  readonly type: string;
  readonly labels: Record<string, string>;
  readonly value: string;
}

/** Samples as Prometheus's parser reads `text` (rejects with its message when it refuses it). */
export async function prometheusSamples(text: string): Promise<OracleSample[]> {
  const tool = await buildFixture('tools/promparse');
  const out = await new Promise<string>((resolve, reject) => {
    const child = execFile(tool.path, [], { maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      err ? reject(new Error(`Prometheus's parser refused the text: ${stderr}`)) : resolve(stdout),
    );
    child.stdin?.end(text);
  });
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as OracleSample);
}

const key = (name: string, labels: Record<string, string>) =>
  `${name}${JSON.stringify(Object.entries(labels).sort())}`;

/** Asserts that Prometheus's parser accepts `text` and reads exactly the samples of `ours`. */
export async function checkWithPrometheus(text: string, ours: Map<string, ParsedFamily>): Promise<void> {
  const theirs = (await prometheusSamples(text)).filter((s) => s.value !== '');
  const a = new Map(theirs.map((s) => [key(s.name, s.labels), Number(s.value.replace('+Inf', 'Infinity'))]));
  const b = new Map<string, number>();
  for (const f of ours.values()) for (const s of f.samples) b.set(key(s.name, s.labels), s.value);
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  for (const [k, v] of a) assert.ok(Object.is(v, b.get(k)) || v === b.get(k), `${k}: ${v} vs ${b.get(k)}`);
  const types = new Map(
    theirs.map((s) => [s.name.replace(/_(bucket|sum|count)$/, ''), s.type.toLowerCase()]),
  );
  for (const f of ours.values())
    if (f.samples.length > 0 && f.type !== 'untyped') {
      const t = types.get(f.name) ?? types.get(f.samples[0]!.name);
      assert.equal(t, f.type, f.name);
    }
}
