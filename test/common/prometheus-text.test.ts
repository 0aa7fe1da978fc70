/**
 * The Prometheus text encoder against the strict parser of support/prometheus-parse.ts (written
 * from the format's specification): escaping of label values and HELP texts, special values,
 * histograms as cumulative buckets with +Inf, _sum and _count, and the series cap of a family
 * whose labels come from outside; Prometheus's own parser (expfmt) reads the same samples. The
 * strict parser is checked too: it refuses what the format forbids.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MetricsRegistry } from '../../src/common/metrics.js';
import { encodeFamilies, type Sample } from '../../src/common/prometheus-text.js';
import { checkWithPrometheus } from '../../support/prometheus-oracle.js';
import { parsePrometheusText, sampleValue } from '../../support/prometheus-parse.js';

test('label values and HELP texts are escaped; they parse back to what was given, by Prometheus too', async () => {
  const m = new MetricsRegistry();
  const c = m.counter('periscope_test_total', 'A help with \\ a backslash\nand a new line.');
  const nasty = 'a "quoted" \\ back\nslash, {brace}=x';
  c.inc({ probe: nasty }, 3);
  c.inc({ probe: 'plain' });
  const text = m.render();
  assert.match(text, /periscope_test_total\{probe="a \\"quoted\\" \\\\ back\\nslash, \{brace\}=x"\} 3\n/);
  const f = parsePrometheusText(text);
  await checkWithPrometheus(text, f);
  assert.equal(f.get('periscope_test_total')?.help, 'A help with \\ a backslash\nand a new line.');
  assert.equal(f.get('periscope_test_total')?.type, 'counter');
  assert.equal(sampleValue(f, 'periscope_test_total', { probe: nasty }), 3);
  assert.equal(sampleValue(f, 'periscope_test_total', { probe: 'plain' }), 1);
});

test('histograms: cumulative buckets, +Inf equal to _count, _sum; values on a bound fall in it', async () => {
  const m = new MetricsRegistry();
  const h = m.histogram('periscope_pause_seconds', 'Pauses.', [0.001, 0.01, 0.1]);
  for (const v of [0.0005, 0.001, 0.002, 0.05, 7]) h.observe(v, { host: 'a' });
  h.observe(0.02, { host: 'b' });
  h.observe(Number.NaN, { host: 'a' });
  const text = m.render();
  const f = parsePrometheusText(text);
  await checkWithPrometheus(text, f);
  const bucket = (le: string, host = 'a') => sampleValue(f, 'periscope_pause_seconds_bucket', { host, le });
  assert.deepEqual(
    ['0.001', '0.01', '0.1', '+Inf'].map((le) => bucket(le)),
    [2, 3, 4, 5],
  );
  assert.equal(sampleValue(f, 'periscope_pause_seconds_count', { host: 'a' }), 5);
  assert.ok(Math.abs((sampleValue(f, 'periscope_pause_seconds_sum', { host: 'a' }) ?? 0) - 7.0535) < 1e-9);
  assert.equal(bucket('0.01', 'b'), 0);
  assert.equal(bucket('+Inf', 'b'), 1);
});

test('gauges read when scraped; special values; an empty registry is an empty text', () => {
  let n = 1;
  const m = new MetricsRegistry();
  m.collected('periscope_g', 'A gauge.', 'gauge', (): Sample[] => [
    { labels: {}, value: n },
    { labels: { k: 'inf' }, value: Number.POSITIVE_INFINITY },
    { labels: { k: 'nan' }, value: Number.NaN },
  ]);
  n = 42;
  const f = parsePrometheusText(m.render());
  assert.equal(f.get('periscope_g')?.samples[0]?.value, 42);
  assert.equal(sampleValue(f, 'periscope_g', { k: 'inf' }), Number.POSITIVE_INFINITY);
  assert.ok(Number.isNaN(sampleValue(f, 'periscope_g', { k: 'nan' })));
  assert.equal(new MetricsRegistry().render(), '');
});

test('a family with outside labels keeps at most 2000 series; the rest count in one overflow series', () => {
  const m = new MetricsRegistry();
  const c = m.counter('periscope_many_total', 'Many.');
  for (let i = 0; i < 2100; i++) c.inc({ probe: `p${i}` });
  const f = parsePrometheusText(m.render());
  assert.equal(f.get('periscope_many_total')?.samples.length, 2001);
  assert.equal(sampleValue(f, 'periscope_many_total', { overflow: 'true' }), 100);
});

test('invalid names are refused by the encoder', () => {
  assert.throws(() => encodeFamilies([{ name: 'bad-name', help: '', type: 'gauge', samples: [] }]));
  assert.throws(() =>
    encodeFamilies([
      { name: 'ok', help: '', type: 'gauge', samples: [{ labels: { 'a-b': 'x' }, value: 1 }] },
    ]),
  );
  assert.throws(() =>
    encodeFamilies([
      {
        name: 'h',
        help: '',
        type: 'histogram',
        samples: [{ labels: { le: '1' }, bounds: [], counts: [0], sum: 0 }],
      },
    ]),
  );
});

test('the strict parser refuses what the format forbids', () => {
  const bad = [
    'x{a="1"} 1', // no final line feed
    'x{a="\\t"} 1\n', // an escape the format does not have
    '# TYPE x counter\n# TYPE x counter\nx 1\n',
    'x 1\n# TYPE x counter\n',
    'x 1\ny 1\nx{a="b"} 2\n',
    'x{a="1",a="2"} 1\n',
    'x 1\nx 2\n',
    'x one\n',
    '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
    '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n',
    '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 1\n',
    '# TYPE c counter\nc -1\n',
    '1x 1\n',
  ];
  for (const text of bad) assert.throws(() => parsePrometheusText(text), Error, JSON.stringify(text));
  const good = '# a comment\n# HELP x X.\n# TYPE x gauge\nx{a="1",} 1 1700000000000\n\nx{a="2"} -Inf\n';
  assert.equal(parsePrometheusText(good).get('x')?.samples.length, 2);
});
